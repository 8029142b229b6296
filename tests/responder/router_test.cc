// The request-to-response mapping without sockets.
#include "responder/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "responder/http_cache.h"
#include "tests/responder/responder_mocks.h"
#include "testing/fake_clock.h"

namespace revoca::responder {
namespace {

using ::testing::_;
using ::testing::NiceMock;
using ::testing::Return;
using revoca::testing::FakeClock;
using testing::kNow;
using testing::MockRevocationSource;

OcspReply reply(std::string der, OcspOutcome outcome) {
  OcspReply r;
  r.der = std::move(der);
  r.outcome = outcome;
  return r;
}

Request makeRequest(http::verb method, std::string target, std::string body = {}) {
  Request request{method, std::move(target), 11};
  request.body() = std::move(body);
  return request;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest()
      : source_(std::make_shared<NiceMock<MockRevocationSource>>()),
        clock_(kNow),
        router_(source_, clock_) {}

  std::shared_ptr<NiceMock<MockRevocationSource>> source_;
  FakeClock clock_;
  Router router_;
};

TEST_F(RouterTest, ClassifiesTargetsForMetrics) {
  EXPECT_EQ(Router::classify("/crl/a/b/1"), Route::Crl);
  EXPECT_EQ(Router::classify("/crl-pem/a/b/1"), Route::CrlPem);
  EXPECT_EQ(Router::classify("/ocsp/a/b"), Route::Ocsp);
  EXPECT_EQ(Router::classify("/ca/a/b"), Route::CaBundle);
  EXPECT_EQ(Router::classify("/healthz?verbose=1"), Route::Healthz);
  EXPECT_EQ(Router::classify("http://responder:4664/readyz"), Route::Readyz);
  EXPECT_EQ(Router::classify("/metrics"), Route::Metrics);
  EXPECT_EQ(Router::classify("/crlx"), Route::Other);
  EXPECT_EQ(Router::classify("/ca"), Route::Other);
  EXPECT_EQ(Router::classify(""), Route::Other);
}

TEST_F(RouterTest, DecodesPercentEncodedPathSegments) {
  EXPECT_CALL(*source_, crl("my tenant", "ca", "1")).WillOnce(Return(std::nullopt));
  Response response = router_.handle(makeRequest(http::verb::get, "/crl/my%20tenant/ca/1"));
  EXPECT_EQ(response.result(), http::status::not_found);
  EXPECT_EQ(response.body(), "no CRL for tenant my tenant, CA ca, version 1");
}

TEST_F(RouterTest, CrlPathNeedsExactlyThreeSegments) {
  EXPECT_CALL(*source_, crl(_, _, _)).Times(0);
  for (const char* target : {"/crl/a/b", "/crl/a/b/1/2", "/crl//b/1", "/crl/a/b/"}) {
    EXPECT_EQ(router_.handle(makeRequest(http::verb::get, target)).result(),
              http::status::not_found)
        << target;
  }
}

const std::string kBundlePem =
    "-----BEGIN CERTIFICATE-----\nMAMCAQI=\n-----END CERTIFICATE-----\n"
    "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";

CaBundleDocument bundle(const std::string& pem = kBundlePem) {
  return CaBundleDocument{std::make_shared<const std::string>(pem), Seconds(120)};
}

TEST_F(RouterTest, CaBundleIsThePemWithCacheHeaders) {
  EXPECT_CALL(*source_, caBundle("acme", "mqtt-ca")).WillOnce(Return(bundle()));
  Response response = router_.handle(makeRequest(http::verb::get, "/ca/acme/mqtt-ca"));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body(), kBundlePem);
  EXPECT_EQ(response[http::field::content_type], "application/pem-certificate-chain");
  EXPECT_EQ(response[http::field::cache_control], "public, max-age=120");
  EXPECT_EQ(response[http::field::expires], "Wed, 01 May 2024 12:02:00 GMT");
  EXPECT_EQ(response[http::field::etag], entityTagOfEveryByte(kBundlePem));
  EXPECT_THAT(router_.metrics().render(),
              ::testing::HasSubstr("revoca_http_requests_total{path=\"ca\",code=\"200\"} 1\n"));
}

TEST_F(RouterTest, CaBundleIfNoneMatchWithItsTagIs304UntilTheBundleChanges) {
  ON_CALL(*source_, caBundle(_, _)).WillByDefault(Return(bundle()));
  std::string etag(router_.handle(makeRequest(http::verb::get, "/ca/acme/mqtt-ca"))[http::field::etag]);
  Request conditional = makeRequest(http::verb::get, "/ca/acme/mqtt-ca");
  conditional.set(http::field::if_none_match, etag);
  Response response = router_.handle(conditional);
  EXPECT_EQ(response.result(), http::status::not_modified);
  EXPECT_TRUE(response.body().empty());
  EXPECT_EQ(response[http::field::etag], etag);
  EXPECT_EQ(response[http::field::cache_control], "public, max-age=120");

  // A new version in front of the same parent's certificates.
  std::string rotated = "-----BEGIN CERTIFICATE-----\nMAMCAQM=\n-----END CERTIFICATE-----\n" + kBundlePem;
  ON_CALL(*source_, caBundle(_, _)).WillByDefault(Return(bundle(rotated)));
  response = router_.handle(conditional);
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body(), rotated);
}

