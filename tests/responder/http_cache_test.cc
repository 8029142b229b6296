#include "responder/http_cache.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

namespace revoca::responder {
namespace {

TEST(FormatHttpDateTest, ImfFixdate) {
  EXPECT_EQ(formatHttpDate(fromUnixSeconds(784111777)), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(formatHttpDate(fromUnixSeconds(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
}

// The arithmetic against the C library's calendar, leap days and centuries included
// (TimePoint counts nanoseconds: it spans 1678 to 2262).
TEST(FormatHttpDateTest, AgreesWithGmtime) {
  std::int64_t samples[] = {-86400 * 365LL * 60 - 1, -1, 951782399, 951782400, 951868800,
                            2147483647, 2147483648, 4102444800, 9000000000};
  auto viaGmtime = [](std::int64_t seconds) {
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[40];
    std::strftime(out, sizeof out, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(out);
  };
  for (std::int64_t seconds : samples) {
    EXPECT_EQ(formatHttpDate(fromUnixSeconds(seconds)), viaGmtime(seconds)) << seconds;
  }
  for (std::int64_t seconds = -5000000000; seconds < 9000000000; seconds += 7777777) {
    ASSERT_EQ(formatHttpDate(fromUnixSeconds(seconds)), viaGmtime(seconds)) << seconds;
  }
}

TEST(SecondsUntilTest, NeverNegative) {
  TimePoint now = fromUnixSeconds(1000);
  EXPECT_EQ(secondsUntil(now, fromUnixSeconds(1600)), 600);
  EXPECT_EQ(secondsUntil(now, fromUnixSeconds(900)), 0);
  EXPECT_EQ(secondsUntil(now, now), 0);
}

TEST(EntityTagTest, QuotedHexThatFollowsTheBody) {
  std::string tag = entityTag("abc");
  ASSERT_EQ(tag.size(), 18u);
  EXPECT_EQ(tag.front(), '"');
  EXPECT_EQ(tag.back(), '"');
  EXPECT_EQ(tag.find_first_not_of("0123456789abcdef", 1), 17u);
  EXPECT_EQ(entityTag("abc"), tag);
  EXPECT_NE(entityTag("abd"), tag);
  EXPECT_NE(entityTag(""), tag);
}

TEST(EntityTagTest, LargeBodiesDifferByTailOrLength) {
  std::string big(100000, 'x');
  std::string otherTail = big;
  otherTail.back() = 'y';
  EXPECT_NE(entityTag(big), entityTag(otherTail));
  EXPECT_NE(entityTag(big), entityTag(big + "x"));
}

// A trust bundle: new certificates in front of the same parent's, as long
// as before.
TEST(EntityTagTest, EveryByteCountsForABodyThatIsNotOneSignedDocument) {
  std::string bundle = std::string(1000, 'a') + std::string(8000, 'p');
  std::string newHead = std::string(1000, 'b') + std::string(8000, 'p');
  EXPECT_EQ(entityTag(bundle), entityTag(newHead));  // why the CRLs' tag will not do
  EXPECT_NE(entityTagOfEveryByte(bundle), entityTagOfEveryByte(newHead));
  EXPECT_NE(entityTagOfEveryByte(bundle), entityTagOfEveryByte(bundle + "p"));
  EXPECT_EQ(entityTagOfEveryByte("abc"), entityTag("abc"));  // small bodies are hashed whole by both
}

TEST(EntityTagTest, ALabelGoesInFrontOfTheSameHash) {
  EXPECT_EQ(entityTag("v1-n42", "abc"), "\"v1-n42-" + entityTag("abc").substr(1));
  EXPECT_NE(entityTag("v1-n42", "abc"), entityTag("v1-n42", "abd"));
  EXPECT_NE(entityTag("v1-n42", "abc"), entityTag("v1-n43", "abc"));
}

// 1994-11-06T08:49:37Z, RFC 9110's example, in each of its three forms.
constexpr std::int64_t kExample = 784111777;
const TimePoint kParsedAt = fromUnixSeconds(1714564800);  // 2024-05-01

TEST(ParseHttpDateTest, TheThreeFormsOfRfc9110) {
  EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT", kParsedAt), fromUnixSeconds(kExample));
  EXPECT_EQ(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", kParsedAt), fromUnixSeconds(kExample));
  EXPECT_EQ(parseHttpDate("Sun Nov  6 08:49:37 1994", kParsedAt), fromUnixSeconds(kExample));
  EXPECT_EQ(parseHttpDate("Wed Nov 16 08:49:37 1994", kParsedAt), fromUnixSeconds(kExample + 10 * 86400));
}

TEST(ParseHttpDateTest, ReadsWhatFormatHttpDateWrites) {
  for (std::int64_t seconds : {0LL, 951782400LL, 1714564799LL, 4102444800LL})
    EXPECT_EQ(parseHttpDate(formatHttpDate(fromUnixSeconds(seconds)), kParsedAt), fromUnixSeconds(seconds)) << seconds;
}

TEST(ParseHttpDateTest, TwoDigitYearsAreNeverMoreThanFiftyYearsAhead) {
  EXPECT_EQ(parseHttpDate("Wednesday, 01-May-24 12:00:00 GMT", kParsedAt), kParsedAt);
  // 2074 is 50 years ahead of 2024, 2075 more: it is 1975.
  EXPECT_EQ(parseHttpDate("Tuesday, 01-May-74 00:00:00 GMT", kParsedAt), fromUnixSeconds(3292358400));
  EXPECT_EQ(parseHttpDate("Thursday, 01-May-75 00:00:00 GMT", kParsedAt), fromUnixSeconds(168134400));
}

TEST(ParseHttpDateTest, RefusesAnythingElse) {
  for (const char* text : {"", "yesterday", "1714564800", "2024-05-01T12:00:00Z",
                           "Wed, 01 May 2024 12:00:00 UTC",    // only GMT
                           "Wed, 01 May 2024 12:00:00 GMT ",   // trailing space
                           "wed, 01 May 2024 12:00:00 GMT",    // names are case-sensitive
                           "Wed, 1 May 2024 12:00:00 GMT",     // two-digit day
                           "Wed, 31 Apr 2024 12:00:00 GMT",    // no such day
                           "Wed, 01 May 2024 24:00:00 GMT", "Wed, 01 May 2024 12:60:00 GMT",
                           "Wed, 01 Mai 2024 12:00:00 GMT", "Wed, 01 May 1024 12:00:00 GMT",
                           "Wed, 01 May 9999 12:00:00 GMT",    // beyond what TimePoint holds
                           "Wed, 01 May 2024 12:00 GMT", "Wed May 1 12:00:00 2024",
                           "Wednesday, 01 May 2024 12:00:00 GMT"})
    EXPECT_FALSE(parseHttpDate(text, kParsedAt)) << text;
}

TEST(NotModifiedSinceTest, ADateAtOrAfterTheLastModificationAndNotInTheFuture) {
  TimePoint modified = kParsedAt - Seconds(60);
  EXPECT_TRUE(notModifiedSince(formatHttpDate(modified), modified, kParsedAt));
  EXPECT_TRUE(notModifiedSince(formatHttpDate(modified + Seconds(30)), modified, kParsedAt));
  EXPECT_TRUE(notModifiedSince(formatHttpDate(kParsedAt), modified, kParsedAt));
  EXPECT_FALSE(notModifiedSince(formatHttpDate(modified - Seconds(1)), modified, kParsedAt));
  EXPECT_FALSE(notModifiedSince(formatHttpDate(kParsedAt + Seconds(1)), modified, kParsedAt));
  EXPECT_FALSE(notModifiedSince("", modified, kParsedAt));
  EXPECT_FALSE(notModifiedSince("not a date", modified, kParsedAt));
}

TEST(IfNoneMatchTest, ListsWeakTagsAndStar) {
  EXPECT_TRUE(ifNoneMatchHits("\"a\"", "\"a\""));
  EXPECT_TRUE(ifNoneMatchHits("\"b\", W/\"a\"", "\"a\""));
  EXPECT_TRUE(ifNoneMatchHits("*", "\"a\""));
  EXPECT_FALSE(ifNoneMatchHits("\"b\"", "\"a\""));
  EXPECT_FALSE(ifNoneMatchHits("", "\"a\""));
  EXPECT_FALSE(ifNoneMatchHits("a", "\"a\""));
}

}  // namespace
}  // namespace revoca::responder
