#include "kubeclient/backoff.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"

namespace revoca::kubeclient {
namespace {

using namespace std::chrono_literals;
using revoca::testing::FakeClock;

TEST(ReflectorBackoff, DoublesFromPointEightSecondsToThirty) {
  FakeClock clock;
  ReflectorBackoff backoff(clock, {}, [] { return 0.0; });
  std::vector<long> waits;
  for (int i = 0; i < 8; ++i) {
    waits.push_back(backoff.next().count());
    clock.advance(1s);
  }
  EXPECT_EQ(waits, (std::vector<long>{800, 1600, 3200, 6400, 12800, 25600, 30000, 30000}));
}

TEST(ReflectorBackoff, JitterStretchesEachWait) {
  FakeClock clock;
  ReflectorBackoff backoff(clock, {}, [] { return 0.5; });
  EXPECT_EQ(backoff.next(), 1200ms);
  EXPECT_EQ(backoff.next(), 2400ms);
}

TEST(ReflectorBackoff, StartsOverAfterTwoQuietMinutes) {
  FakeClock clock;
  ReflectorBackoff backoff(clock, {}, [] { return 0.0; });
  backoff.next();
  backoff.next();
  clock.advance(2min);
  EXPECT_EQ(backoff.next(), 3200ms);  // exactly two minutes is not yet quiet
  clock.advance(2min + 1ms);
  EXPECT_EQ(backoff.next(), 800ms);
}

TEST(ReflectorBackoff, DefaultRandomStaysWithinTheJitter) {
  FakeClock clock;
  ReflectorBackoff backoff(clock);
  auto wait = backoff.next();
  EXPECT_GE(wait, 800ms);
  EXPECT_LT(wait, 1600ms);
}

}  // namespace
}  // namespace revoca::kubeclient
