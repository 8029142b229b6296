#include "kube/work_queue.h"

#include <gtest/gtest.h>

#include <thread>

#include "testing/fake_clock.h"

namespace revoca::kube {
namespace {

using revoca::testing::FakeClock;

TEST(WorkQueue, AddsAKeyOnceHoweverOftenItChanges) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("default/a");
  queue.add("default/a");
  queue.add("default/b");
  EXPECT_EQ(queue.depth(), 2u);
  EXPECT_EQ(queue.get(), "default/a");
  EXPECT_EQ(queue.get(), "default/b");
}

TEST(WorkQueue, NeverHandsOutAKeyTwiceAtOnce) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("k");
  ASSERT_EQ(queue.get(), "k");
  queue.add("k");  // changed while being processed
  EXPECT_EQ(queue.depth(), 0u);
  EXPECT_EQ(queue.get(clock.now()), std::nullopt);
  queue.done("k");
  EXPECT_EQ(queue.get(clock.now()), "k");
}

TEST(WorkQueue, BacksOffExponentiallyPerKeyAndForgets) {
  FakeClock clock;
  WorkQueue queue(clock, BackoffPolicy{std::chrono::milliseconds(500), std::chrono::milliseconds(3000)});
  EXPECT_EQ(queue.nextBackoff("k"), std::chrono::milliseconds(500));
  queue.addRateLimited("k");
  EXPECT_EQ(queue.nextBackoff("k"), std::chrono::milliseconds(1000));
  queue.addRateLimited("k");
  queue.addRateLimited("k");
  EXPECT_EQ(queue.nextBackoff("k"), std::chrono::milliseconds(3000));  // capped
  EXPECT_EQ(queue.nextBackoff("other"), std::chrono::milliseconds(500));
  queue.forget("k");
  EXPECT_EQ(queue.failures("k"), 0);
}

TEST(WorkQueue, DelayedKeysBecomeReadyWhenTheClockReachesThem) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("later", std::chrono::seconds(30));
  EXPECT_EQ(queue.get(clock.now()), std::nullopt);
  clock.advance(std::chrono::seconds(31));
  EXPECT_EQ(queue.get(clock.now()), "later");
}

TEST(WorkQueue, ShutDownWakesWaitingWorkers) {
  FakeClock clock;
  WorkQueue queue(clock);
  std::thread worker([&] { EXPECT_EQ(queue.get(), std::nullopt); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  queue.shutDown();
  worker.join();
}

}  // namespace
}  // namespace revoca::kube
