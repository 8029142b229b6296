#include "kubernetes/leader_election.h"

#include <unistd.h>

#include <random>

#include <spdlog/spdlog.h>

#include "kubernetes/names.h"
#include "reconcilers/time_format.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

std::string defaultIdentity() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::random_device random;
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", random());
  return std::string(host) + "_" + suffix;
}

}  // namespace

std::string formatMicroTime(TimePoint time) {
  std::string seconds = formatTimestamp(time);  // ...T01:02:03Z
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count() % 1000000;
  if (micros < 0) micros += 1000000;
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%06lld", static_cast<long long>(micros));
  return seconds.substr(0, seconds.size() - 1) + fraction + "Z";
}

LeaderElector::LeaderElector(kube::ApiClient& api, const Clock& clock, LeaderElectionOptions options,
                             LeaderCallbacks callbacks)
    : api_(api), clock_(clock), options_(std::move(options)), callbacks_(std::move(callbacks)) {
  if (options_.identity.empty()) options_.identity = defaultIdentity();
}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

json LeaderElector::leaseSpec(const json& previous, bool newHolder) const {
  std::string now = formatMicroTime(clock_.now());
  json spec = previous.is_object() ? previous : json::object();
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = options_.leaseDuration.count();
  spec["renewTime"] = now;
  if (newHolder) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + (previous.is_object() ? 1 : 0);
  }
  return spec;
}

bool LeaderElector::tryAcquireOrRenew() {
  auto ref = leases(options_.leaseNamespace, options_.leaseName);
  auto current = api_.get(ref);
  if (!current.ok()) {
    if (current.error.status != 404) {
      spdlog::debug("leader election: reading Lease {}/{}: {}", options_.leaseNamespace, options_.leaseName,
                    current.error.message);
      return false;
    }
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.leaseName}, {"namespace", options_.leaseNamespace}}},
                  {"spec", leaseSpec(nullptr, true)}};
    auto created = api_.create(leases(options_.leaseNamespace), lease);
    if (!created.ok() && created.error.status != 409)
      spdlog::warn("leader election: creating Lease {}/{}: {}", options_.leaseNamespace, options_.leaseName,
                   created.error.message);
    return created.ok();
  }

  json lease = std::move(*current.value);
  json spec = lease.value("spec", json::object());
  TimePoint now = clock_.now();
  if (spec != observedRecord_) {
    observedRecord_ = spec;
    observedTime_ = now;
  }
  std::string holder = spec.value("holderIdentity", "");
  bool ours = holder == options_.identity;
  if (!holder.empty() && !ours) {
    auto duration = Seconds(spec.value("leaseDurationSeconds", static_cast<std::int64_t>(options_.leaseDuration.count())));
    if (observedTime_ + duration > now) return false;  // held, and renewed recently enough
    spdlog::info("leader election: Lease {}/{} held by {} expired; taking it", options_.leaseNamespace,
                 options_.leaseName, holder);
  }
  lease["spec"] = leaseSpec(spec, !ours);
  auto updated = api_.update(ref, lease);
  if (!updated.ok()) {
    if (updated.error.status != 409)
      spdlog::debug("leader election: updating Lease {}/{}: {}", options_.leaseNamespace, options_.leaseName,
                    updated.error.message);
    return false;
  }
  observedRecord_ = (*updated.value).value("spec", json::object());
  observedTime_ = now;
  return true;
}

void LeaderElector::release() {
  auto ref = leases(options_.leaseNamespace, options_.leaseName);
  auto current = api_.get(ref);
  if (!current.ok() || (*current.value)["spec"].value("holderIdentity", "") != options_.identity) return;
  json lease = std::move(*current.value);
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = formatMicroTime(clock_.now());
  if (auto released = api_.update(ref, lease); !released.ok())
    spdlog::debug("leader election: releasing Lease: {}", released.error.message);
}

void LeaderElector::run() {
  TimePoint lastRenew{};
  auto sleep = [&](std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, delay, [&] { return stopping_; });
  };
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    bool held = tryAcquireOrRenew();
    TimePoint now = clock_.now();
    if (held) {
      lastRenew = now;
      if (!leading_.exchange(true)) {
        spdlog::info("leader election: {} leads (Lease {}/{})", options_.identity, options_.leaseNamespace,
                     options_.leaseName);
        if (callbacks_.onStartedLeading) callbacks_.onStartedLeading();
      }
    } else if (leading_ && now - lastRenew > options_.renewDeadline) {
      leading_ = false;
      spdlog::warn("leader election: {} could not renew the Lease for {} s; no longer leading", options_.identity,
                   options_.renewDeadline.count());
      if (callbacks_.onStoppedLeading) callbacks_.onStoppedLeading();
    }
    if (!sleep(options_.retryPeriod)) break;
  }
  if (leading_.exchange(false)) {
    release();
    if (callbacks_.onStoppedLeading) callbacks_.onStoppedLeading();
  }
}

}  // namespace revoca::kubernetes
