#include "reconcilers/declaration_pass.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <tuple>

#include "core/logging.h"
#include "declarations/kind.h"
#include "reconcilers/renewal.h"

namespace revoca {
namespace {

// The objects of one kind, found by namespace and name. A scan for each
// VaultSecret's Vault was 50 million string comparisons a pass at 10,000
// of each.
template <typename T>
class ByName {
 public:
  explicit ByName(const std::vector<T>& objects) {
    sorted_.reserve(objects.size());
    for (const auto& object : objects) sorted_.push_back(&object);
    // Stable: of two with one name, the first declared is found.
    std::stable_sort(sorted_.begin(), sorted_.end(), [](const T* a, const T* b) {
      return std::tie(a->meta.namespace_, a->meta.name) < std::tie(b->meta.namespace_, b->meta.name);
    });
  }
  const T* find(const std::string& namespace_, const std::string& name) const {
    auto found = std::lower_bound(sorted_.begin(), sorted_.end(), std::tie(namespace_, name),
                                  [](const T* object, const auto& key) {
                                    return std::tie(object->meta.namespace_, object->meta.name) < key;
                                  });
    if (found == sorted_.end() || (*found)->meta.namespace_ != namespace_ || (*found)->meta.name != name)
      return nullptr;
    return *found;
  }

