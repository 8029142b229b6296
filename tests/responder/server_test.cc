// The responder over real sockets: routes, headers, limits and timeouts.
#include "responder/server.h"

#include <thread>

#include <sys/resource.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "responder/http_cache.h"
#include "tests/responder/responder_mocks.h"
#include "tests/responder/test_client.h"
#include "testing/fake_clock.h"

namespace revoca::responder {
namespace {

namespace http = boost::beast::http;
using ::testing::_;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::StartsWith;
using ::testing::Throw;
using revoca::testing::FakeClock;
using testing::kNow;
using testing::MockRevocationSource;
using testing::TestClient;

// 13 bytes whose base64, "MAv777/+P/8BAgMEBQ==", holds '/', '+' and '='.
const std::string kOcspRequest{"\x30\x0b\xfb\xef\xbf\xfe\x3f\xff\x01\x02\x03\x04\x05", 13};

CrlDocument sampleCrl() {
  CrlDocument crl;
  crl.der = std::make_shared<const std::string>("\x30\x82\x01\x0a\x00\xff", 6);
  crl.pem = std::make_shared<const std::string>("-----BEGIN X509 CRL-----\nMIIBCgD/\n-----END X509 CRL-----\n");
  crl.crlNumber = 7;
  crl.thisUpdate = kNow - Seconds(60);
  crl.nextUpdate = kNow + Seconds(3600);
  return crl;
}

OcspReply goodReply(bool nonce = false) {
  OcspReply reply;
  reply.der = std::string("\x30\x82\x01\xd3\x0a\x01\x00", 7);
  reply.outcome = OcspOutcome::Good;
  reply.thisUpdate = kNow - Seconds(10);
  reply.nextUpdate = kNow + Seconds(600);
  reply.carriesNonce = nonce;
  return reply;
}

std::string field(const testing::HttpResponse& response, http::field name) {
  return std::string(response[name]);
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : source_(std::make_shared<NiceMock<MockRevocationSource>>()), clock_(kNow) {
    options_.listen = "127.0.0.1:0";
    options_.threads = 2;
    options_.headerTimeout = Seconds(1);
    options_.idleTimeout = Seconds(1);
    ON_CALL(*source_, ready()).WillByDefault(Return(true));
  }

  void start() {
    auto server = startServer(options_, source_, clock_);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(server).value();
    ASSERT_NE(server_->port(), 0);
  }

  std::uint16_t port() const { return server_->port(); }

  std::shared_ptr<NiceMock<MockRevocationSource>> source_;
  FakeClock clock_;
  ServerOptions options_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, ServesCrlAsDerWithCacheHeaders) {
  EXPECT_CALL(*source_, crl("acme", "mqtt-ca", "1")).WillOnce(Return(sampleCrl()));
  start();
  TestClient client(port());
  auto response = client.get("/crl/acme/mqtt-ca/1");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::ok);
  EXPECT_EQ(response->body(), *sampleCrl().der);
  EXPECT_EQ(field(*response, http::field::content_type), "application/pkix-crl");
  // Five minutes (the CRL's cacheMaxAge), not the hour until nextUpdate.
  EXPECT_EQ(field(*response, http::field::cache_control), "public, max-age=300");
  EXPECT_EQ(field(*response, http::field::last_modified), "Wed, 01 May 2024 11:59:00 GMT");
  EXPECT_EQ(field(*response, http::field::expires), "Wed, 01 May 2024 12:05:00 GMT");
  EXPECT_EQ(field(*response, http::field::etag), entityTag("v1-n7", *sampleCrl().der));
  EXPECT_THAT(field(*response, http::field::etag), MatchesRegex("\"v1-n7-[0-9a-f]{16}\""));
  EXPECT_EQ(field(*response, http::field::server), "revoca");
  EXPECT_EQ(field(*response, http::field::date), "Wed, 01 May 2024 12:00:00 GMT");
}

TEST_F(ServerTest, ServesCrlAsPem) {
  EXPECT_CALL(*source_, crl("acme", "mqtt-ca", "2")).WillOnce(Return(sampleCrl()));
  start();
  TestClient client(port());
  auto response = client.get("/crl-pem/acme/mqtt-ca/2");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::ok);
  EXPECT_EQ(response->body(), *sampleCrl().pem);
  EXPECT_EQ(field(*response, http::field::content_type), "application/x-pem-file");
  EXPECT_EQ(field(*response, http::field::etag), entityTag("v1-n7", *sampleCrl().pem));
}

