#include <gtest/gtest.h>

#include "kubeclient/work_queue.h"
#include "kubernetes/controllers.h"
#include "testing/fake_clock.h"

namespace revoca::kubernetes {
namespace {

using std::chrono::milliseconds;

TEST(DelayUntil, RoundsUpSoAKeyIsNeverTakenBeforeItsTime) {
  TimePoint now = fromUnixSeconds(1'000'000);
  // A renewal 0.4 ms ahead: truncated it was 0 ms, the key came back at once,
  // found nothing due yet, and was not queued for its renewal again.
  EXPECT_EQ(delayUntil(now + std::chrono::microseconds(400), now), milliseconds(1));
  EXPECT_EQ(delayUntil(now + milliseconds(5449) + std::chrono::microseconds(1), now), milliseconds(5450));
  EXPECT_EQ(delayUntil(now + Seconds(6), now), milliseconds(6000));
}

TEST(DelayUntil, NothingWhenTheTimeIsNotAhead) {
  TimePoint now = fromUnixSeconds(1'000'000);
  EXPECT_EQ(delayUntil(now, now), std::nullopt);
  EXPECT_EQ(delayUntil(now - milliseconds(1), now), std::nullopt);
}

TEST(DelayUntil, AKeyQueuedForItsRenewalIsTakenAtItNotBefore) {
  testing::FakeClock clock(fromUnixSeconds(1'000'000));
  kubeclient::WorkQueue queue(clock, {}, milliseconds(1));
  TimePoint renewal = clock.now() + milliseconds(5449) + std::chrono::microseconds(600);
  queue.addAfter("ns/short", *delayUntil(renewal, clock.now()));
  clock.advance(milliseconds(5449));
  EXPECT_EQ(queue.get(clock.now()), std::nullopt);  // due 0.6 ms later
  clock.advance(milliseconds(1));
  ASSERT_EQ(queue.get(clock.now()), "ns/short");
  EXPECT_GE(clock.now(), renewal);
}

}  // namespace
}  // namespace revoca::kubernetes
