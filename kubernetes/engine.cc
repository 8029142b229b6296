#include "kubernetes/engine.h"

#include <malloc.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <optional>

#include <spdlog/spdlog.h>

#include "kube/kubeconfig.h"
#include "kube/rest_client.h"
#include "kubernetes/cluster_objects.h"
#include "kubernetes/cluster_output.h"
#include "kubernetes/follower_ports.h"
#include "kubernetes/leader_election.h"
#include "kubernetes/leader_guard.h"
#include "kubernetes/secret_state_store.h"
#include "kubernetes/status_writer.h"
#include "reconcilers/declaration_pass.h"
#include "reconcilers/object_metrics.h"
#include "responder/server.h"
#include "responder/source_with_metrics.h"

namespace revoca {
namespace {

using kubernetes::Change;
using namespace std::chrono_literals;

std::atomic<bool> stopRequested{false};
constexpr int kVaultSecretWorkers = 8;
void requestStop(int) { stopRequested = true; }

Result<kube::ConnectionConfig> connectionConfig(const KubernetesOptions& options) {
  if (options.kubeconfig.empty() && std::getenv("KUBERNETES_SERVICE_HOST")) return kube::loadInClusterConfig();
  return kube::loadKubeconfig(options.kubeconfig, options.context);
}

// Wakes the reconcile loop: informer threads say what changed, the
// elector says when leadership comes or goes.
class Wakeups {
 public:
  void notify(Change change) {
    {
      std::lock_guard lock(mutex_);
      (change == Change::kDeclarations ? declarations_ : state_) = true;
      if (change == Change::kDeclarations) ++waiting_;
    }
    changed_.notify_one();
  }
  // Declaration changes since the last wait(): what /metrics calls the queue.
  std::size_t waiting() {
    std::lock_guard lock(mutex_);
    return waiting_;
  }
  void notifyLeadership() {
    {
      std::lock_guard lock(mutex_);
      leadership_ = true;
    }
    changed_.notify_one();
  }
  struct Pending {
    bool declarations = false, state = false, leadership = false;
  };
  // Waits until something changed or `timeout` passed; a short pause after
  // the first change lets a burst (kubectl apply -f of a folder) settle into one pass.
  Pending wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (changed_.wait_for(lock, timeout, [&] { return declarations_ || state_ || leadership_; })) {
      lock.unlock();
      std::this_thread::sleep_for(50ms);
      lock.lock();
    }
    Pending pending{declarations_, state_, leadership_};
    declarations_ = state_ = leadership_ = false;
    waiting_ = 0;
    return pending;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool declarations_ = false, state_ = false, leadership_ = false;
  std::size_t waiting_ = 0;
};

void logDeclarationErrors(const DeclarationSet& set) {
  for (const auto& error : set.errors) spdlog::debug("declaration refused: {}", error.str());
}

// A follower reconciles only the CAs, read-only: that loads their live
// versions, ledgers and revocations into the registry and signs CRLs.
DeclarationSet authoritiesOnly(const DeclarationSet& all) {
  DeclarationSet set;
  set.authorities = all.authorities;
  return set;
}

}  // namespace

int runKubernetes(const KubernetesOptions& options) {
  auto config = connectionConfig(options);
  if (!config) {
    spdlog::error("{}", config.error().message);
    return 1;
  }
  auto client = kube::makeRestClient(*config);
  if (!client) {
    spdlog::error("{}", client.error().message);
    return 1;
  }
  // Every request verifies the certificate anyway; this says why at once.
  if (auto trusted = kube::checkApiserverCertificate(*config); !trusted) {
    spdlog::error("{}", trusted.error().message);
    return 1;
  }
  kube::ApiClient& api = **client;
  SystemClock clock;
  auto registry = std::make_shared<CaRegistry>(clock);

  kubernetes::DroppingStatus droppedStatus;
  ObjectMetrics metrics(droppedStatus);
  auto source = std::make_shared<responder::SourceWithMetrics>(registry, metrics.pieces());
  auto server = responder::startServer(options.listen, options.responderThreads, source, clock);
  if (!server) {
    spdlog::error("{}", server.error().message);
    return 1;
  }

  Wakeups wakeups;
  kubernetes::ClusterObjects objects(api, clock, options.watchNamespaces, [&](Change change) {
    wakeups.notify(change);
    metrics.setQueueDepth(wakeups.waiting());
  });
  auto lookup = [&](Kind kind, const std::string& ns, const std::string& name) { return objects.get(kind, ns, name); };
  // The elector is made below; until it exists nobody leads. Its client
  // is declared first so that it outlives the elector's thread.
  std::unique_ptr<kube::ApiClient> electionApi;
  std::unique_ptr<kubernetes::LeaderElector> elector;
  kubernetes::LeaderGuardedClient writer(api, [&] { return !options.leaderElection || (elector && elector->isLeader()); });
  kubernetes::SecretStateStore store(writer);
  kubernetes::ClusterOutput output(writer, lookup);
  kubernetes::StatusWriter status(writer, clock, lookup);
  kubernetes::ReadOnlyStateStore readOnlyStore(
      store, [&](const ObjectKey& ca, int version) { return store.recordedCrlStamp(ca, version); });
  kubernetes::DroppingOutput droppedOutput;

  std::atomic<bool> leading{!options.leaderElection};
  if (options.leaderElection) {
    // Each renewal waits at most the renew deadline, as client-go's does, so a
    // leader cut off from the apiserver steps down then, not after the 30 s
    // every other request may take.
    kube::ConnectionConfig electionConfig = *config;
    electionConfig.requestTimeout =
        std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(options.renewDeadline));
    auto electionClient = kube::makeRestClient(electionConfig);
    if (!electionClient) {
      spdlog::error("{}", electionClient.error().message);
      return 1;
    }
    electionApi = std::move(*electionClient);
    kubernetes::LeaderElectionOptions electionOptions;
    electionOptions.leaseNamespace = !options.leaseNamespace.empty() ? options.leaseNamespace
                                     : !config->namespace_.empty()  ? config->namespace_
                                                                    : "default";
    electionOptions.leaseName = options.leaseName;
    if (!options.identity.empty()) electionOptions.identity = options.identity;
    electionOptions.leaseDuration = options.leaseDuration;
    electionOptions.renewDeadline = options.renewDeadline;
    electionOptions.retryPeriod = options.retryPeriod;
    elector = std::make_unique<kubernetes::LeaderElector>(
        *electionApi, clock, electionOptions,
        kubernetes::LeaderCallbacks{[&] {
                                      leading = true;
                                      wakeups.notifyLeadership();
                                    },
                                    [&] {
                                      leading = false;
                                      // Now, not when the loop next rebuilds: a pass whose
                                      // requests hang on a dead connection can take minutes.
                                      metrics.setLeader(false);
                                      wakeups.notifyLeadership();
                                    }});
  }