TEST_F(ServerTest, MaxAgeFollowsTheInjectedClockAndNeverGoesNegative) {
  ON_CALL(*source_, crl(_, _, _)).WillByDefault(Return(sampleCrl()));
  start();
  TestClient client(port());
  clock_.advance(Seconds(3400));  // 200 s before nextUpdate, less than cacheMaxAge
  EXPECT_EQ(field(*client.get("/crl/acme/mqtt-ca/1"), http::field::cache_control),
            "public, max-age=200");
  clock_.advance(Seconds(5000));
  EXPECT_EQ(field(*client.get("/crl/acme/mqtt-ca/1"), http::field::cache_control),
            "public, max-age=0");
}

TEST_F(ServerTest, HeadOnCrlSendsHeadersOnly) {
  ON_CALL(*source_, crl(_, _, _)).WillByDefault(Return(sampleCrl()));
  start();
  TestClient client(port());
  auto response = client.request(http::verb::head, "/crl/acme/mqtt-ca/1");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::ok);
  EXPECT_EQ(field(*response, http::field::content_length), "6");
  EXPECT_TRUE(response->body().empty());
  // The connection is still in step: the next answer is read correctly.
  auto next = client.get("/healthz");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body(), "ok");
}

TEST_F(ServerTest, MissingCrlIs404WithAMessage) {
  EXPECT_CALL(*source_, crl("acme", "mqtt-ca", "9")).WillOnce(Return(std::nullopt));
  start();
  TestClient client(port());
  auto response = client.get("/crl/acme/mqtt-ca/9");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::not_found);
  EXPECT_EQ(response->body(), "no CRL for tenant acme, CA mqtt-ca, version 9");
}

TEST_F(ServerTest, IfNoneMatchGives304) {
  ON_CALL(*source_, crl(_, _, _)).WillByDefault(Return(sampleCrl()));
  start();
  TestClient client(port());
  std::string etag = entityTag("v1-n7", *sampleCrl().der);
  auto response = client.request(http::verb::get, "/crl/acme/mqtt-ca/1", {}, {}, etag);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::not_modified);
  EXPECT_TRUE(response->body().empty());
  EXPECT_EQ(field(*response, http::field::etag), etag);
  EXPECT_EQ(field(*response, http::field::cache_control), "public, max-age=300");

  auto stale = client.request(http::verb::get, "/crl/acme/mqtt-ca/1", {}, {}, "\"0000\"");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->result(), http::status::ok);
  EXPECT_EQ(stale->body(), *sampleCrl().der);
}

TEST_F(ServerTest, UnknownPathIs404) {
  start();
  TestClient client(port());
  auto response = client.get("/nope");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::not_found);
  EXPECT_EQ(response->body(), "no such path: /nope");
  EXPECT_EQ(client.get("/crl/only-tenant")->result(), http::status::not_found);
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
  start();
  TestClient client(port());
  auto crl = client.request(http::verb::delete_, "/crl/acme/mqtt-ca/1");
  ASSERT_TRUE(crl);
  EXPECT_EQ(crl->result(), http::status::method_not_allowed);
  EXPECT_EQ(field(*crl, http::field::allow), "GET, HEAD");
  auto ocsp = client.request(http::verb::put, "/ocsp/acme/mqtt-ca", "x");
  ASSERT_TRUE(ocsp);
  EXPECT_EQ(ocsp->result(), http::status::method_not_allowed);
  EXPECT_EQ(field(*ocsp, http::field::allow), "GET, HEAD, POST");
}

