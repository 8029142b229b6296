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
