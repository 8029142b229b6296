#include "kubernetes/cluster_objects.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "kubeclient/resource_paths.h"
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

SpecIdentity identityOf(const nlohmann::json& metadata) {
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

// State Secrets are watched only to hear that they changed: the store reads
// their data itself, so the cache keeps their metadata alone.
void trimStateSecret(nlohmann::json& object) {
  object.erase("data");
  trimDeclaration(object);
}


}  // namespace

ClusterObjects::ClusterObjects(kubeclient::ApiClient& client, const Clock& clock, const std::vector<std::string>& namespaces,
                               OnChange onChange, kubeclient::InformerOptions options) {
  // "" lists and watches every namespace with one request per kind.
  std::vector<std::string> watched = namespaces.empty() ? std::vector<std::string>{""} : namespaces;
  for (const auto& namespace_ : watched)
    for (Kind kind : kAllKinds) {
      // Each handler runs after convert() took in the new spec.
      kubeclient::InformerHandlers handlers{
          [onChange, kind](const std::string& key, const nlohmann::json&) {
            ObjectRef ref = ObjectRef::fromKey(kind, key);
            onChange(Change::kDeclarations, &ref);
          },
          [onChange, kind](const std::string& key, const nlohmann::json& before, const nlohmann::json& after) {
            // revoca's own status writes come back as updates too: they change nothing to reconcile.
            if (!specChanged(before, after)) return;
            ObjectRef ref = ObjectRef::fromKey(kind, key);
            onChange(Change::kDeclarations, &ref);
          },
          [this, onChange, kind](const std::string& key, const nlohmann::json&) {
            forget(kind, key);
            ObjectRef ref = ObjectRef::fromKey(kind, key);
            onChange(Change::kDeclarations, &ref);
          }};
      kubeclient::InformerOptions declarationOptions = options;
      declarationOptions.transform = [this, kind](nlohmann::json& object) { convert(kind, object); };
      informers_.emplace_back(kind, std::make_unique<kubeclient::Informer>(client, revocaObjects(kind, namespace_), handlers,
                                                                     clock, declarationOptions));
    }

  // State Secrets only (never every Secret in the cluster): CA versions,
  // ledgers and revocations. Certificates of VaultSecrets are not needed here.
  kubeclient::InformerOptions stateOptions = options;
  stateOptions.labelSelector = std::string(kManagedSelector) + "," + kStateLabel + " in (ca,ledger,revocations)";
  stateOptions.transform = trimStateSecret;
  auto stateChanged = [onChange] { onChange(Change::kState, nullptr); };
  kubeclient::InformerHandlers stateHandlers{
      [stateChanged](const std::string&, const nlohmann::json&) { stateChanged(); },
      [stateChanged](const std::string&, const nlohmann::json&, const nlohmann::json&) { stateChanged(); },
      [stateChanged](const std::string&, const nlohmann::json&) { stateChanged(); }};
  for (const auto& namespace_ : watched)
    stateSecrets_.push_back(
        std::make_unique<kubeclient::Informer>(client, secrets(namespace_), stateHandlers, clock, stateOptions));
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

bool ClusterObjects::synced(Kind kind) const {
  for (const auto& [known, informer] : informers_)
    if (known == kind && !informer->waitForSync(std::chrono::milliseconds(0))) return false;
  return true;
}

std::optional<nlohmann::json> ClusterObjects::get(Kind kind, const std::string& namespace_,
                                                  const std::string& name) const {
  for (const auto& [known, informer] : informers_)
    if (known == kind)
      if (auto object = informer->get(namespace_ + "/" + name)) return object;
  return std::nullopt;
}

void ClusterObjects::convert(Kind kind, nlohmann::json& object) {
  trimDeclaration(object);
  ObjectRef ref = ObjectRef::fromKey(kind, kubeclient::objectKey(object));
  SpecIdentity identity = identityOf(object.value("metadata", nlohmann::json::object()));
  {
    std::lock_guard lock(mutex_);
    auto known = entries_.find(ref);
    // A status write, or a relist, brings a spec whose declaration is here already.
    if (known != entries_.end() && known->second.identity == identity) {
      object = whatIsRead(object);
      return;
    }
  }
  Entry entry;
  entry.identity = identity;
  // On its way out: nothing to reconcile.
  if (!identity.deleting) {
    DeclarationSet parsed;
    appendDeclaration(object, parsed);
    entry.declared = declarationFrom(std::move(parsed));
  }
  object = whatIsRead(object);
  std::lock_guard lock(mutex_);
  auto place = entries_.try_emplace(std::move(ref)).first;
  indexLocked(&*place, place->second.declared, entry.declared);
  place->second = std::move(entry);
}

void ClusterObjects::forget(Kind kind, const std::string& key) {
  ObjectRef ref = ObjectRef::fromKey(kind, key);
  std::lock_guard lock(mutex_);
  auto found = entries_.find(ref);
  if (found == entries_.end()) return;
  indexLocked(&*found, found->second.declared, nullptr);
  entries_.erase(found);
}

const std::vector<std::string>& deploymentsOf(const Declared& declared) {
  static const std::vector<std::string> none;
  const Vault* vault = declared ? declarationOf<Vault>(*declared) : nullptr;
  return vault ? vault->spec.distributeDeployments : none;
}

namespace {

std::size_t hashOfName(const std::string& namespace_, const std::string& name) {
  std::size_t hash = std::hash<std::string>{}(namespace_);
  return hash ^ (std::hash<std::string>{}(name) + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2));
}

std::size_t hashOfRef(const ObjectRef& ref) {
  return hashOfName(ref.key.namespace_, ref.key.name) * 31 + static_cast<std::size_t>(ref.kind);
}

// Sorted and each once: what the sets these indexes replaced returned.
template <typename T>
std::vector<T> sortedOnce(std::vector<T> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

}  // namespace

void ClusterObjects::unindex(Index& index, std::size_t hash, const Node* node) {
  auto [first, last] = index.equal_range(hash);
  for (auto it = first; it != last; ++it)
    if (it->second == node) {
      index.erase(it);
      return;
    }
}

void ClusterObjects::indexLocked(const Node* node, const Declared& before, const Declared& after) {
  // Worked out from the declarations each time rather than kept: at 10,000
  // objects, a copy of what each names is megabytes.
  const std::string& namespace_ = node->first.key.namespace_;
  if (before) {
    for (const auto& named : namedBy(*before)) unindex(namedByIndex_, hashOfRef(named), node);
    for (const auto& deployment : deploymentsOf(before)) unindex(distributors_, hashOfName(namespace_, deployment), node);
  }
  if (after) {
    for (const auto& named : namedBy(*after)) namedByIndex_.emplace(hashOfRef(named), node);
    for (const auto& deployment : deploymentsOf(after)) distributors_.emplace(hashOfName(namespace_, deployment), node);
  }
}

std::vector<std::string> ClusterObjects::vaultsDistributingTo(const std::string& namespace_,
                                                              const std::string& deployment) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  auto [first, last] = distributors_.equal_range(hashOfName(namespace_, deployment));
  for (auto it = first; it != last; ++it) {
    const Node* vault = it->second;
    const auto& deployments = deploymentsOf(vault->second.declared);
    if (vault->first.key.namespace_ == namespace_ &&
        std::find(deployments.begin(), deployments.end(), deployment) != deployments.end())
      names.push_back(vault->first.key.name);
  }
  return sortedOnce(std::move(names));
}