TEST_F(ServerTest, PostOcspPassesTheExactBody) {
  EXPECT_CALL(*source_, ocsp("acme", "mqtt-ca", kOcspRequest)).WillOnce(Return(goodReply()));
  start();
  TestClient client(port());
  auto response =
      client.request(http::verb::post, "/ocsp/acme/mqtt-ca", kOcspRequest, "application/ocsp-request");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::ok);
  EXPECT_EQ(response->body(), goodReply().der);
  EXPECT_EQ(field(*response, http::field::content_type), "application/ocsp-response");
  EXPECT_EQ(field(*response, http::field::cache_control),
            "max-age=600, public, no-transform, must-revalidate");
  EXPECT_EQ(field(*response, http::field::last_modified), "Wed, 01 May 2024 11:59:50 GMT");
  EXPECT_EQ(field(*response, http::field::expires), "Wed, 01 May 2024 12:10:00 GMT");
  EXPECT_EQ(field(*response, http::field::etag), entityTag(goodReply().der));
}

TEST_F(ServerTest, PostOcspWithoutContentTypeIsAccepted) {
  EXPECT_CALL(*source_, ocsp("acme", "mqtt-ca", kOcspRequest)).WillOnce(Return(goodReply()));
  start();
  TestClient client(port());
  auto response = client.request(http::verb::post, "/ocsp/acme/mqtt-ca/", kOcspRequest);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::ok);
}

TEST_F(ServerTest, PostOcspWithAnotherContentTypeIs415) {
  EXPECT_CALL(*source_, ocsp(_, _, _)).Times(0);
  start();
  TestClient client(port());
  auto response = client.request(http::verb::post, "/ocsp/acme/mqtt-ca", kOcspRequest,
                                 "application/json");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::unsupported_media_type);
}

TEST_F(ServerTest, ReplyWithNonceIsNotCacheable) {
  ON_CALL(*source_, ocsp(_, _, _)).WillByDefault(Return(goodReply(/*nonce=*/true)));
  start();
  TestClient client(port());
  auto response = client.request(http::verb::post, "/ocsp/acme/mqtt-ca", kOcspRequest,
                                 "application/ocsp-request");
  ASSERT_TRUE(response);
  EXPECT_EQ(field(*response, http::field::cache_control), "no-cache, no-store");
}

TEST_F(ServerTest, GetOcspDecodesPercentEncodedBase64) {
  EXPECT_CALL(*source_, ocsp("acme", "mqtt-ca", kOcspRequest))
      .Times(2)
      .WillRepeatedly(Return(goodReply()));
  start();
  TestClient client(port());
  auto encoded = client.get("/ocsp/acme/mqtt-ca/MAv777%2F%2BP%2F8BAgMEBQ%3D%3D");
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->result(), http::status::ok);
  EXPECT_EQ(encoded->body(), goodReply().der);
  // As EMQX sends it: responder URL ++ base64, the '/' left unescaped.
  auto raw = client.get("/ocsp/acme/mqtt-ca/MAv777/+P/8BAgMEBQ==");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->result(), http::status::ok);
}

TEST_F(ServerTest, GetOcspToleratesUrlSafeAlphabetWithoutPadding) {
  EXPECT_CALL(*source_, ocsp("acme", "mqtt-ca", kOcspRequest)).WillOnce(Return(goodReply()));
  start();
  TestClient client(port());
  auto response = client.get("/ocsp/acme/mqtt-ca/MAv777_-P_8BAgMEBQ");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::ok);
}

TEST_F(ServerTest, GetOcspWithUndecodableRequestAnswersMalformedRequest) {
  EXPECT_CALL(*source_, ocsp(_, _, _)).Times(0);
  start();
  TestClient client(port());
  auto response = client.get("/ocsp/acme/mqtt-ca/not*base64");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::ok);
  EXPECT_EQ(response->body(), std::string("\x30\x03\x0a\x01\x01", 5));
  EXPECT_EQ(field(*response, http::field::content_type), "application/ocsp-response");
}

