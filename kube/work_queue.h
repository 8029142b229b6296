#pragma once
// A work queue with client-go's guarantees (util/workqueue):
// - a key is queued once however often it is added before it is taken;
// - a key is never handed to two workers at once: added while being
//   processed, it is queued again when its worker calls done();
// - failures are retried with per-key exponential backoff (addRateLimited),
//   reset by forget() after a success;
// - addAfter() schedules a key for later (renewal times).
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <deque>

#include "core/clock.h"

namespace revoca::kube {

struct BackoffPolicy {
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds cap{std::chrono::minutes(5)};
};

class WorkQueue {
 public:
  explicit WorkQueue(const Clock& clock, BackoffPolicy backoff = {}) : clock_(clock), backoff_(backoff) {}

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

 private:
  void promoteDueLocked(TimePoint now);
  void addLocked(const std::string& key);

  const Clock& clock_;
  BackoffPolicy backoff_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_;      // in queue_
  std::set<std::string> processing_;
  std::set<std::string> dirty_;       // added while processing
  std::multimap<TimePoint, std::string> delayed_;
  std::map<std::string, int> failures_;
  bool shutDown_ = false;
};

}  // namespace revoca::kube
