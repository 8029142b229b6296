#include "kubeclient/work_queue.h"

#include <algorithm>

namespace revoca::kubeclient {

void WorkQueue::addLocked(const std::string& key) {
  if (shutDown_) return;
  if (processing_.count(key)) {
    if (dirty_.insert(key).second) ++stats_.adds;
    return;
  }
  if (queued_.insert(key).second) {
    ++stats_.adds;
    queue_.push_back(key);
    changed_.notify_one();
  }
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mutex_);
  addLocked(key);
}

void WorkQueue::addAfter(const std::string& key, std::chrono::milliseconds delay) {
  if (delay <= std::chrono::milliseconds(0)) return add(key);
  std::lock_guard lock(mutex_);
  if (shutDown_) return;
  TimePoint at = clock_.now() + delay;
  // As client-go's delaying queue: a key already waiting keeps the earlier time.
  auto [waiting, added] = delayedAt_.try_emplace(key, at);
  if (!added) {
    if (waiting->second <= at) return;
    auto [first, last] = delayed_.equal_range(waiting->second);
    for (auto it = first; it != last; ++it)
      if (it->second == &waiting->first) {
        delayed_.erase(it);
        break;
      }
    waiting->second = at;
  }
  delayed_.emplace(at, &waiting->first);
  changed_.notify_all();
}

std::chrono::milliseconds WorkQueue::nextBackoff(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  int exponent = std::min(it == failures_.end() ? 0 : it->second, 30);
  auto delay = backoff_.base * (std::int64_t{1} << exponent);
  return std::min<std::chrono::milliseconds>(delay, backoff_.cap);
}

void WorkQueue::addRateLimited(const std::string& key) {
  auto delay = nextBackoff(key);
  {
    std::lock_guard lock(mutex_);
    ++failures_[key];
    ++stats_.retries;
  }
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int WorkQueue::failures(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::promoteDueLocked(TimePoint now) {
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = *delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    delayedAt_.erase(key);
    addLocked(key);
  }
}

std::optional<std::string> WorkQueue::get(std::optional<TimePoint> deadline) {
  std::unique_lock lock(mutex_);
  while (true) {
    if (shutDown_) return std::nullopt;
    TimePoint now = clock_.now();
    promoteDueLocked(now);
    if (!queue_.empty()) break;
    if (deadline && now >= *deadline) return std::nullopt;
    // Wake for the next delayed key, the caller's deadline, or at least
    // every poll_ so an injected clock that jumps is noticed.
    TimePoint wake = now + poll_;
    if (!delayed_.empty()) wake = std::min(wake, delayed_.begin()->first);
    if (deadline) wake = std::min(wake, *deadline);
    changed_.wait_for(lock, std::max(wake - now, TimePoint::duration(0)));
  }
  std::string key = queue_.front();
  queue_.pop_front();
  queued_.erase(key);
  processing_.insert(key);
  startedAt_[key] = std::chrono::steady_clock::now();
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mutex_);
  processing_.erase(key);
  if (auto started = startedAt_.find(key); started != startedAt_.end()) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started->second).count();
    startedAt_.erase(started);
    for (std::size_t i = 0; i < kDurationBuckets.size(); ++i)
      if (seconds <= kDurationBuckets[i]) ++stats_.workDurationBuckets[i];
    ++stats_.workDurationCount;
    stats_.workDurationSum += seconds;
  }
  if (dirty_.erase(key)) addLocked(key);
}

void WorkQueue::shutDown() {
  std::lock_guard lock(mutex_);
  shutDown_ = true;
  changed_.notify_all();
}

std::size_t WorkQueue::depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

}  // namespace revoca::kubeclient

namespace revoca::kubeclient {

WorkQueue::Stats WorkQueue::stats() const {
  std::lock_guard lock(mutex_);
  Stats stats = stats_;
  stats.depth = queue_.size();
  auto now = std::chrono::steady_clock::now();
  for (const auto& [key, started] : startedAt_)
    stats.longestRunningSeconds =
        std::max(stats.longestRunningSeconds, std::chrono::duration<double>(now - started).count());
  return stats;
}

}  // namespace revoca::kubeclient