TEST_F(ServerTest, GetOcspWithoutRequestIs400) {
  start();
  TestClient client(port());
  EXPECT_EQ(client.get("/ocsp/acme/mqtt-ca")->result(), http::status::bad_request);
  EXPECT_EQ(client.get("/ocsp/acme/mqtt-ca/")->result(), http::status::bad_request);
}

TEST_F(ServerTest, OversizedBodyIs413AndTheServerCarriesOn) {
  EXPECT_CALL(*source_, ocsp(_, _, _)).Times(0);
  start();
  {
    TestClient client(port());
    auto response = client.request(http::verb::post, "/ocsp/acme/mqtt-ca",
                                   std::string(11 * 1024, 'x'), "application/ocsp-request");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result(), http::status::payload_too_large);
    EXPECT_EQ(field(*response, http::field::connection), "close");
  }
  TestClient again(port());
  auto health = again.get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->body(), "ok");
}

TEST_F(ServerTest, OversizedHeaderIs431) {
  start();
  TestClient client(port());
  client.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') +
              "\r\n\r\n");
  auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::request_header_fields_too_large);
}

TEST_F(ServerTest, MalformedRequestIs400AndClosed) {
  start();
  TestClient client(port());
  client.send("GET /healthz HTTP/1.1\r\nHost x\r\n\r\n");
  auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::bad_request);
  EXPECT_TRUE(client.timeUntilClosed(std::chrono::seconds(5)));
}

// Neither the header limit nor the body limit covers chunk extensions: the
// server used to buffer them until the header timeout, megabytes a second.
TEST_F(ServerTest, EndlessChunkExtensionIs400BeforeTheTimeout) {
  options_.headerTimeout = Seconds(5);
  start();
  TestClient client(port());
  client.send(
      "POST /ocsp/acme/mqtt-ca HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
      std::string(256 * 1024, 'a'));
  auto response = client.read(false, std::chrono::seconds(3));
  ASSERT_TRUE(response) << "no answer before the header timeout";
  EXPECT_EQ(response->result(), http::status::bad_request);
  EXPECT_EQ(response->body(), "chunk extensions or trailers too long");
  EXPECT_TRUE(client.timeUntilClosed(std::chrono::seconds(4)));
}

TEST_F(ServerTest, EndlessTrailerIs400BeforeTheTimeout) {
  options_.headerTimeout = Seconds(5);
  start();
  TestClient client(port());
  client.send(
      "POST /ocsp/acme/mqtt-ca HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\nx\r\n0\r\nX-Trailer: " +
      std::string(256 * 1024, 'a'));
  auto response = client.read(false, std::chrono::seconds(3));
  ASSERT_TRUE(response) << "no answer before the header timeout";
  EXPECT_EQ(response->result(), http::status::bad_request);
}

// Beast gives such a request no body and would read the body as the next
// request; a proxy in front may frame it the other way (request smuggling).
TEST_F(ServerTest, TransferEncodingNotEndingInChunkedIs400AndClosed) {
  EXPECT_CALL(*source_, ocsp(_, _, _)).Times(0);
  start();
  TestClient client(port());
  client.send(
      "POST /ocsp/acme/mqtt-ca HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::bad_request);
  EXPECT_EQ(response->body(), "Transfer-Encoding must end in chunked");
  EXPECT_FALSE(response->keep_alive());
  EXPECT_FALSE(client.read(false, std::chrono::milliseconds(500))) << "the body was served as a request";
}

TEST_F(ServerTest, ChunkedBodyIsAccepted) {
  EXPECT_CALL(*source_, ocsp("acme", "mqtt-ca", kOcspRequest)).WillOnce(Return(goodReply()));
  start();
  TestClient client(port());
  client.send(
      "POST /ocsp/acme/mqtt-ca HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: application/ocsp-request\r\n\r\n5\r\n" +
      kOcspRequest.substr(0, 5) + "\r\n8;ext=1\r\n" + kOcspRequest.substr(5) + "\r\n0\r\n\r\n");
  auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::ok);
  EXPECT_EQ(response->body(), goodReply().der);
}

