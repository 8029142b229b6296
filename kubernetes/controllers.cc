#include "kubernetes/controllers.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "core/logging.h"
#include "core/metrics_page.h"
#include "reconcilers/declaration_pass.h"
#include "reconcilers/dependencies.h"

namespace revoca::kubernetes {
namespace {

using std::chrono::milliseconds;

// Reasons that clear up on their own (an apiserver that did not answer, a
// write refused for a while): retried with backoff. Every other reason
// waits for a change to the object or to what it names, which queues it.
bool isTransient(const std::string& reason) {
  static const std::set<std::string> transient = {"IssueFailed",     "IssuerFailed", "PublishFailed",
                                                  "TenantUnavailable", "CaNotReady",  "SerialNotIssued"};
  return transient.count(reason) > 0;
}

// What the objects that name this one read of its outcome, as text: its
// spec too (its generation), since they read its declaration (a Vault's
// deployments). Not the CRL number: a CRL signed again changes nothing for
// a VaultSecret.
class OutcomeText final : public FactVisitor {
 public:
  explicit OutcomeText(std::string text) : text_(std::move(text)) {}
  void text(const char* name, const std::string& value) override { add(name, value); }
  void integer(const char* name, std::int64_t value) override {
    if (std::string_view(name) != "crlNumber") add(name, std::to_string(value));
  }
  void time(const char* name, TimePoint value) override { add(name, std::to_string(toUnixSeconds(value))); }
  const std::string& str() const { return text_; }

