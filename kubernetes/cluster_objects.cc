#include "kubernetes/cluster_objects.h"

#include <array>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "kube/resource_paths.h"
#include "kubernetes/names.h"
#include "kubernetes/object_declarations.h"
#include "kubernetes/status_summary.h"

namespace revoca::kubernetes {
namespace {

// Only a new generation (a spec change) or a deletion mark needs a pass;
// the status writes revoca itself makes come back as updates too.
bool specChanged(const nlohmann::json& before, const nlohmann::json& after) {
  const auto& a = before.value("metadata", nlohmann::json::object());
  const auto& b = after.value("metadata", nlohmann::json::object());
  return a.value("generation", 0) != b.value("generation", 0) ||
         a.contains("deletionTimestamp") != b.contains("deletionTimestamp");
}

// Calls visit(kind, vector) for each kind's vector of `set`.
template <typename Visit>
void eachKind(DeclarationSet& set, Visit&& visit) {
  visit(Kind::CertificateAuthority, set.authorities);
  visit(Kind::Vault, set.vaults);
  visit(Kind::VaultSecret, set.vaultSecrets);
  visit(Kind::CertificateRevocation, set.revocations);
  visit(Kind::EmqxDeployment, set.emqxDeployments);
}

// A kind's place in per-kind arrays.
std::size_t slotOf(Kind kind) { return static_cast<std::size_t>(kind); }

// Each vector's size, by kind, and the errors'.
struct SetSizes {
  std::array<std::size_t, kAllKinds.size()> kinds{};
  std::size_t errors = 0;
};

SetSizes sizesOf(DeclarationSet& set) {
  SetSizes sizes;
  eachKind(set, [&](Kind kind, auto& objects) { sizes.kinds[slotOf(kind)] = objects.size(); });
  sizes.errors = set.errors.size();
  return sizes;
}

// Where what was appended to `set` since `before` went: at most one declaration.
void placeAppended(DeclarationSet& set, const SetSizes& before, DeclarationPlace& where) {
  SetSizes after = sizesOf(set);
  where.kind.reset();
  for (Kind kind : kAllKinds)
    if (after.kinds[slotOf(kind)] != before.kinds[slotOf(kind)]) {
      where.kind = kind;
      where.at = before.kinds[slotOf(kind)];
    }
  where.firstError = before.errors;
  where.errors = after.errors - before.errors;
}

// Moves the declaration and errors `where` points at in `from` to the end
// of `to`, and points `where` at them there.
void moveOver(DeclarationSet& from, DeclarationSet& to, DeclarationPlace& where) {
  SetSizes before = sizesOf(to);
  eachKind(from, [&](Kind kind, auto& source) {
    if (kind != where.kind) return;
    eachKind(to, [&](Kind, auto& target) {
      if constexpr (std::is_same_v<decltype(target), decltype(source)>) target.push_back(std::move(source[where.at]));
    });
  });
  for (std::size_t i = 0; i < where.errors; ++i) to.errors.push_back(std::move(from.errors[where.firstError + i]));
  placeAppended(to, before, where);
}

// Frees the vector of `set` that holds `kind`.
void releaseKind(DeclarationSet& set, Kind kind) {
  eachKind(set, [&](Kind held, auto& objects) {
    if (held == kind) std::remove_reference_t<decltype(objects)>().swap(objects);
  });
}

// What nobody here reads, dropped before caching: managedFields and
// kubectl's last-applied copy are most of a small object's size.
void trimDeclaration(nlohmann::json& object) {
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return;
  metadata->erase("managedFields");
  if (auto annotations = metadata->find("annotations"); annotations != metadata->end() && annotations->is_object()) {
    annotations->erase("kubectl.kubernetes.io/last-applied-configuration");
    if (annotations->empty()) metadata->erase(annotations);
  }
}

DeclarationPlace::Identity identityOf(const nlohmann::json& metadata) {
  return {std::hash<std::string>{}(metadata.value("uid", "")), metadata.value("generation", std::int64_t{0}),
          metadata.contains("deletionTimestamp")};
}

// What ClusterObjects::get() keeps of an object: what the status writer and
// the owner references read, an EmqxDeployment's pod template (the
// Deployment revoca owns is built from it, as JSON), and the informer's
// bookkeeping. No apiVersion nor kind: that tells it from a whole object.
nlohmann::json whatIsRead(const nlohmann::json& object) {
  nlohmann::json kept = {{"metadata", nlohmann::json::object()}};
  if (auto metadata = object.find("metadata"); metadata != object.end() && metadata->is_object())
    for (const char* field : {"name", "namespace", "uid", "resourceVersion", "generation", "deletionTimestamp"})
      if (auto value = metadata->find(field); value != metadata->end()) kept["metadata"][field] = *value;
  if (auto spec = object.find("spec"); spec != object.end() && spec->is_object())
    if (auto podTemplate = spec->find("podTemplate"); podTemplate != spec->end())
      kept["spec"]["podTemplate"] = *podTemplate;
  if (auto status = object.find("status"); status != object.end() && status->is_object())
    kept["status"] = summarizeStatus(*status);
  return kept;
}

// Whether `object` is whole (its declaration can be converted from it) or
// what whatIsRead() keeps.
bool isWhole(const nlohmann::json& object) { return object.contains("kind"); }

// State Secrets are watched only to hear that they changed: the store reads
// their data itself, so the cache keeps their metadata alone.
void trimStateSecret(nlohmann::json& object) {
  object.erase("data");
  trimDeclaration(object);
}

}  // namespace

ClusterObjects::ClusterObjects(kube::ApiClient& client, const Clock& clock, const std::vector<std::string>& namespaces,
                               std::function<void(Change)> onChange, kube::InformerOptions options)
    : client_(client) {
  // "" lists and watches every namespace with one request per kind.
  std::vector<std::string> watched = namespaces.empty() ? std::vector<std::string>{""} : namespaces;
  kube::InformerHandlers declarationHandlers{
      [onChange](const std::string&, const nlohmann::json&) { onChange(Change::kDeclarations); },
      [onChange](const std::string&, const nlohmann::json& before, const nlohmann::json& after) {
        if (specChanged(before, after)) onChange(Change::kDeclarations);
      },
      [onChange](const std::string&, const nlohmann::json&) { onChange(Change::kDeclarations); }};
  for (const auto& namespace_ : watched)
    for (Kind kind : kAllKinds) {
      kube::InformerOptions declarationOptions = options;
      declarationOptions.transform = [this, kind](nlohmann::json& object) { trimConverted(kind, object); };
      informers_.emplace_back(kind, std::make_unique<kube::Informer>(client, revocaObjects(kind, namespace_),
                                                                     declarationHandlers, clock, declarationOptions));
    }

  // State Secrets only (never every Secret in the cluster): CA versions,
  // ledgers and revocations. Certificates of VaultSecrets are not needed here.
  kube::InformerOptions stateOptions = options;
  stateOptions.labelSelector = std::string(kManagedSelector) + "," + kStateLabel + " in (ca,ledger,revocations)";
  stateOptions.transform = trimStateSecret;
  auto stateChanged = [onChange] { onChange(Change::kState); };
  kube::InformerHandlers stateHandlers{
      [stateChanged](const std::string&, const nlohmann::json&) { stateChanged(); },
      [stateChanged](const std::string&, const nlohmann::json&, const nlohmann::json&) { stateChanged(); },
      [stateChanged](const std::string&, const nlohmann::json&) { stateChanged(); }};
  for (const auto& namespace_ : watched)
    stateSecrets_.push_back(
        std::make_unique<kube::Informer>(client, secrets(namespace_), stateHandlers, clock, stateOptions));
}

ClusterObjects::~ClusterObjects() { stop(); }

void ClusterObjects::start() {
  for (auto& [kind, informer] : informers_) informer->start();
  for (auto& informer : stateSecrets_) informer->start();
}

void ClusterObjects::stop() {
  for (auto& [kind, informer] : informers_) informer->stop();
  for (auto& informer : stateSecrets_) informer->stop();
}

bool ClusterObjects::waitForSync(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      deadline - std::chrono::steady_clock::now()));
  };
  for (const auto& [kind, informer] : informers_)
    if (!informer->waitForSync(left())) return false;
  for (const auto& informer : stateSecrets_)
    if (!informer->waitForSync(left())) return false;
  return true;
}

