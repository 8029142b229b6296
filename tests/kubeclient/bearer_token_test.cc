#include "kubeclient/bearer_token.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "testing/fake_clock.h"
#include "testing/temp_dir.h"

namespace revoca::kubeclient {
namespace {

using namespace std::chrono_literals;
using revoca::testing::FakeClock;
using revoca::testing::TempDir;

TEST(BearerToken, AStaticTokenIsUsedAsIs) {
  FakeClock clock;
  BearerTokenSource source("static", "", clock);
  EXPECT_EQ(source.token(), "static");
}

TEST(BearerToken, RereadsTheFileWhenItsMtimeChanges) {
  FakeClock clock;
  TempDir dir;
  auto file = dir.write("token", "first\n");
  BearerTokenSource source("", file, clock);
  EXPECT_EQ(source.token(), "first");
  dir.write("token", "second\n");
  std::filesystem::last_write_time(file, std::filesystem::last_write_time(file) + 1s);
  EXPECT_EQ(source.token(), "second");  // no time has passed on the clock
}

TEST(BearerToken, RereadsTheFileEveryMinuteEvenWithTheSameMtime) {
  FakeClock clock;
  TempDir dir;
  auto file = dir.write("token", "first");
  auto mtime = std::filesystem::last_write_time(file);
  BearerTokenSource source("", file, clock);
  EXPECT_EQ(source.token(), "first");
  dir.write("token", "second");
  std::filesystem::last_write_time(file, mtime);
  clock.advance(59s);
  EXPECT_EQ(source.token(), "first");
  clock.advance(1s);
  EXPECT_EQ(source.token(), "second");
}

TEST(BearerToken, KeepsTheLastGoodTokenWhenTheFileGoes) {
  FakeClock clock;
  TempDir dir;
  auto file = dir.write("token", "good");
  BearerTokenSource source("fallback", file, clock);
  EXPECT_EQ(source.token(), "good");
  std::filesystem::remove(file);
  clock.advance(2min);
  EXPECT_EQ(source.token(), "good");
  dir.write("token", "   \n");  // empty: keep the last one too
  clock.advance(2min);
  EXPECT_EQ(source.token(), "good");
}

}  // namespace
}  // namespace revoca::kubeclient
