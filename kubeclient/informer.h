#pragma once
// A cache of one collection kept current by list-then-watch, as client-go's
// reflector and informer do: watches resume from the last resourceVersion
// (bookmarks move it without traffic), a 410 Gone means relist, and failures
// back off with jitter. Only what it was asked to watch is cached (one
// collection, one label selector): cert-manager caching every Secret in the
// cluster cost 8 GB on large clusters.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "kubeclient/api_client.h"
#include "kubeclient/backoff.h"

namespace revoca::kubeclient {

// Called from the informer's thread, after its cache has changed (so get()
// already answers with the new state). Keys are "namespace/name". A handler
// must not call stop().
struct InformerHandlers {
  std::function<void(const std::string& key, const nlohmann::json& object)> onAdd;
  std::function<void(const std::string& key, const nlohmann::json& before, const nlohmann::json& after)> onUpdate;
  std::function<void(const std::string& key, const nlohmann::json& lastKnown)> onDelete;
};

struct InformerOptions {
  std::string labelSelector;
  int pageSize = 500;
  // Each watch asks for a timeout in [min, 2*min), as client-go does, so
  // the watches of many clients do not all end at once.
  std::chrono::seconds minWatchTimeout{300};
  ReflectorBackoffPolicy backoff;
  // Trims each object before it is cached, as client-go's SetTransform does
  // (cert-manager drops managedFields there): the cache holds only what is read.
  std::function<void(nlohmann::json&)> transform;
};

class Informer {
 public:
  Informer(ApiClient& client, ResourceRef collection, InformerHandlers handlers, const Clock& clock,
           InformerOptions options = {});
  ~Informer();  // stops
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void start();
  // Ends the current watch at once; may wait for a list request in flight.
  void stop();

  // True once the first list is in the cache and its onAdd calls are made.
  bool hasSynced() const;
  bool waitForSync(std::chrono::milliseconds timeout) const;

  // Each decodes what it returns (the cache holds objects compactly).
  std::optional<nlohmann::json> get(const std::string& key) const;
  std::vector<nlohmann::json> list() const;
  // Visits the key and resourceVersion of every cached object under the
  // cache's lock, decoding none: a caller that keeps what it derived from an
  // object per resourceVersion gets() only the ones that changed.
  void forEachVersion(const std::function<void(const std::string& key, const std::string& version)>& visit) const;

  // Replaces the cached `key` by `trimmed` if it is still at `version`: a
  // caller that converted what it needs keeps the rest out of the cache.
  void keepOnly(const std::string& key, const std::string& version, const nlohmann::json& trimmed);

  std::string resourceVersion() const;  // where the next watch resumes
  int lists() const { return lists_.load(); }  // successful lists: 1 + relists

 private:
  enum class WatchEnd { kResume, kRetry, kGone, kRelist, kStopped };

  void run();
  bool relist();
  WatchEnd watchOnce(bool& sawEvent);
  void handle(const WatchEvent& event);
  bool sleep(std::chrono::milliseconds delay);  // false when stopped meanwhile
  void setResourceVersion(const std::string& version);

  ApiClient& client_;
  const ResourceRef collection_;
  const InformerHandlers handlers_;
  const Clock& clock_;
  const InformerOptions options_;
  ReflectorBackoff backoff_;

  // An object as CBOR, about a quarter of its size as nlohmann::json nodes
  // (10,000 VaultSecrets and their Vaults took 70 MB as nodes).
  struct Cached {
    std::string resourceVersion;
    std::vector<std::uint8_t> cbor;
  };
  using Cache = std::map<std::string, Cached>;
  static Cached encode(const nlohmann::json& object);

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  Cache cache_;
  std::string resourceVersion_;
  bool synced_ = false;
  bool stopping_ = false;
  std::shared_ptr<WatchCancel> currentWatch_;
  std::atomic<int> lists_{0};
  std::thread thread_;
};

}  // namespace revoca::kubeclient