TEST_F(ServerTest, StalledHeaderIsClosedAfterHeaderTimeout) {
  start();
  TestClient client(port());
  client.send("GET /healthz HTTP/1.1\r\nHo");
  auto closedAfter = client.timeUntilClosed(std::chrono::seconds(5));
  ASSERT_TRUE(closedAfter) << "the server kept a stalled connection open";
  EXPECT_GE(*closedAfter, std::chrono::milliseconds(800));
  EXPECT_LE(*closedAfter, std::chrono::milliseconds(3000));
}

TEST_F(ServerTest, TricklingClientIsClosedAfterHeaderTimeout) {
  start();
  TestClient client(port());
  auto started = std::chrono::steady_clock::now();
  // One byte every 200 ms never lets an inactivity timer fire; the deadline
  // covers the whole request.
  for (char c : std::string("GET /healthz HTTP/1.1\r\nX-Slow: abcdefghij")) {
    try {
      client.send(std::string(1, c));
    } catch (const std::exception&) {
      break;
    }
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(3)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto closed = client.timeUntilClosed(std::chrono::seconds(3));
  ASSERT_TRUE(closed);
  EXPECT_LE(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  options_.headerTimeout = Seconds(5);
  options_.idleTimeout = Seconds(1);
  start();
  TestClient client(port());
  ASSERT_TRUE(client.get("/healthz"));
  auto closedAfter = client.timeUntilClosed(std::chrono::seconds(4));
  ASSERT_TRUE(closedAfter);
  EXPECT_LE(*closedAfter, std::chrono::milliseconds(3000));
}

TEST_F(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  ON_CALL(*source_, crl(_, _, _)).WillByDefault(Return(sampleCrl()));
  start();
  TestClient client(port());
  auto first = client.get("/crl/acme/mqtt-ca/1");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->result(), http::status::ok);
  EXPECT_TRUE(first->keep_alive());
  auto second = client.get("/healthz");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body(), "ok");
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  TestClient client(port());
  client.send(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = client.read();
  auto second = client.read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body(), "ok");
  EXPECT_EQ(second->body(), "ready");
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  start();
  TestClient client(port());
  client.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->keep_alive());
  auto closedAfter = client.timeUntilClosed(std::chrono::seconds(2));
  ASSERT_TRUE(closedAfter);
}

TEST_F(ServerTest, ExpectContinueGetsAnInterimResponse) {
  EXPECT_CALL(*source_, ocsp("acme", "mqtt-ca", kOcspRequest)).WillOnce(Return(goodReply()));
  start();
  TestClient client(port());
  client.send(
      "POST /ocsp/acme/mqtt-ca HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Type: application/ocsp-request\r\nContent-Length: 13\r\n\r\n");
  auto interim = client.read(false, std::chrono::milliseconds(500));
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->result(), http::status::continue_);
  client.send(kOcspRequest);
  auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::ok);
}

TEST_F(ServerTest, ReadyzFollowsTheSource) {
  EXPECT_CALL(*source_, ready()).WillOnce(Return(false)).WillOnce(Return(true));
  start();
  TestClient client(port());
  auto notReady = client.get("/readyz");
  ASSERT_TRUE(notReady);
  EXPECT_EQ(notReady->result(), http::status::service_unavailable);
  EXPECT_THAT(notReady->body(), StartsWith("not ready: "));
  auto ready = client.get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->result(), http::status::ok);
  EXPECT_EQ(ready->body(), "ready");
}

