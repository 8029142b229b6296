#include "standalone/status_file.h"

#include <spdlog/spdlog.h>

#include "core/atomic_file.h"
#include "reconcilers/time_format.h"

namespace revoca {
namespace {

std::string keyOf(const std::string& kind, const std::string& namespace_, const std::string& name) {
  return kind + " " + namespace_ + "/" + name;
}

std::string factOf(const nlohmann::json& facts, const char* name) {
  auto it = facts.find(name);
  return it != facts.end() && it->is_string() ? it->get<std::string>() : "";
}

// status.json holds every fact as text: times in RFC 3339, integers in decimal.
class TextFacts final : public FactVisitor {
 public:
  void text(const char* name, const std::string& value) override { facts[name] = value; }
  void integer(const char* name, std::int64_t value) override { facts[name] = std::to_string(value); }
  void time(const char* name, TimePoint value) override { facts[name] = formatTimestamp(value); }

  nlohmann::json facts = nlohmann::json::object();
};

}  // namespace

// The same text as the statuses in one JSON array dumped with an indent of
// 2, written element by element: a copy of every status into one array
// first doubled the memory of a pass at its end (80,000 objects: 100 MB).
std::string StatusFile::statusArrayText() const {
  std::string text = "[";
  for (const auto& [key, status] : statuses_) {
    text += text.size() == 1 ? "\n  " : ",\n  ";
    std::string element = status.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    for (char c : element) {
      text += c;
      if (c == '\n') text += "  ";
    }
  }
  return text + (statuses_.empty() ? "]\n" : "\n]\n");
}

StatusFile::StatusFile(std::string path) : path_(std::move(path)) {
  auto text = readFile(path_);
  if (!text) return;  // a first start
  auto written = nlohmann::json::parse(*text, nullptr, false);
  if (!written.is_array()) return;
  for (const auto& entry : written) {
    if (!entry.is_object() || !entry.contains("facts") || !entry["facts"].is_object()) continue;
    std::string serial = factOf(entry["facts"], "serial"), reason = factOf(entry["facts"], "lastIssueReason");
    if (serial.empty() || reason.empty()) continue;
    issueReasons_[keyOf(entry.value("kind", ""), entry.value("namespace", ""), entry.value("name", ""))] = {serial,
                                                                                                       reason};
  }
}

void StatusFile::report(Kind kind, const ObjectMeta& meta, const ObjectStatus& status) {
  TextFacts text;
  visitFacts(status.facts, text);
  nlohmann::json& facts = text.facts;
  std::string key = keyOf(kindName(kind), meta.namespace_, meta.name);
  std::lock_guard lock(mutex_);
  if (auto serial = facts.find("serial"); serial != facts.end()) {
    auto reason = facts.find("lastIssueReason");
    auto known = issueReasons_.find(key);
    if (reason != facts.end())
      issueReasons_[key] = {serial->get<std::string>(), reason->get<std::string>()};
    else if (known != issueReasons_.end() && known->second.serial == serial->get<std::string>())
      facts["lastIssueReason"] = known->second.reason;
  }
  nlohmann::json json = {{"kind", kindName(kind)},
                         {"namespace", meta.namespace_},
                         {"name", meta.name},
                         {"source", meta.source},
                         {"ready", status.ready},
                         {"reason", status.reason},
                         {"message", status.message},
                         {"observedGeneration", status.observedGeneration},
                         {"facts", std::move(facts)}};
  auto& previous = statuses_[key];
  bool conditionChanged = previous.is_null() || previous["ready"] != json["ready"] ||
                          previous["reason"] != json["reason"] || previous["message"] != json["message"];
  if (conditionChanged) {
    if (status.ready)
      spdlog::info("{}: Ready=True {}: {}", key, status.reason, status.message);
    else
      spdlog::warn("{}: Ready=False {}: {}", key, status.reason, status.message);
  }
  if (previous != json) {
    previous = std::move(json);
    dirty_ = true;
  }
}

void StatusFile::flush() {
  std::lock_guard lock(mutex_);
  if (!dirty_) return;
  if (auto written = writeFileAtomically(path_, statusArrayText(), FileAttributes{0644, std::nullopt, std::nullopt});
      !written)
    spdlog::error("writing {}: {}", path_, written.error().message);
  dirty_ = false;
}

nlohmann::json StatusFile::snapshot() const {
  std::lock_guard lock(mutex_);
  nlohmann::json all = nlohmann::json::array();
  for (const auto& [key, status] : statuses_) all.push_back(status);
  return all;
}

}  // namespace revoca