  std::signal(SIGINT, requestStop);
  std::signal(SIGTERM, requestStop);
  objects.start();
  // The informers retry on their own; a person needs to hear why nothing happens.
  for (int waited = 0; !stopRequested && !objects.waitForSync(500ms); ++waited)
    if (waited == 20)
      spdlog::warn("revoca: still waiting to list revoca's objects and Secrets after 10 s; are the CRDs installed "
                   "(kubectl apply -f crds/) and may this user list them (kubectl auth can-i list vaultsecrets)?");
  if (elector) elector->start();
  spdlog::info("revoca: watching {} through {}, responder on port {}",
               options.watchNamespaces.empty() ? "every namespace"
                                                 : fmt::format("namespaces {}", fmt::join(options.watchNamespaces, ",")),
               config->server, (*server)->port());

  // Rebuilt on each change of role: a new leader must not trust what it
  // cached while another replica wrote.
  std::unique_ptr<AuthorityService> authorities;
  std::unique_ptr<DeclarationPass> pass;
  bool passIsLeader = false;
  TimePoint wakeup = clock.now();
  bool first = true;
  bool reloadPending = false;
  TimePoint nextResync = clock.now() + Seconds(options.resyncPeriod);
  TimePoint nextReload = clock.now();
  while (!stopRequested) {
    auto pending = wakeups.wait(first ? 0ms : 500ms);
    metrics.setQueueDepth(0);
    // isLeader() too: the elector calls back only once a renewal returns,
    // and a request on a dead connection may hang for its 30 s timeout while
    // another replica takes the Lease after leaseDuration (two leaders).
    bool leader = leading.load() && (!elector || elector->isLeader());
    bool roleChanged = first || pending.leadership || leader != passIsLeader;
    // A follower starts over on every state change: it cached nothing it may keep.
    bool rebuild = roleChanged || (!leader && pending.state);
    // The leader's own writes come back as state changes too: re-reading
    // the ledgers for them is wasted, so it looks at most every few seconds.
    if (leader && pending.state) reloadPending = true;
    if (!rebuild && reloadPending && clock.now() >= nextReload) {
      reloadPending = false;
      nextReload = clock.now() + Seconds(3);
      store.forgetHistory();
      if (auto reloaded = authorities->reloadHistory(); !reloaded)
        spdlog::warn("revoca: re-reading CA state: {}", reloaded.error().message);
    }
    // A resync applies every output and status again, as controller-runtime's
    // SyncPeriod does: an output someone deleted or edited comes back.
    bool resync = leader && clock.now() >= nextResync;
    if (!rebuild && !resync && !pending.declarations && clock.now() < wakeup) continue;
    first = false;
    if (resync || roleChanged) {
      nextResync = clock.now() + Seconds(options.resyncPeriod);
      output.forget();
      status.forget();
    }
    if (rebuild) {
      store.forget();
      passIsLeader = leader;
      StateStore& passStore = leader ? static_cast<StateStore&>(store) : readOnlyStore;
      OutputSink& passOutput = leader ? static_cast<OutputSink&>(output) : droppedOutput;
      metrics.forwardTo(leader ? static_cast<StatusSink&>(status) : droppedStatus);
      if (options.leaderElection) metrics.setLeader(leader);
      authorities = std::make_unique<AuthorityService>(passStore, *registry, clock);
      // Each VaultSecret waits on the apiserver for most of its reconcile:
      // several at once keep it busy (controller-runtime's MaxConcurrentReconciles).
      pass = std::make_unique<DeclarationPass>(
          ReconcileContext{*authorities, passStore, passOutput, clock, kVaultSecretWorkers}, *registry, metrics);
      if (roleChanged) spdlog::info("revoca: {}", leader ? "leading: reconciling and writing" : "following: serving the responder from the leader's state");
    }
    const DeclarationSet& declarations = objects.declarations();
    logDeclarationErrors(declarations);
    // Not `leader ? declarations : authoritiesOnly(...)`: with one operand a
    // temporary, the conditional copies the whole set into another.
    std::optional<DeclarationSet> followed;
    if (!leader) followed = authoritiesOnly(declarations);
    wakeup = metrics.measurePass([&] { return pass->run(followed ? *followed : declarations); });
    // A pass over 10,000 objects frees as much as it allocated: give it back.
    malloc_trim(0);
  }
  spdlog::info("revoca: stopping");
  if (elector) elector->stop();
  objects.stop();
  (*server)->stop();
  return 0;
}

}  // namespace revoca