TEST_F(ServerTest, WhileStoppingReadyzFailsAndEveryAnswerClosesItsConnection) {
  ON_CALL(*source_, stopping()).WillByDefault(Return(true));
  ON_CALL(*source_, ocsp(_, _, _)).WillByDefault(Return(goodReply()));
  start();
  TestClient client(port());
  auto readiness = client.get("/readyz");
  ASSERT_TRUE(readiness);
  EXPECT_EQ(readiness->result(), http::status::service_unavailable);
  EXPECT_EQ(readiness->body(), "not ready: stopping");
  EXPECT_FALSE(readiness->keep_alive());
  // The requests that still arrive are answered, and the client is sent
  // elsewhere for the next one.
  TestClient asker(port());
  auto answer = asker.request(http::verb::post, "/ocsp/acme/mqtt-ca", kOcspRequest, "application/ocsp-request");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result(), http::status::ok);
  EXPECT_FALSE(answer->keep_alive());
  EXPECT_TRUE(asker.timeUntilClosed(std::chrono::seconds(2)));
  TestClient prober(port());
  auto health = prober.get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->result(), http::status::ok);
}

TEST_F(ServerTest, MetricsCountRequestsAndOutcomes) {
  ON_CALL(*source_, ocsp(_, _, _)).WillByDefault(Return(goodReply()));
  ON_CALL(*source_, appendMetricsText(_)).WillByDefault([](std::string& out) {
    out += "revoca_certificates_issued{ca=\"mqtt-ca\"} 3\n";
  });
  start();
  TestClient client(port());
  client.get("/healthz");
  client.get("/nope");
  client.request(http::verb::post, "/ocsp/acme/mqtt-ca", kOcspRequest, "application/ocsp-request");
  auto metrics = client.get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->result(), http::status::ok);
  EXPECT_EQ(field(*metrics, http::field::content_type), "text/plain; version=0.0.4");
  const std::string& text = metrics->body();
  EXPECT_THAT(text, HasSubstr("# TYPE revoca_http_requests_total counter"));
  EXPECT_THAT(text, HasSubstr("revoca_http_requests_total{path=\"healthz\",code=\"200\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("revoca_http_requests_total{path=\"other\",code=\"404\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("revoca_http_requests_total{path=\"ocsp\",code=\"200\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("revoca_ocsp_responses_total{result=\"good\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("revoca_ocsp_request_duration_seconds_count 1\n"));
  EXPECT_THAT(text, HasSubstr("revoca_certificates_issued{ca=\"mqtt-ca\"} 3\n"));
}

// A page written as it is read: each piece of the per-object series is a
// chunk, so a scrape of 10,000 objects never holds the page whole.
TEST_F(ServerTest, MetricsOverHttp11AreWrittenInChunksAPieceAtATime) {
  constexpr std::size_t kSeries = 5000;
  ON_CALL(*source_, appendMetricsText(_)).WillByDefault([](std::string& out) { out += "revoca_ca_up 1\n"; });
  int pieces = 0;
  ON_CALL(*source_, appendPagedMetricsText(_, _, _))
      .WillByDefault([&pieces](std::string& out, MetricsCursor& cursor, std::size_t budget) {
        ++pieces;
        for (; cursor.family < kSeries; ++cursor.family) {
          if (out.size() >= budget) return false;
          out += "revoca_object_ready{name=\"vs-" + std::to_string(cursor.family) + "\"} 1\n";
        }
        return true;
      });
  start();
  TestClient client(port());
  auto metrics = client.get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->result(), http::status::ok);
  EXPECT_TRUE(metrics->chunked());
  EXPECT_EQ(field(*metrics, http::field::content_type), "text/plain; version=0.0.4");
  // Not EXPECT_THAT: a failure would print the 160 KB page.
  const std::string& text = metrics->body();
  EXPECT_NE(text.find("revoca_ca_up 1\nrevoca_object_ready{name=\"vs-0\"} 1\n"), std::string::npos);
  EXPECT_TRUE(text.ends_with("revoca_object_ready{name=\"vs-4999\"} 1\n"));
  std::size_t series = 0;
  for (std::size_t at = text.find("revoca_object_ready{"); at != std::string::npos;
       at = text.find("revoca_object_ready{", at + 1))
    ++series;
  EXPECT_EQ(series, kSeries);
  EXPECT_GT(pieces, 2);  // some 160 KB in pieces of 64 KiB
  // The connection carries on after the last chunk, and the page was counted once written.
  EXPECT_EQ(client.get("/healthz")->body(), "ok");
  auto again = client.get("/metrics");
  ASSERT_TRUE(again);
  EXPECT_NE(again->body().find("revoca_http_requests_total{path=\"metrics\",code=\"200\"} 1\n"), std::string::npos);
}

// HEAD and HTTP/1.0 have no chunks: the page whole, with its length.
TEST_F(ServerTest, MetricsOverHttp10AndHeadCarryTheirLength) {
  ON_CALL(*source_, appendPagedMetricsText(_, _, _)).WillByDefault([](std::string& out, MetricsCursor&, std::size_t) {
    out += "revoca_object_ready{name=\"vs-0\"} 1\n";
    return true;
  });
  start();
  TestClient old(port());
  old.send("GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n");
  auto whole = old.read();
  ASSERT_TRUE(whole);
  EXPECT_FALSE(whole->chunked());
  EXPECT_EQ(field(*whole, http::field::content_length), std::to_string(whole->body().size()));
  EXPECT_THAT(whole->body(), EndsWith("revoca_object_ready{name=\"vs-0\"} 1\n"));
  TestClient client(port());
  auto head = client.request(http::verb::head, "/metrics");
  ASSERT_TRUE(head);
  EXPECT_FALSE(head->chunked());
  EXPECT_GT(std::stoul(std::string(field(*head, http::field::content_length))), 0u);
  EXPECT_TRUE(head->body().empty());
}

TEST_F(ServerTest, ThrowingSourceGives500AndTheServerCarriesOn) {
  EXPECT_CALL(*source_, crl(_, _, _)).WillOnce(Throw(std::runtime_error("disk on fire")));
  start();
  TestClient client(port());
  auto response = client.get("/crl/acme/mqtt-ca/1");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::internal_server_error);
  EXPECT_EQ(client.get("/healthz")->body(), "ok");
}

TEST_F(ServerTest, ManyClientsAtOnce) {
  ON_CALL(*source_, crl(_, _, _)).WillByDefault(Return(sampleCrl()));
  options_.threads = 4;
  start();
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      TestClient client(port());
      for (int j = 0; j < 50; ++j) {
        auto response = client.get("/crl/acme/mqtt-ca/1");
        if (response && response->result() == http::status::ok) ++ok;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok, 400);
}

TEST_F(ServerTest, PortInUseIsAnError) {
  start();
  ServerOptions taken = options_;
  taken.listen = "127.0.0.1:" + std::to_string(port());
  auto second = startServer(taken, source_, clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message, "listen " + taken.listen + ": Address already in use");
}

// One descriptor per connection: the soft limit (often 1024) goes up to the
// hard one so thousands of clients are not turned away with EMFILE.
TEST_F(ServerTest, StartingRaisesTheOpenFileSoftLimitToTheHardLimit) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max < 256) GTEST_SKIP() << "hard open file limit " << limit.rlim_max;
  rlimit lowered{128, limit.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  start();
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, limit.rlim_max);
  EXPECT_EQ(after.rlim_max, limit.rlim_max);
}

TEST_F(ServerTest, BadAddressIsAnError) {
  options_.listen = "127.0.0.1";
  auto server = startServer(options_, source_, clock_);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.error().message, StartsWith("listen 127.0.0.1: "));
}

TEST_F(ServerTest, ListensOnIpv6Loopback) {
  options_.listen = "[::1]:0";
  auto server = startServer(options_, source_, clock_);
  if (!server.ok()) GTEST_SKIP() << "no IPv6 here: " << server.error().message;
  TestClient client(server.value()->port(), "::1");
  EXPECT_EQ(client.get("/healthz")->body(), "ok");
}

TEST_F(ServerTest, StopTwiceIsSafeAndClosesConnections) {
  start();
  TestClient client(port());
  ASSERT_TRUE(client.get("/healthz"));
  server_->stop();
  EXPECT_TRUE(client.timeUntilClosed(std::chrono::seconds(2)));
  server_->stop();
  server_.reset();
}

}  // namespace
}  // namespace revoca::responder
