#pragma once
// One controller per kind, as client-go's: an informer event queues the
// object's key; a worker reconciles that one object against the listers
// (ClusterObjects), then queues it again at its next renewal time;
// failures come back with rate-limited backoff. When an object's outcome
// changes, the objects that name it are queued (a CA its VaultSecrets and
// intermediates, a Vault its VaultSecrets, a VaultSecret its
// EmqxDeployments and the other claimants of its deployments). revoca's
// own writes (status, outputs, state Secrets) queue nothing.
//
// A term's Controllers live while this replica leads: a new leader starts
// from new ones, and queues every object once.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "kubeclient/work_queue.h"
#include "kubernetes/cluster_objects.h"
#include "metrics/object_metrics.h"
#include "reconcilers/reconcilers.h"
#include "reconcilers/tenants.h"
#include "registry/ca_registry.h"

namespace revoca::kubernetes {

struct ControllerOptions {
  int vaultSecretWorkers = 8;  // each waits on the apiserver for most of its reconcile
  // The longest an object waits to be looked at again (CRLs and CA
  // rotations are looked at at least this often).
  Seconds caInterval{30};
};

// How long a key waits to be looked at again at `at`, from `decidedAt`:
// rounded up, so it is never taken before `at` (taken a moment early, the
// reconcile would find nothing due yet). Nothing when `at` is not ahead.
// `decidedAt` is read before the reconcile that returned `at`: a reconcile
// that found it not yet due always finds it ahead.
std::optional<std::chrono::milliseconds> delayUntil(TimePoint at, TimePoint decidedAt);

class Controllers {
 public:
  // Reports go to `status`, which also forgets the series of deleted objects.
  Controllers(ClusterObjects& objects, ReconcileContext context, CaRegistry& registry, ObjectMetrics& status,
              ControllerOptions options = {});
  ~Controllers();  // stops

  // Queues every object, in the order a whole pass took them (CAs first), and starts the workers.
  void start();
  void stop();
  void enqueue(const ObjectRef& object);
  // An informer saw `object`'s spec change (or the object come or go): queued,
  // and its dependents will read it again, Ready or not.
  void declarationChanged(const ObjectRef& object);
  void enqueueAll();
  void enqueueAll(Kind kind);
  // Runs `change` while no CA or revocation is reconciled and no
  // certificate issued (re-reading the CAs' history).
  template <typename Change>
  void whileQuiet(Change&& change) {
    std::unique_lock lock(authorities_);
    change();
  }

  // The queues' series, named as client-go names them (workqueue_*, label name="vaultsecret").
  void renderMetrics(std::string& out) const;
  std::size_t depth() const;  // keys waiting, every queue
  std::uint64_t reconciled() const;  // keys done so far, every queue

 private:
  struct Queue {
    Kind kind;
    std::unique_ptr<kubeclient::WorkQueue> queue;
    int workers = 1;
  };
  Queue& queueOf(Kind kind);
  const Queue& queueOf(Kind kind) const;
  void work(Queue& queue);
  // Reconciles one object; returns what to do with its key next.
  struct Next {
    enum { kNothing, kAfter, kRetry } what = kNothing;
    std::chrono::milliseconds after{0};
  };
  Next reconcile(const ObjectRef& object);
  Next reconcileAuthority(const ObjectRef& ref, const CertificateAuthority& ca);
  Next reconcileRevocation(const ObjectRef& ref, const CertificateRevocation& revocation);
  Next reconcileVault(const ObjectRef& ref, const Vault& vault);
  Next reconcileVaultSecret(const ObjectRef& ref, const VaultSecret& secret);
  Next reconcileEmqx(const ObjectRef& ref, const EmqxDeployment& emqx);
  void gone(const ObjectRef& object);
  // Reports `status`, marks the object reconciled in this term, and queues
  // its dependents when what they read of it changed (or on its first
  // reconcile: they may wait for it).
  // `changed`, if given, says whether the outcome changed.
  Next finish(const ObjectRef& object, const ObjectMeta& meta, const ObjectStatus& status, Next next,
              bool* changed = nullptr);
  struct Noted {
    bool first = false;    // its first outcome in this term
    bool changed = false;  // what dependents read of it changed (or is its first)
  };
  // Records what dependents read of the object.
  Noted noteOutcome(const ObjectRef& object, const ObjectStatus& status);
  // Ready in this term: it found what it names, so a dependency's first
  // outcome tells it nothing new.
  bool knownReady(const ObjectRef& object);
  // True (and the object waits) while `dependency` exists and has not been
  // reconciled in this term: its first reconcile queues the object again.
  bool waitsFor(const ObjectRef& dependency);
  // Why `secret` may not publish to its Vault's deployments (another
  // VaultSecret, first by name, takes them), or "" when it may.
  std::string deploymentConflict(const VaultSecret& secret, const Vault& vault);
  void enqueueClaimants(const std::string& namespace_, const std::vector<std::string>& deployments,
                        const std::string& except);

  ClusterObjects& objects_;
  ReconcileContext context_;
  CaRegistry& registry_;
  ObjectMetrics& status_;
  ControllerOptions options_;
  Tenants tenants_;
  std::vector<Queue> queues_;
  std::vector<std::thread> workers_;
  // CAs and revocations change the AuthorityService's CAs: they run alone;
  // issuing, publishing and rendering (which read them) run side by side.
  std::shared_mutex authorities_;

  std::mutex mutex_;  // guards what follows
  // What this term knows of an object, in one entry (one map node and one
  // copy of its name each, at 10,000 objects).
  struct Known {
    // Reconciled in this term: a digest of what dependents read of it.
    std::optional<std::size_t> outcome;
    bool ready = false;
    bool edited = false;  // its spec changed in this term, since its last reconcile
    // A VaultSecret's: its Vault's declaration when last reconciled (shared
    // with ClusterObjects, not a copy of its deployments' names).
    Declared vaultSeen;
  };
  std::map<ObjectRef, Known> known_;
  std::map<ObjectKey, ObjectStatus> notDelivered_;  // VaultSecrets whose files were not delivered
};

}  // namespace revoca::kubernetes
