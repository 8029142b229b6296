#include "standalone/status_file.h"

#include <spdlog/spdlog.h>

#include "core/atomic_file.h"

namespace revoca {

void StatusFile::report(const std::string& kind, const ObjectMeta& meta, const ObjectStatus& status) {
  nlohmann::json json = {{"kind", kind},
                         {"namespace", meta.namespace_},
                         {"name", meta.name},
                         {"source", meta.source},
                         {"ready", status.ready},
                         {"reason", status.reason},
                         {"message", status.message},
                         {"observedGeneration", status.observedGeneration},
                         {"facts", status.facts}};
  std::string key = kind + " " + meta.namespace_ + "/" + meta.name;
  std::lock_guard lock(mutex_);
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
  nlohmann::json all = nlohmann::json::array();
  for (const auto& [key, status] : statuses_) all.push_back(status);
  if (auto written = writeFileAtomically(path_, all.dump(2) + "\n", FileAttributes{0644, std::nullopt, std::nullopt});
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
