#pragma once
// The Kubernetes API as revoca uses it, behind an interface of our own so
// the HTTP library (cpprestsdk today) stays at this module's edge and the
// reconcilers can be tested against a fake.
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace revoca::kubeclient {

// A resource collection or one object in it: "/apis/revoca.io/v1alpha1/namespaces/ns/vaultsecrets/name".
struct ResourceRef {
  std::string group;    // "" for the core group
  std::string version;  // "v1", "v1alpha1"
  std::string plural;   // "secrets", "vaultsecrets"
  std::string namespace_;  // "" for cluster-scoped or all namespaces
  std::string name;        // "" for the collection
  std::string subresource = {};  // "status", "token": after the name ("= {}": 5-member braces stay warning-free)
  std::string path() const;
};

// An API failure with the HTTP status the server gave (0: no answer at all).
struct ApiError {
  int status = 0;
  std::string reason;   // metav1.Status reason, e.g. "NotFound", "Conflict", "Expired"
  std::string message;  // one line a person can act on
  // Success is a 2xx status: remove() and watch() return an ApiError either way.
  bool ok() const { return status >= 200 && status < 300; }
};

template <typename T>
struct ApiResult {
  std::optional<T> value;
  ApiError error;
  bool ok() const { return value.has_value(); }
};

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::string resourceVersion;  // "" = most recent
  // Pages of this size, followed with continue tokens; 0: one answer. The
  // items are read as the answer arrives, so an answer of any size holds a
  // window of its text in memory, not all of it.
  int limit = 500;
  // Applied to each item as it arrives, so a list of many objects never
  // holds them all untrimmed at once (see InformerOptions::transform).
  std::function<void(nlohmann::json&)> transform = {};
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  nlohmann::json object;
};

// Lets another thread end a blocking watch() at once (Informer::stop()),
// without waiting for the next event or the server's timeout.
class WatchCancel {
 public:
  void cancel() {
    std::function<void()> abort;
    {
      std::lock_guard lock(mutex_);
      if (cancelled_) return;
      cancelled_ = true;
      abort = std::move(abort_);
    }
    if (abort) abort();
  }
  bool cancelled() const {
    std::lock_guard lock(mutex_);
    return cancelled_;
  }
  // The client says how to abort its stream; runs at once if already cancelled.
  void onCancel(std::function<void()> abort) {
    {
      std::lock_guard lock(mutex_);
      if (!cancelled_) {
        abort_ = std::move(abort);
        return;
      }
    }
    if (abort) abort();
  }

 private:
  mutable std::mutex mutex_;
  bool cancelled_ = false;
  std::function<void()> abort_;
};

struct WatchOptions {
  std::string labelSelector;
  std::string resourceVersion;  // resume point
  bool allowWatchBookmarks = true;
  int timeoutSeconds = 300;     // the server ends the watch after this
  std::shared_ptr<WatchCancel> cancel;  // optional
};

class ApiClient {
 public:
  virtual ~ApiClient() = default;
  virtual ApiResult<nlohmann::json> get(const ResourceRef& object) = 0;
  // All pages; the result is a List whose metadata.resourceVersion is the watch resume point.
  virtual ApiResult<nlohmann::json> list(const ResourceRef& collection, const ListOptions& options) = 0;
  // Blocks, calling onEvent for each event until the server ends the watch,
  // onEvent returns false, or an error (a 410 Gone arrives as an ERROR event
  // with object.code 410, or as an ApiError with status 410).
  virtual ApiError watch(const ResourceRef& collection, const WatchOptions& options,
                         const std::function<bool(const WatchEvent&)>& onEvent) = 0;
  virtual ApiResult<nlohmann::json> create(const ResourceRef& collection, const nlohmann::json& object) = 0;
  // PUT with metadata.resourceVersion: 409 Conflict when someone wrote first.
  virtual ApiResult<nlohmann::json> update(const ResourceRef& object, const nlohmann::json& body) = 0;
  // Server-side apply (PATCH application/apply-patch+yaml, fieldManager, force).
  virtual ApiResult<nlohmann::json> apply(const ResourceRef& object, const nlohmann::json& body,
                                          const std::string& fieldManager, bool force = true) = 0;
  // The same on the status subresource.
  virtual ApiResult<nlohmann::json> applyStatus(const ResourceRef& object, const nlohmann::json& body,
                                                const std::string& fieldManager) = 0;
  virtual ApiError remove(const ResourceRef& object) = 0;
};

}  // namespace revoca::kubeclient
