#include "kubernetes/cluster_objects.h"

#include "kubernetes/names.h"
#include "kubernetes/object_declarations.h"

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

void appendAll(DeclarationSet& from, DeclarationSet& to) {
  auto move = [](auto& source, auto& target) {
    target.insert(target.end(), source.begin(), source.end());
  };
  move(from.authorities, to.authorities);
  move(from.vaults, to.vaults);
  move(from.vaultSecrets, to.vaultSecrets);
  move(from.revocations, to.revocations);
  move(from.emqxDeployments, to.emqxDeployments);
  move(from.errors, to.errors);
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

// State Secrets are watched only to hear that they changed: the store reads
// their data itself, so the cache keeps their metadata alone.
void trimStateSecret(nlohmann::json& object) {
  object.erase("data");
  trimDeclaration(object);
}

}  // namespace

const std::vector<std::string>& revocaPlurals() {
  static const std::vector<std::string> plurals = {"certificateauthorities", "certificaterevocations", "vaults",
                                                   "vaultsecrets", "emqxdeployments"};
  return plurals;
}

std::string pluralOfKind(const std::string& kind) {
  static const std::map<std::string, std::string> plurals = {
      {"CertificateAuthority", "certificateauthorities"}, {"CertificateRevocation", "certificaterevocations"},
      {"Vault", "vaults"}, {"VaultSecret", "vaultsecrets"}, {"EmqxDeployment", "emqxdeployments"}};
  auto it = plurals.find(kind);
  return it == plurals.end() ? "" : it->second;
}

ClusterObjects::ClusterObjects(kube::ApiClient& client, const Clock& clock, const std::vector<std::string>& namespaces,
                               std::function<void(Change)> onChange, kube::InformerOptions options) {
  options.transform = trimDeclaration;
  kube::InformerHandlers declarationHandlers{
      [onChange](const std::string&, const nlohmann::json&) { onChange(Change::kDeclarations); },
      [onChange](const std::string&, const nlohmann::json& before, const nlohmann::json& after) {
        if (specChanged(before, after)) onChange(Change::kDeclarations);
      },
      [onChange](const std::string&, const nlohmann::json&) { onChange(Change::kDeclarations); }};
  // "" lists and watches every namespace with one request per kind.
  std::vector<std::string> watched = namespaces.empty() ? std::vector<std::string>{""} : namespaces;
  for (const auto& namespace_ : watched)
    for (const auto& plural : revocaPlurals())
      informers_.emplace_back(plural, std::make_unique<kube::Informer>(client, revocaObjects(plural, namespace_),
                                                                       declarationHandlers, clock, options));

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
  for (auto& [plural, informer] : informers_) informer->start();
  for (auto& informer : stateSecrets_) informer->start();
}

void ClusterObjects::stop() {
  for (auto& [plural, informer] : informers_) informer->stop();
  for (auto& informer : stateSecrets_) informer->stop();
}

bool ClusterObjects::waitForSync(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      deadline - std::chrono::steady_clock::now()));
  };
  for (const auto& [plural, informer] : informers_)
    if (!informer->waitForSync(left())) return false;
  for (const auto& informer : stateSecrets_)
    if (!informer->waitForSync(left())) return false;
  return true;
}

std::optional<nlohmann::json> ClusterObjects::get(const std::string& plural, const std::string& namespace_,
                                                  const std::string& name) const {
  for (const auto& [known, informer] : informers_)
    if (known == plural)
      if (auto object = informer->get(namespace_ + "/" + name)) return object;
  return std::nullopt;
}

DeclarationSet ClusterObjects::declarations() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, Converted> current;
  for (const auto& [plural, informer] : informers_) {
    // Unchanged objects keep what they were converted to; only the others
    // are decoded from the cache, after the visit (which holds its lock).
    std::vector<std::string> changed;
    informer->forEachVersion([&](const std::string& objectKey, const std::string& version) {
      std::string key = plural + "/" + objectKey;
      auto known = converted_.find(key);
      if (known != converted_.end() && known->second.resourceVersion == version)
        current[key] = std::move(known->second);
      else
        changed.push_back(objectKey);
    });
    for (const auto& objectKey : changed) {
      auto object = informer->get(objectKey);
      if (!object) continue;  // deleted meanwhile
      const auto& metadata = (*object)["metadata"];
      Converted fresh{metadata.value("resourceVersion", ""), {}};
      // On its way out: nothing to reconcile.
      if (!metadata.contains("deletionTimestamp")) appendDeclaration(*object, fresh.declaration);
      current[plural + "/" + objectKey] = std::move(fresh);
    }
  }
  converted_ = std::move(current);  // deleted objects drop out
  DeclarationSet all;
  for (const auto& [key, entry] : converted_) {
    DeclarationSet copy = entry.declaration;
    appendAll(copy, all);
  }
  return all;
}

}  // namespace revoca::kubernetes
