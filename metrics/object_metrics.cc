#include "metrics/object_metrics.h"

#include <charconv>
#include <cstdint>
#include <iterator>
#include <optional>
#include <variant>

#include "core/clock.h"

namespace revoca {
namespace {

struct CertificateTimes {
  std::int64_t expiry;
  std::int64_t renewal;
};

// notAfter and renewalTime of the object's current certificate, in unix seconds.
CertificateTimes certificateTimes(const ObjectFacts& facts, std::int64_t none) {
  return std::visit(
      [none](const auto& kindFacts) {
        if constexpr (requires { kindFacts.notAfter, kindFacts.renewalTime; })
          return CertificateTimes{toUnixSeconds(kindFacts.notAfter), toUnixSeconds(kindFacts.renewalTime)};
        else
          return CertificateTimes{none, none};
      },
      facts);
}

void appendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
}

// Shortest form that reads back the same (what Prometheus' parser expects).
template <typename Number>
void appendNumber(std::string& out, Number value) {
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof text, value);
  out.append(text, error == std::errc() ? end : text);
}

}  // namespace

void ObjectMetrics::forwardTo(StatusSink& next) {
  std::lock_guard lock(mutex_);
  next_ = &next;
}

void ObjectMetrics::report(Kind kind, const ObjectMeta& meta, const ObjectStatus& status) {
  StatusSink* next;
  {
    std::lock_guard lock(mutex_);
    next = next_;
    Series& series = objects_[kindName(kind) + " " + meta.namespace_ + " " + meta.name];
    series.ready = status.ready;
    CertificateTimes times = certificateTimes(status.facts, kNoTime);
    series.expiry = times.expiry;
    series.renewal = times.renewal;
    series.pass = pass_;
    ++reconciles_[{kind, status.ready}];
    if (!status.ready) ++errors_[{kind, status.reason}];
  }
  next->report(kind, meta, status);
}

void ObjectMetrics::forget(Kind kind, const ObjectKey& key) {
  std::lock_guard lock(mutex_);
  objects_.erase(kindName(kind) + " " + key.namespace_ + " " + key.name);
}

void ObjectMetrics::setMoreSeries(std::function<void(std::string&)> render) {
  std::lock_guard lock(mutex_);
  moreSeries_ = std::move(render);
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
  std::string out;
  render(out);
  return out;
}

void ObjectMetrics::render(std::string& out) const {
  MetricsCursor cursor;
  while (!renderPiece(out, cursor, SIZE_MAX)) {
  }
}

bool ObjectMetrics::renderPiece(std::string& out, MetricsCursor& cursor, std::size_t budget) const {
  std::lock_guard lock(mutex_);
  auto series = [&out](const char* name, std::string_view key) {
    std::size_t kindEnd = key.find(' ');
    std::size_t namespaceEnd = key.find(' ', kindEnd + 1);
    out.append(name).append("{kind=\"");
    appendLabelValue(out, key.substr(0, kindEnd));
    out += "\",namespace=\"";
    appendLabelValue(out, key.substr(kindEnd + 1, namespaceEnd - kindEnd - 1));
    out += "\",name=\"";
    appendLabelValue(out, key.substr(namespaceEnd + 1));
    out += "\"} ";
  };
  // The families with a series per object, each resumed after cursor.after.
  struct PerObject {
    const char* name;
    const char* help;
    std::optional<long long> (*valueOf)(const Series&);
  };
  static constexpr PerObject kPerObject[] = {
      {"revoca_object_ready", "1 when the object's Ready condition is True, else 0.",
       [](const Series& object) { return std::optional<long long>(object.ready ? 1 : 0); }},
      {"revoca_certificate_expiration_timestamp_seconds",
       "notAfter of the object's current certificate (CA or VaultSecret), in unix seconds.",
       [](const Series& object) { return object.expiry == kNoTime ? std::nullopt : std::optional<long long>(object.expiry); }},
      {"revoca_certificate_renewal_timestamp_seconds",
       "When revoca renews the object's current certificate, in unix seconds.",
       [](const Series& object) { return object.renewal == kNoTime ? std::nullopt : std::optional<long long>(object.renewal); }},
  };
  constexpr std::size_t kFamilies = std::size(kPerObject);
  // An object added or removed between pieces is simply in or out of the rest of the page.
  for (; cursor.family < kFamilies; ++cursor.family) {
    if (out.size() >= budget) return false;
    const PerObject& family = kPerObject[cursor.family];
    auto it = objects_.begin();
    if (cursor.after.empty()) {
      appendMetricHeader(out, family.name, "gauge", family.help);
    } else {
      it = objects_.upper_bound(cursor.after);
    }
    for (; it != objects_.end(); ++it) {
      if (auto number = family.valueOf(it->second)) {
        series(family.name, it->first);
        appendNumber(out, *number);
        out += '\n';
      }
      if (out.size() >= budget && std::next(it) != objects_.end()) {
        cursor.after = it->first;
        return false;
      }
    }
    cursor.after.clear();
  }
  if (cursor.family == kFamilies) {
    if (out.size() >= budget) return false;
    renderTotals(out);
    ++cursor.family;
  }
  return true;
}

// The families with a handful of series each: written in one piece.
void ObjectMetrics::renderTotals(std::string& out) const {
  auto value = [&out](auto number) {
    appendNumber(out, number);
    out += '\n';
  };
  appendMetricHeader(out, "revoca_reconcile_total", "counter", "Objects reconciled, by kind and whether they ended Ready.");
  for (const auto& [key, count] : reconciles_) {
    out += "revoca_reconcile_total{kind=\"";
    appendLabelValue(out, kindName(key.first));
    out.append("\",result=\"").append(key.second ? "ready" : "not_ready").append("\"} ");
    value(count);
  }
  appendMetricHeader(out, "revoca_reconcile_errors_total", "counter", "Reconciles that left the object not Ready, by reason.");
  for (const auto& [key, count] : errors_) {
    out += "revoca_reconcile_errors_total{kind=\"";
    appendLabelValue(out, kindName(key.first));
    out += "\",reason=\"";
    appendLabelValue(out, key.second);
    out += "\"} ";
    value(count);
  }
  appendMetricHeader(out, "revoca_reconcile_pass_duration_seconds", "summary",
         "Time of a pass over every declaration, in dependency order.");
  out += "revoca_reconcile_pass_duration_seconds_sum ";
  value(passSeconds_);
  out += "revoca_reconcile_pass_duration_seconds_count ";
  value(passesFinished_);
  appendMetricHeader(out, "revoca_workqueue_depth", "gauge", "Changes seen and not yet reconciled.");
  out += "revoca_workqueue_depth ";
  value(queueDepth_);
  if (leader_) {
    appendMetricHeader(out, "revoca_leader", "gauge", "1 on the replica holding the Lease (it reconciles and writes).");
    out += "revoca_leader ";
    value(*leader_ ? 1 : 0);
  }
  if (moreSeries_) moreSeries_(out);
}

}  // namespace revoca