TEST_F(RouterTest, CaBundleHeadHasTheHeadersOfTheGetAndNoBody) {
  ON_CALL(*source_, caBundle(_, _)).WillByDefault(Return(bundle()));
  Response response = router_.handle(makeRequest(http::verb::head, "/ca/acme/mqtt-ca"));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_length], std::to_string(kBundlePem.size()));
  EXPECT_EQ(response[http::field::etag], entityTagOfEveryByte(kBundlePem));
  EXPECT_TRUE(response.body().empty());
}

TEST_F(RouterTest, CaBundleOfAnUnknownCaIs404) {
  EXPECT_CALL(*source_, caBundle("my tenant", "nope")).WillOnce(Return(std::nullopt));
  Response response = router_.handle(makeRequest(http::verb::get, "/ca/my%20tenant/nope"));
  EXPECT_EQ(response.result(), http::status::not_found);
  EXPECT_EQ(response.body(),
            "no CA bundle for tenant my tenant, CA nope: no such tenant or CA, or the CA has no live version");
  EXPECT_EQ(response.count(http::field::etag), 0u);
}

TEST_F(RouterTest, CaBundlePathNeedsExactlyTwoSegments) {
  EXPECT_CALL(*source_, caBundle(_, _)).Times(0);
  for (const char* target : {"/ca/a", "/ca/a/", "/ca//b", "/ca/a/b/", "/ca/a/b/1"}) {
    Response response = router_.handle(makeRequest(http::verb::get, target));
    EXPECT_EQ(response.result(), http::status::not_found) << target;
    EXPECT_EQ(response.body(), "expected /ca/<tenant>/<ca>") << target;
  }
  EXPECT_EQ(router_.handle(makeRequest(http::verb::get, "/ca/a%zz/b")).result(), http::status::bad_request);
  Response post = router_.handle(makeRequest(http::verb::post, "/ca/a/b"));
  EXPECT_EQ(post.result(), http::status::method_not_allowed);
  EXPECT_EQ(post[http::field::allow], "GET, HEAD");
}

TEST_F(RouterTest, OcspGetRequestMayStartWithASlash) {
  // base64 that begins with '/' gives "<ca>//..." in the path.
  const std::string der{"\xfc\x00\x01", 3};  // base64 "/AAB"
  EXPECT_CALL(*source_, ocsp("t", "ca", der)).WillOnce(Return(reply("r", OcspOutcome::Good)));
  Response response = router_.handle(makeRequest(http::verb::get, "/ocsp/t/ca//AAB"));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body(), "r");
}

TEST_F(RouterTest, OcspReplyWithoutTimesHasNoCacheHeaders) {
  ON_CALL(*source_, ocsp(_, _, _))
      .WillByDefault(Return(reply("x", OcspOutcome::Unauthorized)));
  Response response = router_.handle(makeRequest(http::verb::post, "/ocsp/t/ca", "req"));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.count(http::field::cache_control), 0u);
  EXPECT_EQ(response.count(http::field::etag), 0u);
}

TEST_F(RouterTest, PostToTheGetResourceIs405) {
  Response response = router_.handle(makeRequest(http::verb::post, "/ocsp/t/ca/MAA="));
  EXPECT_EQ(response.result(), http::status::method_not_allowed);
  EXPECT_EQ(response[http::field::allow], "GET, HEAD");
}

TEST_F(RouterTest, HeadKeepsContentLengthAndDropsBody) {
  Response response = router_.handle(makeRequest(http::verb::head, "/healthz"));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_length], "2");
  EXPECT_TRUE(response.body().empty());
}

TEST_F(RouterTest, RejectCountsAgainstTheRoute) {
  Response response =
      router_.reject(http::status::payload_too_large, "/ocsp/t/ca", 11, "request body too large");
  EXPECT_EQ(response.result(), http::status::payload_too_large);
  EXPECT_EQ(response.body(), "request body too large");
  EXPECT_NE(router_.metrics().render().find(
                "revoca_http_requests_total{path=\"ocsp\",code=\"413\"} 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace revoca::responder
