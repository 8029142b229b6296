#include "kubernetes/engine.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/shutdown.h"
#include "kubeclient/kubeconfig.h"
#include "kubeclient/rest_client.h"
#include "kubernetes/cluster_objects.h"
#include "kubernetes/cluster_output.h"
#include "kubernetes/controllers.h"
#include "kubernetes/follower_ports.h"
#include "kubernetes/leader_election.h"
#include "kubernetes/leader_guard.h"
#include "kubernetes/secret_state_store.h"
#include "kubernetes/status_writer.h"
#include "reconcilers/declaration_pass.h"
#include "metrics/object_metrics.h"
#include "responder/server.h"
#include "responder/source_with_metrics.h"

namespace revoca {
namespace {

using kubernetes::Change;
using namespace std::chrono_literals;

// Each VaultSecret waits on the apiserver for most of its reconcile:
// several at once keep it busy (controller-runtime's MaxConcurrentReconciles).
constexpr int kVaultSecretWorkers = 8;

Result<kubeclient::ConnectionConfig> connectionConfig(const KubernetesOptions& options) {
  if (options.kubeconfig.empty() && std::getenv("KUBERNETES_SERVICE_HOST")) return kubeclient::loadInClusterConfig();
  return kubeclient::loadKubeconfig(options.kubeconfig, options.context);
}

// The VaultSecrets' records and outputs, listed ahead, each on a thread of
// its own: at a start with thousands they are the longest waits, and the
// reconciles would list them one after the other, the records only once
// the CAs are loaded and the outputs only once the records are in.
class ListsAhead {
 public:
  ~ListsAhead() { join(); }
  void start(kubernetes::SecretStateStore* store, kubernetes::ClusterOutput& output,
             const kubernetes::ClusterObjects& objects) {
    join();
    std::set<std::string> namespaces;
    for (const auto& secret : objects.objectsOf(Kind::VaultSecret)) namespaces.insert(secret.key.namespace_);
    if (namespaces.empty()) return;
    if (store)
      threads_.emplace_back([store, namespaces] {
        for (const auto& namespace_ : namespaces) store->listRecordsAhead(namespace_);
      });
    threads_.emplace_back([&output, namespaces] {
      for (const auto& namespace_ : namespaces) output.listAhead(namespace_);
    });
  }
  // Before the store or the outputs forget what they listed.
  void join() {
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  std::vector<std::thread> threads_;
};

// Wakes the loop: state Secrets that changed, declarations (a follower
// loads the CAs again), leadership coming or going. A leader's controllers
// hear of each declaration themselves.
class Wakeups {
 public:
  void notify(Change change) {
    {
      std::lock_guard lock(mutex_);
      (change == Change::kDeclarations ? declarations_ : state_) = true;
    }
    changed_.notify_one();
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
  // the first change lets a burst (kubectl apply -f of a folder) settle.
  Pending wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (changed_.wait_for(lock, timeout, [&] { return declarations_ || state_ || leadership_; })) {
      lock.unlock();
      std::this_thread::sleep_for(50ms);
      lock.lock();
    }
    Pending pending{declarations_, state_, leadership_};
    declarations_ = state_ = leadership_ = false;
    return pending;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool declarations_ = false, state_ = false, leadership_ = false;
};

// The leader's controllers, reached from the informers' threads and /metrics.
class CurrentControllers {
 public:
  void declarationChanged(const ObjectRef& object) {
    std::lock_guard lock(mutex_);
    if (controllers_) controllers_->declarationChanged(object);
  }
  void render(std::string& out) {
    std::lock_guard lock(mutex_);
    if (controllers_) controllers_->renderMetrics(out);
  }
  std::shared_ptr<kubernetes::Controllers> get() {
    std::lock_guard lock(mutex_);
    return controllers_;
  }
  // Swaps in `next`; returns the ones it replaces, for the caller to stop
  // outside the lock (their workers report to the metrics, which may wait here).
  std::shared_ptr<kubernetes::Controllers> replace(std::shared_ptr<kubernetes::Controllers> next) {
    std::lock_guard lock(mutex_);
    return std::exchange(controllers_, std::move(next));
  }

