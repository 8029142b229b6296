#include "reconcilers/object_metrics.h"

#include <sstream>

#include "declarations/values.h"

namespace revoca {
namespace {

// A fact in RFC 3339 (as formatTimestamp writes it) -> unix seconds.
std::optional<double> unixSeconds(const std::map<std::string, std::string>& facts, const char* name) {
  auto it = facts.find(name);
  if (it == facts.end()) return std::nullopt;
  auto parsed = decl::parseTimestamp(it->second);
  if (!parsed) return std::nullopt;
  return static_cast<double>(toUnixSeconds(*parsed));
}

std::string labelValue(const std::string& value) {
  std::string escaped;
  for (char c : value) {
    if (c == '\\' || c == '"') escaped += '\\';
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped += c;
  }
  return escaped;
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

}  // namespace

void ObjectMetrics::forwardTo(StatusSink& next) {
  std::lock_guard lock(mutex_);
  next_ = &next;
}

void ObjectMetrics::report(const std::string& kind, const ObjectMeta& meta, const ObjectStatus& status) {
  StatusSink* next;
  {
    std::lock_guard lock(mutex_);
    next = next_;
    Series& series = objects_[Key{kind, meta.namespace_, meta.name}];
    series.ready = status.ready;
    series.expiry = unixSeconds(status.facts, "notAfter");
    series.renewal = unixSeconds(status.facts, "renewalTime");
    series.pass = pass_;
    ++reconciles_[{kind, status.ready}];
    if (!status.ready) ++errors_[{kind, status.reason}];
  }
  next->report(kind, meta, status);
}

void ObjectMetrics::passStarted() {
  std::lock_guard lock(mutex_);
  ++pass_;
}

void ObjectMetrics::passFinished(std::chrono::nanoseconds took) {
  std::lock_guard lock(mutex_);
  std::erase_if(objects_, [&](const auto& entry) { return entry.second.pass != pass_; });
  lastPassSeconds_ = std::chrono::duration<double>(took).count();
  passSeconds_ += lastPassSeconds_;
  ++passesFinished_;
}

void ObjectMetrics::setQueueDepth(std::size_t depth) {
  std::lock_guard lock(mutex_);
  queueDepth_ = depth;
}

void ObjectMetrics::setLeader(bool leader) {
  std::lock_guard lock(mutex_);
  leader_ = leader;
}

std::string ObjectMetrics::render() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  auto labels = [](const Key& key) {
    return "{kind=\"" + labelValue(std::get<0>(key)) + "\",namespace=\"" + labelValue(std::get<1>(key)) +
           "\",name=\"" + labelValue(std::get<2>(key)) + "\"}";
  };
  header(out, "revoca_object_ready", "gauge", "1 when the object's Ready condition is True, else 0.");
  for (const auto& [key, series] : objects_) out << "revoca_object_ready" << labels(key) << ' ' << series.ready << '\n';
  header(out, "revoca_certificate_expiration_timestamp_seconds", "gauge",
         "notAfter of the object's current certificate (CA or VaultSecret), in unix seconds.");
  for (const auto& [key, series] : objects_)
    if (series.expiry)
      out << "revoca_certificate_expiration_timestamp_seconds" << labels(key) << ' '
          << static_cast<long long>(*series.expiry) << '\n';
  header(out, "revoca_certificate_renewal_timestamp_seconds", "gauge",
         "When revoca renews the object's current certificate, in unix seconds.");
  for (const auto& [key, series] : objects_)
    if (series.renewal)
      out << "revoca_certificate_renewal_timestamp_seconds" << labels(key) << ' '
          << static_cast<long long>(*series.renewal) << '\n';
  header(out, "revoca_reconcile_total", "counter", "Objects reconciled, by kind and whether they ended Ready.");
  for (const auto& [key, count] : reconciles_)
    out << "revoca_reconcile_total{kind=\"" << labelValue(key.first) << "\",result=\""
        << (key.second ? "ready" : "not_ready") << "\"} " << count << '\n';
  header(out, "revoca_reconcile_errors_total", "counter", "Reconciles that left the object not Ready, by reason.");
  for (const auto& [key, count] : errors_)
    out << "revoca_reconcile_errors_total{kind=\"" << labelValue(key.first) << "\",reason=\""
        << labelValue(key.second) << "\"} " << count << '\n';
  header(out, "revoca_reconcile_pass_duration_seconds", "summary",
         "Time of a pass over every declaration, in dependency order.");
  out << "revoca_reconcile_pass_duration_seconds_sum " << passSeconds_ << '\n'
      << "revoca_reconcile_pass_duration_seconds_count " << passesFinished_ << '\n';
  header(out, "revoca_workqueue_depth", "gauge", "Changes seen and not yet reconciled.");
  out << "revoca_workqueue_depth " << queueDepth_ << '\n';
  if (leader_) {
    header(out, "revoca_leader", "gauge", "1 on the replica holding the Lease (it reconciles and writes).");
    out << "revoca_leader " << *leader_ << '\n';
  }
  return out.str();
}

}  // namespace revoca
