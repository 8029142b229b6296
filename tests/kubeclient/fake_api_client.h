#pragma once
// An ApiClient that serves scripted lists and watches, for informer tests.
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <vector>

#include "kubeclient/api_client.h"

namespace revoca::kubeclient::testing {

using EventSink = std::function<bool(const WatchEvent&)>;
using ScriptedWatch = std::function<ApiError(const WatchOptions&, const EventSink&)>;

class FakeApiClient final : public ApiClient {
 public:
  void addList(ApiResult<nlohmann::json> result) {
    std::lock_guard lock(mutex_);
    lists_.push_back(std::move(result));
  }
  // Once the script runs out, a watch blocks until cancelled.
  void addWatch(ScriptedWatch watch) {
    std::lock_guard lock(mutex_);
    watches_.push_back(std::move(watch));
  }
  std::vector<WatchOptions> watchCalls() const {
    std::lock_guard lock(mutex_);
    return watchCalls_;
  }
  // The resourceVersion each list asked for, in order.
  std::vector<std::string> listVersions() const {
    std::lock_guard lock(mutex_);
    return listVersions_;
  }
  int listCalls() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(listVersions_.size());
  }
  bool waitForWatchCalls(std::size_t count) const {
    std::unique_lock lock(mutex_);
    return called_.wait_for(lock, std::chrono::seconds(10), [&] { return watchCalls_.size() >= count; });
  }

  ApiResult<nlohmann::json> list(const ResourceRef&, const ListOptions& options) override {
    std::lock_guard lock(mutex_);
    listVersions_.push_back(options.resourceVersion);
    if (lists_.empty()) return {std::nullopt, ApiError{500, "InternalError", "no list scripted"}};
    auto result = lists_.front();
    if (lists_.size() > 1) lists_.pop_front();  // the last one repeats
    // As the real client does, item by item.
    if (options.transform && result.value && result.value->contains("items"))
      for (auto& item : (*result.value)["items"]) options.transform(item);
    return result;
  }

  ApiError watch(const ResourceRef&, const WatchOptions& options, const EventSink& onEvent) override {
    ScriptedWatch script;
    {
      std::lock_guard lock(mutex_);
      watchCalls_.push_back(options);
      if (!watches_.empty()) {
        script = std::move(watches_.front());
        watches_.pop_front();
      }
    }
    called_.notify_all();
    if (script) return script(options, onEvent);
    auto cancelled = std::make_shared<std::promise<void>>();
    auto done = cancelled->get_future();
    options.cancel->onCancel([cancelled] { cancelled->set_value(); });
    done.wait();
    return ApiError{0, "Cancelled", "the watch was cancelled"};
  }

  ApiResult<nlohmann::json> get(const ResourceRef&) override { return unsupported(); }
  ApiResult<nlohmann::json> create(const ResourceRef&, const nlohmann::json&) override { return unsupported(); }
  ApiResult<nlohmann::json> update(const ResourceRef&, const nlohmann::json&) override { return unsupported(); }
  ApiResult<nlohmann::json> apply(const ResourceRef&, const nlohmann::json&, const std::string&, bool) override {
    return unsupported();
  }
  ApiResult<nlohmann::json> applyStatus(const ResourceRef&, const nlohmann::json&, const std::string&) override {
    return unsupported();
  }
  ApiError remove(const ResourceRef&) override { return unsupported().error; }

 private:
  static ApiResult<nlohmann::json> unsupported() {
    return {std::nullopt, ApiError{501, "", "not scripted"}};
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable called_;
  std::deque<ApiResult<nlohmann::json>> lists_;
  std::deque<ScriptedWatch> watches_;
  std::vector<WatchOptions> watchCalls_;
  std::vector<std::string> listVersions_;  // one per list call
};

}  // namespace revoca::kubeclient::testing