 private:
  void add(const char* name, const std::string& value) { text_.append("\n").append(name).append("=").append(value); }
  std::string text_;
};

// The outcome as a digest: one is kept per object.
std::size_t outcomeOf(const ObjectStatus& status) {
  OutcomeText outcome((status.ready ? "ready " : "not-ready ") + status.reason + " " +
                      std::to_string(status.observedGeneration));
  visitFacts(status.facts, outcome);
  return std::hash<std::string>{}(outcome.str());
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// The declaration of `object` as a T, nullptr when there is none; `held`
// keeps it alive while it is read.
template <typename T>
const T* lookUp(const ClusterObjects& objects, const ObjectRef& object, Declared& held) {
  held = objects.declared(object);
  return held ? declarationOf<T>(*held) : nullptr;
}

}  // namespace

std::optional<milliseconds> delayUntil(TimePoint at, TimePoint decidedAt) {
  if (at <= decidedAt) return std::nullopt;
  return std::chrono::ceil<milliseconds>(at - decidedAt);
}

Controllers::Controllers(ClusterObjects& objects, ReconcileContext context, CaRegistry& registry, ObjectMetrics& status,
                         ControllerOptions options)
    : objects_(objects),
      context_(context),
      registry_(registry),
      status_(status),
      options_(options),
      tenants_(context.store, registry) {
  // Real time wakes a worker when a key is due; the poll only matters to a test's clock.
  for (Kind kind : kAllKinds)
    queues_.push_back(Queue{kind,
                            std::make_unique<kubeclient::WorkQueue>(context_.clock, kubeclient::BackoffPolicy{milliseconds(500),
                                                                                                 options_.caInterval},
                                                              milliseconds(1000)),
                            kind == Kind::VaultSecret ? std::max(1, options_.vaultSecretWorkers) : 1});
}

Controllers::~Controllers() { stop(); }

Controllers::Queue& Controllers::queueOf(Kind kind) { return queues_[static_cast<std::size_t>(kind)]; }
const Controllers::Queue& Controllers::queueOf(Kind kind) const { return queues_[static_cast<std::size_t>(kind)]; }

void Controllers::start() {
  enqueueAll();
  // The responder is ready once every CA is loaded: at once when there are none.
  if (objects_.objectsOf(Kind::CertificateAuthority).empty()) registry_.markReady();
  for (auto& queue : queues_)
    for (int i = 0; i < queue.workers; ++i) workers_.emplace_back([this, &queue] { work(queue); });
}

void Controllers::stop() {
  for (auto& queue : queues_) queue.queue->shutDown();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

void Controllers::enqueue(const ObjectRef& object) { queueOf(object.kind).queue->add(object.key.str()); }

void Controllers::declarationChanged(const ObjectRef& object) {
  {
    std::lock_guard lock(mutex_);
    known_[object].edited = true;
  }
  enqueue(object);
}

void Controllers::enqueueAll() {
  for (Kind kind : kAllKinds) enqueueAll(kind);
}

void Controllers::enqueueAll(Kind kind) {
  for (const auto& object : objects_.objectsOf(kind)) enqueue(object);
}

std::size_t Controllers::depth() const {
  std::size_t depth = 0;
  for (const auto& queue : queues_) depth += queue.queue->depth();
  return depth;
}

std::uint64_t Controllers::reconciled() const {
  std::uint64_t done = 0;
  for (const auto& queue : queues_) done += queue.queue->stats().workDurationCount;
  return done;
}

void Controllers::work(Queue& queue) {
  while (auto key = queue.queue->get()) {
    ObjectRef object = ObjectRef::fromKey(queue.kind, *key);
    Next next;
    {
      logging::ObjectScope scope(kindName(object.kind), object.key.namespace_, object.key.name);
      next = reconcile(object);
    }
    if (next.what == Next::kRetry) {
      queue.queue->addRateLimited(*key);
    } else {
      queue.queue->forget(*key);
      if (next.what == Next::kAfter) queue.queue->addAfter(*key, next.after);
    }
    queue.queue->done(*key);
    // Its one worker drained the CAs' queue: every CA there was is loaded (an
    // intermediate waiting for its parent is queued again before the parent is done).
    if (queue.kind == Kind::CertificateAuthority && queue.queue->depth() == 0) registry_.markReady();
  }
}

Controllers::Next Controllers::reconcile(const ObjectRef& object) {
  Declared declared = objects_.declared(object);
  if (!declared) {
    gone(object);
    return {};
  }
  if (!declared->errors.empty()) {
    for (const auto& error : declared->errors) reportRefusal(error, status_);
    ObjectStatus refused;
    refused.reason = "InvalidSpec";
    if (noteOutcome(object, refused).changed)
      for (const auto& dependent : objects_.naming(object)) enqueue(dependent);
    return {};
  }
  switch (object.kind) {
    case Kind::CertificateAuthority:
      return reconcileAuthority(object, *declarationOf<CertificateAuthority>(*declared));
    case Kind::CertificateRevocation:
      return reconcileRevocation(object, *declarationOf<CertificateRevocation>(*declared));
    case Kind::Vault:
      return reconcileVault(object, *declarationOf<Vault>(*declared));
    case Kind::VaultSecret:
      return reconcileVaultSecret(object, *declarationOf<VaultSecret>(*declared));
    case Kind::EmqxDeployment:
      return reconcileEmqx(object, *declarationOf<EmqxDeployment>(*declared));
  }
  return {};
}

bool Controllers::waitsFor(const ObjectRef& dependency) {
  {
    std::lock_guard lock(mutex_);
    if (auto found = known_.find(dependency); found != known_.end() && found->second.outcome) return false;
  }
  return objects_.declared(dependency) != nullptr;
}

Controllers::Next Controllers::finish(const ObjectRef& object, const ObjectMeta& meta, const ObjectStatus& status,
                                      Next next, bool* changed) {
  status_.report(object.kind, meta, status);
  Noted noted = noteOutcome(object, status);
  if (changed) *changed = noted.changed;
  // A first outcome queues the dependents that waited for it or did without
  // it (not Ready); those Ready already read nothing of it (a Vault's first
  // reconcile at a start does not reconcile its VaultSecret twice).
  if (noted.changed)
    for (const auto& dependent : objects_.naming(object))
      if (!noted.first || !knownReady(dependent)) enqueue(dependent);
  if (!status.ready && isTransient(status.reason)) next.what = Next::kRetry;
  return next;
}

Controllers::Noted Controllers::noteOutcome(const ObjectRef& object, const ObjectStatus& status) {
  std::size_t outcome = outcomeOf(status);
  std::lock_guard lock(mutex_);
  Known& known = known_[object];
  // Edited before its first reconcile: a dependent Ready already read the spec before the edit.
  Noted noted{!known.outcome && !known.edited, known.outcome != outcome || known.edited};
  known.outcome = outcome;
  known.edited = false;
  known.ready = status.ready;
  return noted;
}

bool Controllers::knownReady(const ObjectRef& object) {
  std::lock_guard lock(mutex_);
  auto found = known_.find(object);
  return found != known_.end() && found->second.outcome && found->second.ready;
}

void Controllers::gone(const ObjectRef& object) {
  bool known;
  std::vector<std::string> deployments;
  {
    std::lock_guard lock(mutex_);
    auto found = known_.find(object);
    known = found != known_.end() && found->second.outcome;
    if (found != known_.end()) {
      deployments = deploymentsOf(found->second.vaultSeen);
      known_.erase(found);
    }
    if (object.kind == Kind::VaultSecret) notDelivered_.erase(object.key);
  }
  status_.forget(object.kind, object.key);
  if (!known) return;
  for (const auto& dependent : objects_.naming(object)) enqueue(dependent);
  if (object.kind == Kind::VaultSecret) enqueueClaimants(object.key.namespace_, deployments, object.key.name);
}

Controllers::Next Controllers::reconcileAuthority(const ObjectRef& ref, const CertificateAuthority& ca) {
  if (ca.spec.issuingCa) {
    // Up the chain of parents: each must exist, and none may come back.
    std::set<std::string> chain{ca.meta.name};
    std::optional<std::string> parent = ca.spec.issuingCa;
    bool broken = false;
    while (parent && !broken) {
      Declared declared;
      const auto* above = lookUp<CertificateAuthority>(
          objects_, {Kind::CertificateAuthority, {ca.meta.namespace_, *parent}}, declared);
      broken = !above || !chain.insert(*parent).second;
      parent = above ? above->spec.issuingCa : std::nullopt;
    }
    if (broken) return finish(ref, ca.meta, issuerMissingStatus(ca), {});
    // Parents before intermediates: the parent's reconcile queues this one again.
    if (waitsFor({Kind::CertificateAuthority, {ca.meta.namespace_, *ca.spec.issuingCa}})) return {};
  }
  TimePoint now = context_.clock.now();  // before: see delayUntil
  std::unique_lock lock(authorities_);
  ObjectStatus status = reconcileCertificateAuthority(context_, ca, tenants_);
  TimePoint next = now + options_.caInterval;
  if (const ActiveCa* active = context_.authorities.active(ca.key())) next = nextCaChange(*active, now, next);
  lock.unlock();
  return finish(ref, ca.meta, status, {Next::kAfter, delayUntil(next, now).value_or(milliseconds(0))});
}

Controllers::Next Controllers::reconcileRevocation(const ObjectRef& ref, const CertificateRevocation& revocation) {
  if (waitsFor({Kind::CertificateAuthority, {revocation.meta.namespace_, revocation.spec.ca}})) return {};
  std::unique_lock lock(authorities_);
  ObjectStatus status = reconcileCertificateRevocation(context_, revocation);
  lock.unlock();
  return finish(ref, revocation.meta, status, {});
}

Controllers::Next Controllers::reconcileVault(const ObjectRef& ref, const Vault& vault) {
  std::shared_lock lock(authorities_);
  ObjectStatus status = revoca::reconcileVault(context_, vault);
  lock.unlock();
  return finish(ref, vault.meta, status, {});
}

std::string Controllers::deploymentConflict(const VaultSecret& secret, const Vault& vault) {
  // As a whole pass settles claims in name order: a VaultSecret is refused
  // when one named before it takes one of its deployments, and a refused
  // one takes none. Deterministic, so a restart never moves a deployment.
  std::map<std::string, bool> refused;  // memo, by VaultSecret name
  std::function<std::string(const std::string&, const std::vector<std::string>&, int)> conflictOf =
      [&](const std::string& name, const std::vector<std::string>& deployments, int depth) -> std::string {
    for (const auto& deployment : deployments)
      for (const auto& vaultName : objects_.vaultsDistributingTo(secret.meta.namespace_, deployment))
        for (const auto& claimant : objects_.naming({Kind::Vault, {secret.meta.namespace_, vaultName}})) {
          if (claimant.kind != Kind::VaultSecret || claimant.key.name >= name) continue;
          Declared declared;
          const VaultSecret* other = lookUp<VaultSecret>(objects_, claimant, declared);
          if (!other || other->spec.vault != vaultName) continue;
          auto memo = refused.find(claimant.key.name);
          if (memo == refused.end()) {
            Declared vaultDeclared;
            const auto* otherVault =
                lookUp<Vault>(objects_, {Kind::Vault, {secret.meta.namespace_, vaultName}}, vaultDeclared);
            bool isRefused = depth < 64 && otherVault &&
                             !conflictOf(claimant.key.name, otherVault->spec.distributeDeployments, depth + 1).empty();
            memo = refused.emplace(claimant.key.name, isRefused).first;
          }
          if (!memo->second) return deployment + " already receives VaultSecret " + claimant.key.name;
        }
    return "";
  };
  return conflictOf(secret.meta.name, vault.spec.distributeDeployments, 0);
}

void Controllers::enqueueClaimants(const std::string& namespace_, const std::vector<std::string>& deployments,
                                   const std::string& except) {
  for (const auto& deployment : deployments)
    for (const auto& vaultName : objects_.vaultsDistributingTo(namespace_, deployment))
      for (const auto& claimant : objects_.naming({Kind::Vault, {namespace_, vaultName}}))
        if (claimant.kind == Kind::VaultSecret && claimant.key.name != except) enqueue(claimant);
}

Controllers::Next Controllers::reconcileVaultSecret(const ObjectRef& ref, const VaultSecret& secret) {
  if (waitsFor({Kind::CertificateAuthority, {secret.meta.namespace_, secret.spec.autoCert.issuingCa}})) return {};
  Declared vaultDeclared;
  const auto* vault =
      lookUp<Vault>(objects_, {Kind::Vault, {secret.meta.namespace_, secret.spec.vault}}, vaultDeclared);

  std::vector<std::string> deployments = deploymentsOf(vaultDeclared);
  std::vector<std::string> before;
  {
    std::lock_guard lock(mutex_);
    before = deploymentsOf(std::exchange(known_[ref].vaultSeen, vault ? vaultDeclared : nullptr));
  }
  // The other claimants of what it wants, and of what it wanted, look again
  // when its outcome changes: it may have taken a deployment or let one go.
  auto claimantsLookAgain = [&](bool outcomeChanged) {
    std::vector<std::string> affected = deployments;
    for (const auto& deployment : before)
      if (std::find(deployments.begin(), deployments.end(), deployment) == deployments.end())
        affected.push_back(deployment);
    if (outcomeChanged || before != deployments)
      enqueueClaimants(secret.meta.namespace_, affected, secret.meta.name);
  };

  std::string conflict = vault ? deploymentConflict(secret, *vault) : "";
  if (!conflict.empty()) {
    ObjectStatus status = deploymentConflictStatus(secret, conflict);
    {
      std::lock_guard lock(mutex_);
      notDelivered_[secret.key()] = status;
    }
    bool changed = false;
    Next next = finish(ref, secret.meta, status, {}, &changed);
    claimantsLookAgain(changed);
    return next;
  }
  TimePoint now = context_.clock.now();  // before: see delayUntil
  std::shared_lock lock(authorities_);
  auto outcome = revoca::reconcileVaultSecret(context_, secret, vault);
  lock.unlock();
  {
    std::lock_guard guard(mutex_);
    if (outcome.status.ready)
      notDelivered_.erase(secret.key());
    else
      notDelivered_[secret.key()] = outcome.status;
  }
  Next next;
  // Past: it waits for its CA to rotate; the CA's reconcile queues it then.
  if (auto delay = outcome.renewalTime ? delayUntil(*outcome.renewalTime, now) : std::nullopt)
    next = {Next::kAfter, *delay};
  bool changed = false;
  next = finish(ref, secret.meta, outcome.status, next, &changed);
  claimantsLookAgain(changed);
  return next;
}

Controllers::Next Controllers::reconcileEmqx(const ObjectRef& ref, const EmqxDeployment& emqx) {
  ObjectRef secretRef{Kind::VaultSecret, {emqx.meta.namespace_, emqx.spec.secret}};
  if (waitsFor(secretRef)) return {};
  Declared vaultDeclared;
  const auto* vault = lookUp<Vault>(objects_, {Kind::Vault, {emqx.meta.namespace_, emqx.spec.vault}}, vaultDeclared);
  Declared secretDeclared;
  const VaultSecret* secret = lookUp<VaultSecret>(objects_, secretRef, secretDeclared);
  std::optional<ObjectStatus> notDelivered;
  {
    std::lock_guard lock(mutex_);
    if (auto refused = notDelivered_.find(secretRef.key); refused != notDelivered_.end()) notDelivered = refused->second;
  }
  std::shared_lock lock(authorities_);
  ObjectStatus status =
      reconcileEmqxDeployment(context_, emqx, vault, secret, notDelivered ? &*notDelivered : nullptr);
  lock.unlock();
  return finish(ref, emqx.meta, status, {});
}

void Controllers::renderMetrics(std::string& out) const {
  struct Series {
    const char* name;
    const char* type;
    const char* help;
  };
  auto header = [&](const Series& series) { appendMetricHeader(out, series.name, series.type, series.help); };
  std::vector<std::pair<std::string, kubeclient::WorkQueue::Stats>> stats;
  for (const auto& queue : queues_) stats.emplace_back(lowercase(kindName(queue.kind)), queue.queue->stats());
  auto each = [&](const Series& series, auto&& value) {
    header(series);
    for (const auto& [name, of] : stats) out += fmt::format("{}{{name=\"{}\"}} {}\n", series.name, name, value(of));
  };
  each({"workqueue_depth", "gauge", "Current depth of workqueue"}, [](const auto& s) { return s.depth; });
  each({"workqueue_adds_total", "counter", "Total number of adds handled by workqueue"},
       [](const auto& s) { return s.adds; });
  each({"workqueue_retries_total", "counter", "Total number of retries handled by workqueue"},
       [](const auto& s) { return s.retries; });
  each({"workqueue_longest_running_processor_seconds", "gauge",
        "How many seconds has the longest running processor for workqueue been running."},
       [](const auto& s) { return s.longestRunningSeconds; });
  header({"workqueue_work_duration_seconds", "histogram",
          "How long in seconds processing an item from workqueue takes."});
  for (const auto& [name, of] : stats) {
    for (std::size_t i = 0; i < of.workDurationBuckets.size(); ++i)
      out += fmt::format("workqueue_work_duration_seconds_bucket{{name=\"{}\",le=\"{}\"}} {}\n", name,
                         kubeclient::WorkQueue::kDurationBuckets[i], of.workDurationBuckets[i]);
    out += fmt::format("workqueue_work_duration_seconds_bucket{{name=\"{}\",le=\"+Inf\"}} {}\n", name,
                       of.workDurationCount);
    out += fmt::format("workqueue_work_duration_seconds_sum{{name=\"{}\"}} {}\n", name, of.workDurationSum);
    out += fmt::format("workqueue_work_duration_seconds_count{{name=\"{}\"}} {}\n", name, of.workDurationCount);
  }
}

}  // namespace revoca::kubernetes
