#include "responder/http_cache.h"

#include <gtest/gtest.h>

namespace revoca::responder {
namespace {

TEST(FormatHttpDateTest, ImfFixdate) {
  EXPECT_EQ(formatHttpDate(fromUnixSeconds(784111777)), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(formatHttpDate(fromUnixSeconds(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
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
