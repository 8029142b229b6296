#include "kubernetes/cluster_objects.h"

#include <array>
#include <type_traits>

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

// Calls visit(vector) for each kind's vector of `set`, in a fixed order:
// a kind is its place in that order.
template <typename Visit>
void eachKind(DeclarationSet& set, Visit&& visit) {
  visit(set.authorities);
  visit(set.vaults);
  visit(set.vaultSecrets);
  visit(set.revocations);
  visit(set.emqxDeployments);
}

// Moves the one declaration and the errors `where` points at out of `from`.
DeclarationSet takeOut(DeclarationSet& from, const DeclarationPlace& where) {
  DeclarationSet one;
  int kind = 0;
  eachKind(from, [&](auto& source) {
    if (kind++ != where.kind) return;
    eachKind(one, [&](auto& target) {
      if constexpr (std::is_same_v<decltype(target), decltype(source)>) target.push_back(std::move(source[where.at]));
    });
  });
  for (std::size_t i = 0; i < where.errors; ++i) one.errors.push_back(std::move(from.errors[where.firstError + i]));
  return one;
}

// Moves `one` (an object's declaration and errors) to the end of `all` and
// says where it went.
void append(DeclarationSet&& one, DeclarationSet& all, DeclarationPlace& where) {
  int kind = 0;
  eachKind(all, [&](auto& target) {
    eachKind(one, [&](auto& source) {
      if constexpr (std::is_same_v<decltype(target), decltype(source)>) {
        if (!source.empty()) {
          where.kind = kind;
          where.at = target.size();
        }
        for (auto& object : source) target.push_back(std::move(object));
      }
    });
    ++kind;
  });
  where.firstError = all.errors.size();
  where.errors = one.errors.size();
  for (auto& error : one.errors) all.errors.push_back(std::move(error));
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

const DeclarationSet& ClusterObjects::declarations() {
  std::lock_guard lock(mutex_);
  DeclarationSet previous = std::move(all_);
  all_ = {};
  // In key order, as before: each object's declaration moved from the
  // previous set if its resourceVersion is the same, else converted again.
  std::map<std::string, std::pair<std::string, DeclarationSet>> current;  // key -> version, declaration
  for (const auto& [plural, informer] : informers_) {
    // Changed objects are decoded after the visit, which holds the cache's lock.
    std::vector<std::string> changed;
    informer->forEachVersion([&](const std::string& objectKey, const std::string& version) {
      std::string key = plural + "/" + objectKey;
      auto known = converted_.find(key);
      if (known != converted_.end() && known->second.resourceVersion == version)
        current[key] = {version, takeOut(previous, known->second)};
      else
        changed.push_back(objectKey);
    });
    for (const auto& objectKey : changed) {
      auto object = informer->get(objectKey);
      if (!object) continue;  // deleted meanwhile
      const auto& metadata = (*object)["metadata"];
      auto& [version, declaration] = current[plural + "/" + objectKey];
      version = metadata.value("resourceVersion", "");
      // On its way out: nothing to reconcile.
      if (!metadata.contains("deletionTimestamp")) appendDeclaration(*object, declaration);
    }
  }
  previous = {};
  converted_.clear();  // deleted objects drop out
  // Sized once: growing by doubling would hold two copies of 10,000 objects' structs at its peak.
  std::array<std::size_t, 5> sizes{};
  for (auto& [key, entry] : current) {
    int kind = 0;
    eachKind(entry.second, [&](auto& objects) { sizes[kind++] += objects.size(); });
  }
  int kind = 0;
  eachKind(all_, [&](auto& objects) { objects.reserve(sizes[kind++]); });
  for (auto& [key, entry] : current) {
    DeclarationPlace& where = converted_[key];
    where.resourceVersion = std::move(entry.first);
    append(std::move(entry.second), all_, where);
  }
  return all_;
}

}  // namespace revoca::kubernetes
