#include "kubeclient/informer.h"

#include <random>

#include <spdlog/spdlog.h>

#include "kubeclient/api_status.h"
#include "kubeclient/resource_paths.h"

namespace revoca::kubeclient {

namespace {
// A watch the server ends this fast without an event is a fault (client-go
// says "very short watch"), not a normal end: back off instead of spinning.
constexpr auto kShortWatch = std::chrono::seconds(1);
}  // namespace

Informer::Informer(ApiClient& client, ResourceRef collection, InformerHandlers handlers, const Clock& clock,
                   InformerOptions options)
    : client_(client),
      collection_(std::move(collection)),
      handlers_(std::move(handlers)),
      clock_(clock),
      options_(std::move(options)),
      backoff_(clock, options_.backoff) {}

Informer::~Informer() { stop(); }

void Informer::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  std::shared_ptr<WatchCancel> watch;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    watch = currentWatch_;
  }
  changed_.notify_all();
  if (watch) watch->cancel();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool Informer::hasSynced() const {
  std::lock_guard lock(mutex_);
  return synced_;
}

bool Informer::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return synced_ || stopping_; }) && synced_;
}

Informer::Cached Informer::encode(const nlohmann::json& object) {
  Cached cached{metadataString(object, "resourceVersion"), nlohmann::json::to_cbor(object)};
  // to_cbor grows its vector by doubling: up to half of it would stay unused, for every object cached.
  cached.cbor.shrink_to_fit();
  return cached;
}

std::optional<nlohmann::json> Informer::get(const std::string& key) const {
  std::vector<std::uint8_t> cbor;
  {
    std::lock_guard lock(mutex_);
    auto found = cache_.find(key);
    if (found == cache_.end()) return std::nullopt;
    cbor = found->second.cbor;
  }
  return nlohmann::json::from_cbor(cbor);
}

std::vector<nlohmann::json> Informer::list() const {
  std::lock_guard lock(mutex_);
  std::vector<nlohmann::json> out;
  out.reserve(cache_.size());
  for (const auto& [key, object] : cache_) out.push_back(nlohmann::json::from_cbor(object.cbor));
  return out;
}

void Informer::forEachVersion(
    const std::function<void(const std::string& key, const std::string& version)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, object] : cache_) visit(key, object.resourceVersion);
}

void Informer::keepOnly(const std::string& key, const std::string& version, const nlohmann::json& trimmed) {
  Cached kept = encode(trimmed);
  std::lock_guard lock(mutex_);
  auto found = cache_.find(key);
  if (found != cache_.end() && found->second.resourceVersion == version) found->second.cbor = std::move(kept.cbor);
}

std::string Informer::resourceVersion() const {
  std::lock_guard lock(mutex_);
  return resourceVersion_;
}

void Informer::setResourceVersion(const std::string& version) {
  if (version.empty()) return;
  std::lock_guard lock(mutex_);
  resourceVersion_ = version;
}

bool Informer::sleep(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !changed_.wait_for(lock, delay, [this] { return stopping_; });
}

void Informer::run() {
  bool needList = true;
  for (;;) {
    bool listed = false;
    if (needList) {
      if (!relist()) {
        if (!sleep(backoff_.next())) return;
        continue;
      }
      needList = false;
      listed = true;
    }
    bool sawEvent = false;
    WatchEnd end = watchOnce(sawEvent);
    // Events came: the server works, and the failures before it are history.
    if (sawEvent) backoff_.reset();
    switch (end) {
      case WatchEnd::kStopped:
        return;
      case WatchEnd::kResume:
        break;  // the server's timeout: watch again from where it ended
      case WatchEnd::kRetry:
        if (!sleep(backoff_.next())) return;
        break;
      case WatchEnd::kGone:
        // The server answered: the resume point is too old (it restarted,
        // or etcd compacted). Relist at once; waiting out a backoff grown
        // while it was down left every change unseen for up to a minute.
        // Only a list that is too old as soon as it is made backs off.
        needList = true;
        if (listed && !sawEvent && !sleep(backoff_.next())) return;
        break;
      case WatchEnd::kRelist:
        needList = true;
        if (!sleep(backoff_.next())) return;
        break;
    }
  }
}