 private:
  std::vector<const T*> sorted_;
};

// CRLs and CA rotations are looked at at least this often.
constexpr Seconds kMaxSleep{30};

// Calls work(i) for every i below `count`, on `workers` threads (this one
// among them), each taking the next index as it finishes one.
void forEachInParallel(std::size_t count, int workers, const std::function<void(std::size_t)>& work) {
  std::atomic<std::size_t> next{0};
  auto drain = [&] {
    for (std::size_t i = next++; i < count; i = next++) work(i);
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < std::min<std::size_t>(std::max(workers, 1), count); ++t) threads.emplace_back(drain);
  drain();
  for (auto& thread : threads) thread.join();
}

}  // namespace

void DeclarationPass::reconcileAuthorities(const DeclarationSet& declarations, TimePoint& wakeup) {
  // Parents before intermediates: repeat while some CA's parent became ready.
  std::set<ObjectKey> done;
  bool progress = true;
  while (progress) {
    progress = false;
    for (const auto& ca : declarations.authorities) {
      if (done.count(ca.key())) continue;
      if (ca.spec.issuingCa && !done.count(ObjectKey{ca.meta.namespace_, *ca.spec.issuingCa})) continue;
      done.insert(ca.key());
      progress = true;
      logging::ObjectScope scope(kindName(Kind::CertificateAuthority), ca.meta.namespace_, ca.meta.name);
      ObjectStatus status = reconcileCertificateAuthority(context_, ca, tenants_);
      status_.report(Kind::CertificateAuthority, ca.meta, status);
    }
  }
  for (const auto& ca : declarations.authorities) {
    if (done.count(ca.key())) continue;
    status_.report(Kind::CertificateAuthority, ca.meta, issuerMissingStatus(ca));
  }
  for (const auto& ca : declarations.authorities)
    if (const ActiveCa* active = context_.authorities.active(ca.key()))
      wakeup = std::min(wakeup, nextCaChange(*active, context_.clock.now(), wakeup));
}

void reportRefusal(const DeclarationError& error, StatusSink& status) {
  auto slash = error.object.find('/');
  std::optional<Kind> kind = kindNamed(error.kind);
  if (!kind || slash == std::string::npos) return;
  ObjectMeta meta{error.object.substr(0, slash), error.object.substr(slash + 1), error.source, error.generation};
  logging::ObjectScope scope(error.kind, meta.namespace_, meta.name);
  ObjectStatus refused;
  refused.observedGeneration = error.generation;
  refused.reason = "InvalidSpec";
  refused.message = (error.field.empty() ? "" : error.field + ": ") + error.message;
  status.report(*kind, meta, refused);
}

TimePoint nextCaChange(const ActiveCa& active, TimePoint now, TimePoint latest) {
  TimePoint next = latest;
  TimePoint renewal = caRenewalTime(*active.record.current(), active.spec);
  if (renewal > now) next = std::min(next, renewal);
  // Its status says which version signs: it changes when a new one has waited.
  for (pki::CertType type : {pki::CertType::Client, pki::CertType::Server})
    if (TimePoint change = active.nextSignerChange(type, now); change > now) next = std::min(next, change);
  return next;
}

TimePoint DeclarationPass::run(const DeclarationSet& declarations) {
  TimePoint wakeup = context_.clock.now() + kMaxSleep;
  // A broken declaration is reported on its object; what it issued before stays in place.
  for (const auto& error : declarations.errors) reportRefusal(error, status_);
  reconcileAuthorities(declarations, wakeup);

  for (const auto& revocation : declarations.revocations) {
    logging::ObjectScope scope(kindName(Kind::CertificateRevocation), revocation.meta.namespace_,
                               revocation.meta.name);
    status_.report(Kind::CertificateRevocation, revocation.meta, reconcileCertificateRevocation(context_, revocation));
  }

  for (const auto& vault : declarations.vaults) {
    logging::ObjectScope scope(kindName(Kind::Vault), vault.meta.namespace_, vault.meta.name);
    status_.report(Kind::Vault, vault.meta, reconcileVault(context_, vault));
  }

  // One certificate per deployment directory: a second secret for the same
  // deployment would overwrite the first one's files. Claims are settled
  // first, in order; the secrets that may publish are then independent.
  // Views into `declarations`, which outlive the pass: at 10,000 secrets,
  // copies of the three names were 1.4 MB for each pass.
  std::map<std::pair<std::string_view, std::string_view>, std::string_view> deploymentOwner;
  // The statuses of the VaultSecrets whose files were not delivered, for
  // the EmqxDeployments that name them; the Ready ones are not kept.
  std::map<std::pair<std::string_view, std::string_view>, ObjectStatus> notDelivered;
  std::mutex notDeliveredMutex;
  std::vector<std::pair<const VaultSecret*, const Vault*>> secrets;
  secrets.reserve(declarations.vaultSecrets.size());
  ByName<Vault> vaults(declarations.vaults);
  for (const auto& secret : declarations.vaultSecrets) {
    const Vault* vault = vaults.find(secret.meta.namespace_, secret.spec.vault);
    if (vault) {
      std::string conflict;
      for (const auto& deployment : vault->spec.distributeDeployments) {
        auto owner = deploymentOwner.find(std::pair<std::string_view, std::string_view>{secret.meta.namespace_, deployment});
        if (owner != deploymentOwner.end() && owner->second != secret.meta.name)
          conflict = deployment + " already receives VaultSecret " + std::string(owner->second);
      }
      // A refused secret publishes nowhere, so it claims no deployment.
      if (conflict.empty())
        for (const auto& deployment : vault->spec.distributeDeployments)
          deploymentOwner.emplace(std::pair<std::string_view, std::string_view>{secret.meta.namespace_, deployment},
                                  secret.meta.name);
      if (!conflict.empty()) {
        logging::ObjectScope scope(kindName(Kind::VaultSecret), secret.meta.namespace_, secret.meta.name);
        ObjectStatus status = deploymentConflictStatus(secret, conflict);
        status_.report(Kind::VaultSecret, secret.meta, status);
        notDelivered[{secret.meta.namespace_, secret.meta.name}] = std::move(status);
        continue;
      }
    }
    secrets.emplace_back(&secret, vault);
  }
  std::mutex wakeupMutex;
  forEachInParallel(secrets.size(), context_.vaultSecretWorkers, [&](std::size_t i) {
    const auto& [secret, vault] = secrets[i];
    logging::ObjectScope scope(kindName(Kind::VaultSecret), secret->meta.namespace_, secret->meta.name);
    auto outcome = reconcileVaultSecret(context_, *secret, vault);
    // Past: it waits for its CA to rotate; the regular interval looks again.
    if (outcome.renewalTime && *outcome.renewalTime > context_.clock.now()) {
      std::lock_guard lock(wakeupMutex);
      wakeup = std::min(wakeup, *outcome.renewalTime);
    }
    status_.report(Kind::VaultSecret, secret->meta, outcome.status);
    if (!outcome.status.ready) {
      std::lock_guard lock(notDeliveredMutex);
      notDelivered[{secret->meta.namespace_, secret->meta.name}] = std::move(outcome.status);
    }
  });

  std::optional<ByName<VaultSecret>> vaultSecrets;
  if (!declarations.emqxDeployments.empty()) vaultSecrets.emplace(declarations.vaultSecrets);
  for (const auto& emqx : declarations.emqxDeployments) {
    logging::ObjectScope scope(kindName(Kind::EmqxDeployment), emqx.meta.namespace_, emqx.meta.name);
    const Vault* vault = vaults.find(emqx.meta.namespace_, emqx.spec.vault);
    const VaultSecret* secret = vaultSecrets->find(emqx.meta.namespace_, emqx.spec.secret);
    auto refused = secret ? notDelivered.find({secret->meta.namespace_, secret->meta.name}) : notDelivered.end();
    const ObjectStatus* secretNotReady = refused == notDelivered.end() ? nullptr : &refused->second;
    status_.report(Kind::EmqxDeployment, emqx.meta,
                   reconcileEmqxDeployment(context_, emqx, vault, secret, secretNotReady));
  }
  registry_.markReady();
  return wakeup;
}

}  // namespace revoca
