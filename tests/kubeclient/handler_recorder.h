#pragma once
// Records what an informer's handlers saw, for tests.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "kubeclient/informer.h"

namespace revoca::kubeclient::testing {

// What the handlers saw, in order: "add ns/a", "update ns/a 1->2", "delete ns/b".
class Recorder {
 public:
  InformerHandlers handlers() {
    return {[this](const std::string& key, const nlohmann::json&) { record("add " + key); },
            [this](const std::string& key, const nlohmann::json& before, const nlohmann::json& after) {
              record("update " + key + " " + before["metadata"]["resourceVersion"].get<std::string>() + "->" +
                     after["metadata"]["resourceVersion"].get<std::string>());
            },
            [this](const std::string& key, const nlohmann::json&) { record("delete " + key); }};
  }
  std::vector<std::string> waitFor(std::size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return events_.size() >= count; });
    return events_;
  }
  // Whether an event starting with `prefix` ("update ns/a") is seen within 10 s.
  bool waitForEvent(const std::string& prefix) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const auto& event : events_)
        if (event.rfind(prefix, 0) == 0) return true;
      return false;
    });
  }

 private:
  void record(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    changed_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
};

}  // namespace revoca::kubeclient::testing