std::optional<nlohmann::json> ClusterObjects::get(Kind kind, const std::string& namespace_,
                                                  const std::string& name) const {
  for (const auto& [known, informer] : informers_)
    if (known == kind)
      if (auto object = informer->get(namespace_ + "/" + name)) return object;
  return std::nullopt;
}

void ClusterObjects::trimConverted(Kind kind, nlohmann::json& object) {
  trimDeclaration(object);
  if (auto status = object.find("status"); status != object.end() && status->is_object())
    *status = summarizeStatus(*status);
  DeclarationPlace::Identity identity = identityOf(object.value("metadata", nlohmann::json::object()));
  // On its way out, nothing to convert. A status write, or a relist, brings
  // a spec whose declaration is there already.
  bool converted = identity.deleting;
  if (!converted) {
    std::lock_guard lock(mutex_);
    auto known = converted_.find({kind, kube::objectKey(object)});
    converted = known != converted_.end() && known->second.identity == identity;
  }
  if (converted) object = whatIsRead(object);
}

bool ClusterObjects::convertFromServer(const PlaceKey& key, DeclarationSet& out) {
  const auto& [kind, objectKey] = key;
  auto slash = objectKey.find('/');
  auto ref = revocaObjects(kind, objectKey.substr(0, slash), objectKey.substr(slash + 1));
  auto fetched = client_.get(ref);
  if (!fetched.ok()) {
    spdlog::debug("{}: reading its declaration again failed: {}", ref.path(), fetched.error.message);
    return false;
  }
  spdlog::debug("{}: declaration read again (it changed while it was converted)", ref.path());
  trimDeclaration(*fetched.value);
  appendDeclaration(*fetched.value, out);
  return true;
}

