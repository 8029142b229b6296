#include "kubernetes/leader_election.h"

#include <unistd.h>

#include <cstdio>
#include <random>

#include <spdlog/spdlog.h>

#include "kubernetes/names.h"
#include "reconcilers/time_format.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

std::string defaultIdentity() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || !*host) std::snprintf(host, sizeof host, "revoca");
  std::random_device random;
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(random()));
  return std::string(host) + "_" + suffix;
}

std::string stringOf(const json& object, const char* name) {
  if (!object.is_object()) return "";
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::int64_t integerOf(const json& object, const char* name, std::int64_t fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(name);
  return it != object.end() && it->is_number_integer() ? it->get<std::int64_t>() : fallback;
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

LeaderElector::LeaderElector(kubeclient::ApiClient& api, const Clock& clock, LeaderElectionOptions options,
                             LeaderCallbacks callbacks)
    : api_(api), clock_(clock), options_(std::move(options)), callbacks_(std::move(callbacks)) {
  if (options_.identity.empty()) options_.identity = defaultIdentity();
  if (options_.renewDeadline >= options_.leaseDuration)
    spdlog::warn("leader election: the renew deadline ({} ms) should be shorter than the lease duration ({} ms)",
                 options_.renewDeadline.count(), options_.leaseDuration.count());
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
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) return;  // from a callback: run() ends by itself
    thread_.join();
  } else if (leading_) {
    stopLeading(options_.releaseOnStop);  // driven by tick() without a thread
  }
}

bool LeaderElector::isLeader() const {
  return leading_.load() && clock_.now() - lastRenew_.load() < options_.renewDeadline;
}

void LeaderElector::logFailure(const std::string& what, const kubeclient::ApiError& error) {
  std::string line = what + ": " + error.message;
  // Every retryPeriod: a person needs the first, not the hundredth (a 403 means nobody ever leads).
  if (line != lastFailure_) spdlog::warn("leader election: {}", line);
  else spdlog::debug("leader election: {}", line);
  lastFailure_ = line;
}

json LeaderElector::leaseSpec(const json& previous) const {
  std::string now = formatMicroTime(clock_.now());
  auto whole = std::chrono::ceil<std::chrono::seconds>(options_.leaseDuration).count();
  json spec = previous.is_object() ? previous : json::object();
  bool newHolder = stringOf(previous, "holderIdentity") != options_.identity;
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = std::max<std::int64_t>(whole, 1);
  spec["renewTime"] = now;
  if (newHolder) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = previous.is_object() ? integerOf(previous, "leaseTransitions", 0) + 1 : 0;
  }
  return spec;
}

bool LeaderElector::tryAcquireOrRenew() {
  heldByOther_ = false;
  auto ref = leases(options_.leaseNamespace, options_.leaseName);
  std::string where = "Lease " + options_.leaseNamespace + "/" + options_.leaseName;
  auto current = api_.get(ref);
  TimePoint now = clock_.now();
  if (!current.ok()) {
    if (current.error.status != 404) {
      logFailure("reading " + where, current.error);
      return false;
    }
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.leaseName}, {"namespace", options_.leaseNamespace}}},
                  {"spec", leaseSpec(nullptr)}};
    auto created = api_.create(leases(options_.leaseNamespace), lease);
    if (!created.ok()) {
      if (created.error.status == 409) spdlog::debug("leader election: another replica created {} first", where);
      else logFailure("creating " + where, created.error);
      return false;
    }
    observedRecord_ = created.value->value("spec", json::object());
    observedTime_ = now;
    lastRenew_ = now;
    lastFailure_.clear();
    return true;
  }

  json lease = std::move(*current.value);
  json spec = lease.contains("spec") && lease["spec"].is_object() ? lease["spec"] : json::object();
  // Expiry is judged from when we saw the record change, on our clock: the
  // holder's renewTime comes from a clock we cannot trust.
  if (spec != observedRecord_) {
    observedRecord_ = spec;
    observedTime_ = now;
  }
  std::string holder = stringOf(spec, "holderIdentity");
  if (!holder.empty() && holder != options_.identity) {
    auto duration = std::chrono::seconds(
        integerOf(spec, "leaseDurationSeconds", std::chrono::ceil<std::chrono::seconds>(options_.leaseDuration).count()));
    if (observedTime_ + duration > now) {
      heldByOther_ = true;
      lastFailure_.clear();
      return false;
    }
    spdlog::info("leader election: {} held by {} was not renewed for {} s; taking it", where, holder,
                 duration.count());
  }
  lease["spec"] = leaseSpec(spec);
  auto updated = api_.update(ref, lease);
  if (!updated.ok()) {
    if (updated.error.status == 409) spdlog::debug("leader election: another replica wrote {} first", where);
    else logFailure("updating " + where, updated.error);
    return false;
  }
  observedRecord_ = updated.value->value("spec", json::object());
  observedTime_ = now;
  lastRenew_ = now;
  lastFailure_.clear();
  return true;
}

void LeaderElector::tick() {
  bool held = tryAcquireOrRenew();
  if (held) {
    if (!leading_) startLeading();
    return;
  }
  if (!leading_) return;
  if (heldByOther_) {
    spdlog::warn("leader election: {} sees the Lease held by {}; no longer leading", options_.identity,
                 stringOf(observedRecord_, "holderIdentity"));
    stopLeading(false);
  } else if (clock_.now() - lastRenew_.load() >= options_.renewDeadline) {
    spdlog::warn("leader election: {} could not renew the Lease for {} ms; no longer leading", options_.identity,
                 options_.renewDeadline.count());
    stopLeading(false);
  }
}

void LeaderElector::startLeading() {
  leading_ = true;
  spdlog::info("leader election: {} leads (Lease {}/{})", options_.identity, options_.leaseNamespace,
               options_.leaseName);
  if (callbacks_.onStartedLeading) callbacks_.onStartedLeading();
}

void LeaderElector::stopLeading(bool releaseLease) {
  leading_ = false;
  // The callback first: this process stops acting as leader before a successor may start.
  if (callbacks_.onStoppedLeading) callbacks_.onStoppedLeading();
  if (releaseLease) release();
}

void LeaderElector::release() {
  auto ref = leases(options_.leaseNamespace, options_.leaseName);
  auto current = api_.get(ref);
  if (!current.ok()) {
    spdlog::debug("leader election: releasing the Lease: {}", current.error.message);
    return;
  }
  json lease = std::move(*current.value);
  if (!lease.contains("spec") || stringOf(lease["spec"], "holderIdentity") != options_.identity) return;
  std::string now = formatMicroTime(clock_.now());
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["acquireTime"] = now;
  lease["spec"]["renewTime"] = now;
  if (auto released = api_.update(ref, lease); !released.ok())
    spdlog::debug("leader election: releasing the Lease: {}", released.error.message);
  else
    spdlog::info("leader election: {} released Lease {}/{}", options_.identity, options_.leaseNamespace,
                 options_.leaseName);
}

std::chrono::milliseconds LeaderElector::nextDelay() const {
  if (leading_) return options_.retryPeriod;
  // Jitter, so replicas that started together do not ask together; smaller
  // than client-go's (factor 1.2), so a released Lease is taken soon.
  thread_local std::mt19937 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 0.2);
  return options_.retryPeriod +
         std::chrono::milliseconds(static_cast<std::int64_t>(options_.retryPeriod.count() * jitter(random)));
}

void LeaderElector::run() {
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    tick();
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, nextDelay(), [&] { return stopping_; })) break;
  }
  if (leading_) stopLeading(options_.releaseOnStop);
}

}  // namespace revoca::kubernetes