// Lists everything and replaces the cache, calling the handlers for what
// differs from it. The first list asks for resourceVersion "0", as
// client-go's reflector does: the apiserver answers from its watch cache,
// every object in one answer (read as it arrives: see ListOptions), where a
// consistent list in pages may go to etcd for every page after the first
// (10,000 VaultSecrets: some 3 s of the apiserver's CPU against 0.5 s).
// The watch from the list's resourceVersion then brings in whatever that
// cache had not seen yet. A list again (the watch lost its place) is
// consistent (resourceVersion ""): it must not go back in time.
bool Informer::relist() {
  // Each item is encoded as its page arrives: the list never holds the
  // collection as JSON nodes (10,000 VaultSecrets are some 35 MB of them).
  Cache fresh;
  ListOptions options;
  options.labelSelector = options_.labelSelector;
  options.limit = options_.pageSize;
  if (lists_ == 0) options.resourceVersion = "0";  // the limit is then ignored
  options.transform = [&](nlohmann::json& item) {
    if (options_.transform) options_.transform(item);
    std::string key = objectKey(item);
    // A list names each object once: a name seen again means the pager
    // started over (its continue token expired), so the pages before go.
    if (fresh.count(key)) fresh.clear();
    fresh.emplace(std::move(key), encode(item));
    item = nullptr;
  };
  auto listed = client_.list(collection_, options);
  if (!listed.ok()) {
    spdlog::debug("informer {}: list failed, retrying: {}", collection_.path(), listed.error.message);
    return false;
  }
  std::vector<std::pair<std::string, std::string>> listedVersions;  // key, resourceVersion
  listedVersions.reserve(fresh.size());
  for (const auto& [key, object] : fresh) listedVersions.emplace_back(key, object.resourceVersion);

  Cache before;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    before = std::move(cache_);
    cache_ = std::move(fresh);
    resourceVersion_ = metadataString(*listed.value, "resourceVersion");
  }
  listed.value.reset();
  // Only this thread writes the cache, so get() finds what was just listed;
  // each object is decoded for its handler and dropped again.
  for (const auto& [key, version] : listedVersions) {
    auto old = before.find(key);
    if (old == before.end()) {
      if (handlers_.onAdd)
        if (auto object = get(key)) handlers_.onAdd(key, *object);
    } else if (old->second.resourceVersion != version) {
      if (handlers_.onUpdate)
        if (auto object = get(key)) handlers_.onUpdate(key, nlohmann::json::from_cbor(old->second.cbor), *object);
    }
    if (old != before.end()) before.erase(old);
  }
  // What is left of the old cache was not listed: deleted meanwhile.
  for (const auto& [key, object] : before)
    if (handlers_.onDelete) handlers_.onDelete(key, nlohmann::json::from_cbor(object.cbor));
  // The figures of the fault tests count these: each is a full read of the collection.
  if (++lists_ > 1) spdlog::info("informer {}: listed again ({} objects)", collection_.path(), listedVersions.size());
  {
    std::lock_guard lock(mutex_);
    synced_ = true;
  }
  changed_.notify_all();
  return true;
}

Informer::WatchEnd Informer::watchOnce(bool& sawEvent) {
  auto cancel = std::make_shared<WatchCancel>();
  WatchOptions options;
  options.labelSelector = options_.labelSelector;
  options.allowWatchBookmarks = true;
  options.cancel = cancel;
  {
    thread_local std::mt19937 random{std::random_device{}()};
    auto min = options_.minWatchTimeout.count();
    options.timeoutSeconds = static_cast<int>(min + std::uniform_int_distribution<long long>(0, min)(random));
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return WatchEnd::kStopped;
    options.resourceVersion = resourceVersion_;
    currentWatch_ = cancel;
  }
  TimePoint started = clock_.now();
  std::optional<ApiError> eventError;
  ApiError ended = client_.watch(collection_, options, [&](const WatchEvent& event) {
    if (cancel->cancelled()) return false;
    sawEvent = true;
    if (event.type == "ERROR") {
      eventError = errorFromStatus(event.object);
      return false;
    }
    handle(event);
    return true;
  });
  {
    std::lock_guard lock(mutex_);
    currentWatch_.reset();
    if (stopping_) return WatchEnd::kStopped;
  }
  const ApiError& error = eventError ? *eventError : ended;
  if (error.ok()) {
    return sawEvent || clock_.now() - started >= kShortWatch ? WatchEnd::kResume : WatchEnd::kRetry;
  }
  // Unreachable or throttled: the resourceVersion is still good, try the watch again.
  if (error.status == 0 || error.status == 429) {
    spdlog::debug("informer {}: watch ended, resuming from resourceVersion {}: {}", collection_.path(),
                  options.resourceVersion, error.message);
    return WatchEnd::kRetry;
  }
  spdlog::info("informer {}: watch ended with {} {}, relisting: {}", collection_.path(), error.status, error.reason,
               error.message);
  return error.status == 410 ? WatchEnd::kGone : WatchEnd::kRelist;
}

void Informer::handle(const WatchEvent& event) {
  const std::string version = metadataString(event.object, "resourceVersion");
  if (event.type == "BOOKMARK") {
    setResourceVersion(version);  // progress without objects: the resume point moves
    return;
  }
  if (event.type != "ADDED" && event.type != "MODIFIED" && event.type != "DELETED") return;
  const std::string key = objectKey(event.object);
  nlohmann::json object = event.object;
  if (options_.transform && event.type != "DELETED") options_.transform(object);
  std::optional<Cached> before;
  {
    std::lock_guard lock(mutex_);
    auto found = cache_.find(key);
    if (found != cache_.end()) before = std::move(found->second);
    if (event.type == "DELETED") {
      if (found != cache_.end()) cache_.erase(found);
    } else {
      cache_[key] = encode(object);
    }
    if (!version.empty()) resourceVersion_ = version;
  }
  if (event.type == "DELETED") {
    if (handlers_.onDelete) handlers_.onDelete(key, event.object);
  } else if (before) {
    if (handlers_.onUpdate) handlers_.onUpdate(key, nlohmann::json::from_cbor(before->cbor), object);
  } else if (handlers_.onAdd) {
    handlers_.onAdd(key, object);
  }
}

}  // namespace revoca::kubeclient