bool ClusterObjects::settleStatusChanges() {
  bool specsChanged = false;
  for (auto& [key, where] : converted_) {
    if (where.pass != pass_ || where.seen == DeclarationPlace::Seen::kNew) {
      specsChanged = true;  // deleted, or new
      continue;
    }
    if (where.seen != DeclarationPlace::Seen::kNewVersion) continue;
    auto object = where.informer->get(key.second);
    if (!object) {
      specsChanged = true;  // deleted since
      continue;
    }
    const auto& metadata = (*object)["metadata"];
    if (identityOf(metadata) != where.identity) {
      specsChanged = true;
      continue;
    }
    where.seen = DeclarationPlace::Seen::kSameVersion;
    where.resourceVersion = metadata.value("resourceVersion", "");
    // Cached before its spec was converted from another version of it: no longer needed.
    if (isWhole(*object))
      where.informer->keepOnly(key.second, where.resourceVersion, whatIsRead(*object));
  }
  return specsChanged;
}

const DeclarationSet& ClusterObjects::declarations() {
  std::lock_guard lock(mutex_);
  ++pass_;
  // Every cached object gets its entry in converted_ (new ones too), marked
  // with this pass and whether its resourceVersion is the one converted.
  // Updated in place: at 10,000 objects a second map, even for the length
  // of a pass, is megabytes.
  std::array<std::size_t, kAllKinds.size()> expected{};
  for (const auto& [kind, informer] : informers_) {
    informer->forEachVersion([&](const std::string& objectKey, const std::string& version) {
      auto [entry, added] = converted_.try_emplace({kind, objectKey});
      DeclarationPlace& place = entry->second;
      if (added)
        place.seen = DeclarationPlace::Seen::kNew;
      else
        place.seen = place.resourceVersion == version ? DeclarationPlace::Seen::kSameVersion
                                                      : DeclarationPlace::Seen::kNewVersion;
      place.pass = pass_;
      place.informer = informer.get();
      ++expected[slotOf(kind)];
    });
  }
  if (!settleStatusChanges()) return all_;

  DeclarationSet previous = std::move(all_);
  all_ = {};
  eachKind(all_, [&](Kind kind, auto& objects) { objects.reserve(expected[slotOf(kind)]); });

  // In key order; declarations move straight from the previous set to this
  // one. Keys are grouped by kind: once past a kind's keys, its previous
  // vector is freed, so that two copies of only one kind are ever held.
  std::optional<Kind> kindAt;
  for (auto entry = converted_.begin(); entry != converted_.end();) {
    const PlaceKey& key = entry->first;
    DeclarationPlace& where = entry->second;
    if (key.first != kindAt) {
      if (kindAt) releaseKind(previous, *kindAt);
      kindAt = key.first;
    }
    if (where.pass != pass_) {  // no longer cached: deleted
      entry = converted_.erase(entry);
      continue;
    }
    if (where.seen == DeclarationPlace::Seen::kSameVersion) {
      moveOver(previous, all_, where);
      ++entry;
      continue;
    }
    // Decoded here, not in the visit, which holds the cache's lock.
    auto object = where.informer->get(key.second);
    if (!object) {  // deleted meanwhile
      entry = converted_.erase(entry);
      continue;
    }
    const auto& metadata = (*object)["metadata"];
    DeclarationPlace::Identity identity = identityOf(metadata);
    std::string version = metadata.value("resourceVersion", "");
    if (where.seen == DeclarationPlace::Seen::kNewVersion && where.identity == identity) {
      moveOver(previous, all_, where);  // its status changed since settleStatusChanges(), not its spec
    } else {
      SetSizes before = sizesOf(all_);
      // On its way out: nothing to reconcile.
      bool converted = identity.deleting;
      if (!converted && isWhole(*object)) {
        appendDeclaration(*object, all_);
        // Converted: the cache keeps the rest (unless a newer version came meanwhile).
        where.informer->keepOnly(key.second, version, whatIsRead(*object));
        converted = true;
      }
      if (converted || convertFromServer(key, all_)) {
        where.identity = identity;
        placeAppended(all_, before, where);
      } else {
        moveOver(previous, all_, where);  // kept as it was, and tried again on the next call
        version.clear();
      }
    }
    where.resourceVersion = version;
    ++entry;
  }
  return all_;
}

}  // namespace revoca::kubernetes
