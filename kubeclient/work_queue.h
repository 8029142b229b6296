#pragma once
// A work queue with client-go's guarantees (util/workqueue):
// - a key is queued once however often it is added before it is taken;
// - a key is never handed to two workers at once: added while being
//   processed, it is queued again when its worker calls done();
// - failures are retried with per-key exponential backoff (addRateLimited),
//   reset by forget() after a success;
// - addAfter() schedules a key for later (renewal times).
#include <array>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <deque>

#include "core/clock.h"

namespace revoca::kubeclient {

struct BackoffPolicy {
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds cap{std::chrono::minutes(5)};
};

class WorkQueue {
 public:
  // `poll`: how often a waiting get() looks at the clock again, for a
  // clock that jumps (a test's); real time wakes it when a key is due.
  explicit WorkQueue(const Clock& clock, BackoffPolicy backoff = {},
                     std::chrono::milliseconds poll = std::chrono::milliseconds(100))
      : clock_(clock), backoff_(backoff), poll_(poll) {}

  void add(const std::string& key);
  void addAfter(const std::string& key, std::chrono::milliseconds delay);
  // Re-queues after the key's next backoff step: base * 2^failures, capped.
  void addRateLimited(const std::string& key);
  void forget(const std::string& key);
  int failures(const std::string& key) const;
  std::chrono::milliseconds nextBackoff(const std::string& key) const;

  // Blocks until a key is ready, or returns nullopt once shut down (or at `deadline`).
  std::optional<std::string> get(std::optional<TimePoint> deadline = std::nullopt);
  void done(const std::string& key);
  void shutDown();

  std::size_t depth() const;  // keys waiting now (for the metrics)

  // What client-go's workqueue metrics count (workqueue_* with a name label).
  struct Stats {
    std::size_t depth = 0;
    std::uint64_t adds = 0;     // keys queued (an add of a key already waiting is none)
    std::uint64_t retries = 0;  // addRateLimited calls
    // Seconds each finished key took between get() and done(), by
    // client-go's buckets (10 ns .. 10 s, times 10 each), and their sum.
    std::array<std::uint64_t, 10> workDurationBuckets{};
    std::uint64_t workDurationCount = 0;
    double workDurationSum = 0;
    double longestRunningSeconds = 0;  // of the keys being processed now
  };
  Stats stats() const;
  static constexpr std::array<double, 10> kDurationBuckets = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4,
                                                               1e-3, 1e-2, 1e-1, 1,    10};

 private:
  void promoteDueLocked(TimePoint now);
  void addLocked(const std::string& key);

  const Clock& clock_;
  BackoffPolicy backoff_;
  std::chrono::milliseconds poll_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_;      // in queue_
  std::set<std::string> processing_;
  std::set<std::string> dirty_;       // added while processing
  std::map<std::string, TimePoint> delayedAt_;  // each key waits once, for its earliest time
  // By time, pointing at delayedAt_'s keys: a key is held once.
  std::multimap<TimePoint, const std::string*> delayed_;
  std::map<std::string, std::chrono::steady_clock::time_point> startedAt_;  // keys being processed
  Stats stats_;
  std::map<std::string, int> failures_;
  bool shutDown_ = false;
};

}  // namespace revoca::kubeclient