Declared ClusterObjects::declared(const ObjectRef& object) const {
  std::lock_guard lock(mutex_);
  auto found = entries_.find(object);
  return found == entries_.end() ? nullptr : found->second.declared;
}

std::vector<ObjectRef> ClusterObjects::objectsOf(Kind kind) const {
  std::vector<ObjectRef> refs;
  std::lock_guard lock(mutex_);
  // Sorted by kind first: one kind's entries are one range.
  for (auto it = entries_.lower_bound(ObjectRef{kind, {}}); it != entries_.end() && it->first.kind == kind; ++it)
    if (it->second.declared) refs.push_back(it->first);
  return refs;
}

std::vector<ObjectRef> ClusterObjects::naming(const ObjectRef& named) const {
  std::lock_guard lock(mutex_);
  std::vector<ObjectRef> refs;
  auto [first, last] = namedByIndex_.equal_range(hashOfRef(named));
  for (auto it = first; it != last; ++it) {
    const Node* naming = it->second;
    if (!naming->second.declared) continue;
    auto names = namedBy(*naming->second.declared);
    if (std::find(names.begin(), names.end(), named) != names.end()) refs.push_back(naming->first);
  }
  return sortedOnce(std::move(refs));
}

DeclarationSet ClusterObjects::snapshot(const std::vector<Kind>& kinds) const {
  DeclarationSet set;
  std::lock_guard lock(mutex_);
  for (const auto& [ref, entry] : entries_) {
    if (!entry.declared || std::find(kinds.begin(), kinds.end(), ref.kind) == kinds.end()) continue;
    copyInto(*entry.declared, set);
  }
  return set;
}

}  // namespace revoca::kubernetes
