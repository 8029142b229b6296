#include "core/duration.h"

#include <gtest/gtest.h>

#include <limits>

namespace revoca {
namespace {

constexpr std::int64_t kDay = 86400;

TEST(ParseDuration, SeedSpellings) {
  EXPECT_EQ(parseDuration("1y350d")->count(), 365 * kDay + 350 * kDay);
  EXPECT_EQ(parseDuration("30d")->count(), 30 * kDay);
  EXPECT_EQ(parseDuration("15d")->count(), 15 * kDay);
  EXPECT_EQ(parseDuration("5m")->count(), 300);
  EXPECT_EQ(parseDuration("5s")->count(), 5);
}

TEST(ParseDuration, GoSpellings) {
  EXPECT_EQ(parseDuration("720h")->count(), 720 * 3600);
  EXPECT_EQ(parseDuration("1h30m")->count(), 5400);
}

TEST(ParseDuration, Weeks) { EXPECT_EQ(parseDuration("2w")->count(), 14 * kDay); }

TEST(ParseDuration, RejectsWithAHint) {
  for (const char* text : {"", "5", "5x", "-1d", "d", "1.5h"}) {
    Result<Seconds> parsed = parseDuration(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message.find("write it like"), std::string::npos) << parsed.error().message;
  }
}

TEST(ParseDuration, SaysWhatIsWrong) {
  EXPECT_NE(parseDuration("").error().message.find("empty"), std::string::npos);
  EXPECT_NE(parseDuration("5").error().message.find("no unit"), std::string::npos);
  EXPECT_NE(parseDuration("5x").error().message.find("unknown unit \"x\""), std::string::npos);
}

TEST(ParseDuration, RejectsOverflow) { EXPECT_FALSE(parseDuration("99999999999999999y").ok()); }

TEST(FormatDuration, ShortestSeedSpelling) {
  EXPECT_EQ(formatDuration(Seconds(90061)), "1d1h1m1s");
  EXPECT_EQ(formatDuration(Seconds(0)), "0s");
  EXPECT_EQ(formatDuration(Seconds(30 * kDay)), "30d");
}

// Found by fuzz/duration: negating the most negative count overflowed (UB).
TEST(FormatDuration, NegativeDownToTheMostNegative) {
  EXPECT_EQ(formatDuration(Seconds(-90061)), "-1d1h1m1s");
  EXPECT_EQ(formatDuration(Seconds(std::numeric_limits<std::int64_t>::min())), "-292471208677y195d15h30m8s");
}

}  // namespace
}  // namespace revoca
