#include "kubeclient/work_queue.h"

#include <gtest/gtest.h>

#include <thread>

#include "testing/fake_clock.h"

namespace revoca::kubeclient {
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

TEST(WorkQueue, AKeyDelayedTwiceWaitsOnceForTheEarlierTime) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("k", std::chrono::seconds(30));
  queue.addAfter("k", std::chrono::seconds(10));
  queue.addAfter("k", std::chrono::seconds(60));  // later than it waits already: nothing
  clock.advance(std::chrono::seconds(11));
  EXPECT_EQ(queue.get(clock.now()), "k");
  queue.done("k");
  clock.advance(std::chrono::seconds(60));
  EXPECT_EQ(queue.get(clock.now()), std::nullopt);  // not handed out again for the times it replaced
}

TEST(WorkQueue, CountsAddsRetriesAndWorkAsClientGoMetricsDo) {
  FakeClock clock;
  WorkQueue queue(clock, BackoffPolicy{std::chrono::milliseconds(500), std::chrono::milliseconds(3000)});
  queue.add("a");
  queue.add("a");  // already waiting: no add
  queue.add("b");
  EXPECT_EQ(queue.stats().adds, 2u);
  EXPECT_EQ(queue.stats().depth, 2u);
  ASSERT_EQ(queue.get(), "a");
  EXPECT_GE(queue.stats().longestRunningSeconds, 0.0);
  queue.addRateLimited("a");
  queue.done("a");
  WorkQueue::Stats stats = queue.stats();
  EXPECT_EQ(stats.retries, 1u);
  EXPECT_EQ(stats.workDurationCount, 1u);
  EXPECT_EQ(stats.workDurationBuckets.back(), 1u);  // cumulative: within 10 s
  EXPECT_EQ(stats.longestRunningSeconds, 0.0);       // nothing being processed
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(queue.get(clock.now()), "b");
  EXPECT_EQ(queue.get(clock.now()), "a");
  EXPECT_EQ(queue.stats().adds, 3u);  // the retry, once due
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
}  // namespace revoca::kubeclient
