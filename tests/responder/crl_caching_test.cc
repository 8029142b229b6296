// How /crl/ and /crl-pem/ answers let HTTP caches keep a CRL: for at most
// the CA's cacheMaxAge, and revalidated with If-None-Match or
// If-Modified-Since (304 Not Modified) until a new CRL is published.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "responder/http_cache.h"
#include "responder/router.h"
#include "tests/responder/responder_mocks.h"
#include "testing/fake_clock.h"

namespace revoca::responder {
namespace {

using ::testing::_;
using ::testing::InvokeWithoutArgs;
using ::testing::NiceMock;
using ::testing::Return;
using revoca::testing::FakeClock;
using testing::kNow;
using testing::MockRevocationSource;

// Signed a minute ago, valid for a day; caches may keep it five minutes.
CrlDocument crlDocument(std::uint64_t number = 7, std::string der = std::string("\x30\x03\x02\x01\x07", 5)) {
  CrlDocument crl;
  crl.der = std::make_shared<const std::string>(std::move(der));
  crl.pem = std::make_shared<const std::string>("-----BEGIN X509 CRL-----\nMAMCAQc=\n-----END X509 CRL-----\n");
  crl.caVersion = 2;
  crl.crlNumber = number;
  crl.thisUpdate = kNow - Seconds(60);
  crl.nextUpdate = kNow + Seconds(86400);
  crl.cacheMaxAge = Seconds(300);
  crl.newerThanEveryEarlierCrl = true;
  return crl;
}

class CrlCachingTest : public ::testing::Test {
 protected:
  CrlCachingTest() : source_(std::make_shared<NiceMock<MockRevocationSource>>()), clock_(kNow), router_(source_, clock_) {
    ON_CALL(*source_, crl(_, _, _)).WillByDefault(InvokeWithoutArgs([this] { return std::optional(document_); }));
  }

  Response get(std::initializer_list<std::pair<http::field, std::string>> headers = {},
               http::verb method = http::verb::get, const std::string& target = "/crl/acme/mqtt-ca/2") {
    Request request{method, target, 11};
    for (const auto& [name, value] : headers) request.set(name, value);
    return router_.handle(request);
  }
  std::string etag() const { return entityTag("v2-n7", *document_.der); }

  std::shared_ptr<NiceMock<MockRevocationSource>> source_;
  FakeClock clock_;
  Router router_;
  CrlDocument document_ = crlDocument();
};

TEST_F(CrlCachingTest, CachesKeepItForCacheMaxAgeNotUntilNextUpdate) {
  Response response = get();
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::cache_control], "public, max-age=300");
  // Expires agrees, for caches that know no max-age.
  EXPECT_EQ(response[http::field::date], "Wed, 01 May 2024 12:00:00 GMT");
  EXPECT_EQ(response[http::field::expires], "Wed, 01 May 2024 12:05:00 GMT");
  EXPECT_EQ(response[http::field::last_modified], "Wed, 01 May 2024 11:59:00 GMT");
}

TEST_F(CrlCachingTest, NeverPastNextUpdate) {
  clock_.set(document_.nextUpdate - Seconds(100));
  Response response = get();
  EXPECT_EQ(response[http::field::cache_control], "public, max-age=100");
  EXPECT_EQ(response[http::field::expires], formatHttpDate(document_.nextUpdate));
}

TEST_F(CrlCachingTest, ATagNamesTheVersionAndNumberAndFollowsTheBytes) {
  EXPECT_EQ(get()[http::field::etag], etag());
  EXPECT_EQ(get({}, http::verb::get, "/crl-pem/acme/mqtt-ca/2")[http::field::etag],
            entityTag("v2-n7", *document_.pem));
  // A follower replica signs under the leader's current number: the same
  // number with other bytes is another tag.
  std::string before = etag();
  document_ = crlDocument(7, std::string("\x30\x03\x02\x01\x08", 5));
  EXPECT_NE(get()[http::field::etag], before);
}

TEST_F(CrlCachingTest, IfNoneMatchWithTheTagIs304WithTheCacheHeaders) {
  Response response = get({{http::field::if_none_match, etag()}});
  EXPECT_EQ(response.result(), http::status::not_modified);
  EXPECT_TRUE(response.body().empty());
  EXPECT_EQ(response[http::field::etag], etag());
  EXPECT_EQ(response[http::field::cache_control], "public, max-age=300");
  EXPECT_EQ(response[http::field::expires], "Wed, 01 May 2024 12:05:00 GMT");

  // After a revocation: a new number, new bytes, the whole new CRL.
  document_ = crlDocument(8, std::string("\x30\x03\x02\x01\x08", 5));
  response = get({{http::field::if_none_match, entityTag("v2-n7", "\x30\x03\x02\x01\x07")}});
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body(), *document_.der);
  EXPECT_EQ(response[http::field::etag], entityTag("v2-n8", *document_.der));
}

TEST_F(CrlCachingTest, IfModifiedSinceAtOrAfterThisUpdateIs304) {
  for (TimePoint date : {document_.thisUpdate, document_.thisUpdate + Seconds(30), kNow}) {
    Response response = get({{http::field::if_modified_since, formatHttpDate(date)}});
    EXPECT_EQ(response.result(), http::status::not_modified) << formatHttpDate(date);
    EXPECT_TRUE(response.body().empty());
    EXPECT_EQ(response[http::field::etag], etag());
  }
  Response head = get({{http::field::if_modified_since, formatHttpDate(kNow)}}, http::verb::head);
  EXPECT_EQ(head.result(), http::status::not_modified);
}

TEST_F(CrlCachingTest, IfModifiedSinceBeforeThisUpdateOrNotADateGetsTheCrl) {
  for (const std::string& value : {formatHttpDate(document_.thisUpdate - Seconds(1)),
                                   formatHttpDate(kNow + Seconds(1)),  // not a date this server sent
                                   std::string("yesterday")}) {
    Response response = get({{http::field::if_modified_since, value}});
    EXPECT_EQ(response.result(), http::status::ok) << value;
    EXPECT_EQ(response.body(), *document_.der);
  }
}

// Two CRLs signed within one second share a Last-Modified: a client holding
// the first must not be told it holds the second.
TEST_F(CrlCachingTest, IfModifiedSinceIsNotTrustedForACrlThatSharesItsSecond) {
  document_.newerThanEveryEarlierCrl = false;
  Response response = get({{http::field::if_modified_since, formatHttpDate(document_.thisUpdate)}});
  EXPECT_EQ(response.result(), http::status::ok);
  // Its tag still tells.
  EXPECT_EQ(get({{http::field::if_none_match, etag()}}).result(), http::status::not_modified);
}

TEST_F(CrlCachingTest, IfNoneMatchDecidesWhenBothAreSent) {
  std::string current = formatHttpDate(kNow);
  EXPECT_EQ(get({{http::field::if_none_match, "\"v2-n6-0000000000000000\""}, {http::field::if_modified_since, current}})
                .result(),
            http::status::ok);
  EXPECT_EQ(get({{http::field::if_none_match, etag()},
                 {http::field::if_modified_since, formatHttpDate(document_.thisUpdate - Seconds(1))}})
                .result(),
            http::status::not_modified);
}

}  // namespace
}  // namespace revoca::responder