 private:
  std::mutex mutex_;
  std::shared_ptr<kubernetes::Controllers> controllers_;
};

void logDeclarationErrors(const DeclarationSet& set) {
  for (const auto& error : set.errors) spdlog::debug("declaration refused: {}", error.str());
}


}  // namespace

int runKubernetes(const KubernetesOptions& options) {
  auto config = connectionConfig(options);
  if (!config) {
    spdlog::error("{}", config.error().message);
    return 1;
  }
  auto client = kubeclient::makeRestClient(*config);
  if (!client) {
    spdlog::error("{}", client.error().message);
    return 1;
  }
  // Every request verifies the certificate anyway; this says why at once.
  if (auto trusted = kubeclient::checkApiserverCertificate(*config); !trusted) {
    spdlog::error("{}", trusted.error().message);
    return 1;
  }
  kubeclient::ApiClient& api = **client;
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
  CurrentControllers controllers;
  metrics.setMoreSeries([&](std::string& out) { controllers.render(out); });
  kubernetes::ClusterObjects objects(api, clock, options.watchNamespaces,
                                     [&](Change change, const ObjectRef* changed) {
                                       if (changed) controllers.declarationChanged(*changed);
                                       wakeups.notify(change);
                                     });
  auto lookup = [&](Kind kind, const std::string& ns, const std::string& name) { return objects.get(kind, ns, name); };
  // The elector is made below; until it exists nobody leads. Its client
  // is declared first so that it outlives the elector's thread.
  std::unique_ptr<kubeclient::ApiClient> electionApi;
  std::unique_ptr<kubernetes::LeaderElector> elector;
  kubernetes::LeaderGuardedClient writer(api, [&] { return !options.leaderElection || (elector && elector->isLeader()); });
  kubernetes::SecretStateStore store(writer);
  kubernetes::ClusterOutput output(writer, lookup);
  kubernetes::StatusWriter status(writer, clock, lookup);
  kubernetes::ReadOnlyStateStore readOnlyStore(
      store, [&](const ObjectKey& ca, int version) { return store.recordedCrlStamp(ca, version); });
  kubernetes::DroppingOutput droppedOutput;

  std::atomic<bool> leading{!options.leaderElection};
  std::atomic<std::uint64_t> terms{0};  // leadership terms begun, so a list knows the term it was made in
  if (options.leaderElection) {
    // Each renewal waits at most the renew deadline, as client-go's does, so a
    // leader cut off from the apiserver steps down then, not after the 30 s
    // every other request may take.
    kubeclient::ConnectionConfig electionConfig = *config;
    electionConfig.requestTimeout =
        std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(options.renewDeadline));
    auto electionClient = kubeclient::makeRestClient(electionConfig);
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
                                      ++terms;
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

  ShutdownSequence shutdown(clock, options.shutdownDelay);
  using Phase = ShutdownSequence::Phase;
  // Polled at least every 500 ms: a probe every few seconds finds /readyz failing at its next look.
  auto running = [&] {
    if (shutdown.update(stopSignals()) == Phase::kRunning) return true;
    source->setStopping();
    return false;
  };
  installStopSignals();
  objects.start();
  // The Lease is sought while the informers list, as controller-runtime's
  // manager does: otherwise the first loop below may find the Lease request
  // still in flight and load every CA as a follower, only to load them again
  // as leader.
  if (elector) elector->start();
  auto leadingNow = [&] { return leading.load() && (!elector || elector->isLeader()); };
  // A leader starts the lists of records and outputs (most of what a start
  // reads) once it knows the VaultSecrets' namespaces, beside the other
  // informers' lists; the first loop keeps them if it leads in the same term.
  ListsAhead listsAhead;
  std::optional<std::uint64_t> listedAheadInTerm;
  // The informers retry on their own; a person needs to hear why nothing happens.
  for (int waited = 0; running() && !objects.waitForSync(100ms); ++waited) {
    if (!listedAheadInTerm && leadingNow() && objects.synced(Kind::VaultSecret)) {
      listedAheadInTerm = terms.load();
      listsAhead.start(&store, output, objects);
    }
    if (waited == 100)
      spdlog::warn("revoca: still waiting to list revoca's objects and Secrets after 10 s; are the CRDs installed "
                   "(kubectl apply -f crds/) and may this user list them (kubectl auth can-i list vaultsecrets)?");
  }
  spdlog::info("revoca: watching {} through {}, responder on port {}",
               options.watchNamespaces.empty() ? "every namespace"
                                                 : fmt::format("namespaces {}", fmt::join(options.watchNamespaces, ",")),
               config->server, (*server)->port());

  // Rebuilt on each change of role: a new leader must not trust what it
  // cached while another replica wrote.
  std::unique_ptr<AuthorityService> authorities;
  std::unique_ptr<DeclarationPass> followerPass;
  bool wasLeader = false;
  TimePoint wakeup = clock.now();
  bool first = true;
  bool reloadPending = false;
  TimePoint nextResync = clock.now() + Seconds(options.resyncPeriod);
  TimePoint nextReload = clock.now();
  std::uint64_t trimmedAt = 0;  // reconciles done at the last malloc_trim
  while (running()) {
    auto pending = wakeups.wait(first ? 0ms : 500ms);
    // isLeader() too: the elector calls back only once a renewal returns,
    // and a request on a dead connection may hang for its 30 s timeout while
    // another replica takes the Lease after leaseDuration (two leaders).
    bool leader = leadingNow();
    bool roleChanged = first || pending.leadership || leader != wasLeader;
    first = false;
    if (roleChanged) {
      bool listedThisTerm = leader && listedAheadInTerm == terms.load();
      listedAheadInTerm.reset();
      // Stopped outside CurrentControllers' lock: their workers report to the metrics.
      if (auto previous = controllers.replace(nullptr)) previous->stop();
      wasLeader = leader;
      if (!listedThisTerm) {
        listsAhead.join();
        store.forget();
        output.forget();
      }
      status.forget();
      nextResync = clock.now() + Seconds(options.resyncPeriod);
      metrics.forwardTo(leader ? static_cast<StatusSink&>(status) : droppedStatus);
      if (options.leaderElection) metrics.setLeader(leader);
      authorities = std::make_unique<AuthorityService>(leader ? static_cast<StateStore&>(store) : readOnlyStore,
                                                       *registry, clock);
      followerPass.reset();
      if (leader) {
        auto next = std::make_shared<kubernetes::Controllers>(
            objects, ReconcileContext{*authorities, store, output, clock, kVaultSecretWorkers}, *registry, metrics,
            kubernetes::ControllerOptions{kVaultSecretWorkers});
        controllers.replace(next);
        if (!listedThisTerm) listsAhead.start(&store, output, objects);
        // Once in place: what the informers hear from now on reaches it, and what came before is queued here.
        next->start();
      }
      spdlog::info("revoca: {}",
                   leader ? "leading: reconciling and writing" : "following: serving the responder from the leader's state");
    }

    if (leader) {
      auto current = controllers.get();
      // The leader's own writes come back as state changes too: re-reading
      // the ledgers for them is wasted, so it looks at most every few seconds.
      if (pending.state) reloadPending = true;
      if (reloadPending && clock.now() >= nextReload) {
        reloadPending = false;
        nextReload = clock.now() + Seconds(3);
        current->whileQuiet([&] {
          store.forgetHistory();
          if (auto reloaded = authorities->reloadHistory(); !reloaded)
            spdlog::warn("revoca: re-reading CA state: {}", reloaded.error().message);
        });
      }
      // A resync applies every output and status again, as controller-runtime's
      // SyncPeriod does: an output someone deleted or edited comes back.
      if (clock.now() >= nextResync) {
        nextResync = clock.now() + Seconds(options.resyncPeriod);
        listsAhead.join();
        output.forget();
        status.forget();
        listsAhead.start(nullptr, output, objects);  // the records stay: one writer, the leader
        current->enqueueAll();
      }
      std::size_t depth = current->depth();
      metrics.setQueueDepth(depth);
      // Once the queues drained after work (a restart, a burst), what it
      // allocated meanwhile goes back to the system.
      if (depth == 0 && current->reconciled() != trimmedAt) {
        trimmedAt = current->reconciled();
        malloc_trim(0);
      }
      continue;
    }

    // A follower starts over on every state change: it cached nothing it may keep.
    if (pending.state || !followerPass) {
      store.forget();
      authorities = std::make_unique<AuthorityService>(readOnlyStore, *registry, clock);
      followerPass = std::make_unique<DeclarationPass>(
          ReconcileContext{*authorities, readOnlyStore, droppedOutput, clock, 1}, *registry, metrics);
    } else if (!pending.declarations && clock.now() < wakeup) {
      continue;
    }
    // A follower reconciles only the CAs, read-only: that loads their live
    // versions, ledgers and revocations into the registry and signs CRLs.
    DeclarationSet authoritiesOnly = objects.snapshot({Kind::CertificateAuthority});
    logDeclarationErrors(authoritiesOnly);
    wakeup = metrics.measurePass([&] { return followerPass->run(authoritiesOnly); });
    metrics.setQueueDepth(0);
    // A pass frees as much as it allocated: give it back.
    malloc_trim(0);
  }
  bool draining = shutdown.phase() == Phase::kDraining;
  if (draining)
    spdlog::info("revoca: draining: /readyz answers 503, the responder answers for {} s more, then stops "
                 "(a second SIGTERM or SIGINT stops at once)",
                 std::chrono::ceil<std::chrono::seconds>(shutdown.remaining()).count());
  else
    spdlog::info("revoca: stopping");
  // Reconciling and the Lease end at once, drain or not: another replica
  // takes over the writing while this one still answers.
  if (auto previous = controllers.replace(nullptr)) previous->stop();
  if (elector) elector->stop();
  objects.stop();
  // After the Lease: a list still running is of no use to anyone now.
  listsAhead.join();
  if (draining) {
    shutdown.waitOutDrain();
    spdlog::info("revoca: drain over, stopping");
  }
  (*server)->stop();
  return 0;
}

}  // namespace revoca
