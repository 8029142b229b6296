#pragma once
// StatusSink for standalone mode: logs each change of an object's
// condition and keeps every status in STATE/status.json (what `kubectl get`
// would show), which `revocactl status` reads.
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "reconcilers/ports.h"

namespace revoca {

class StatusFile final : public StatusSink {
 public:
  explicit StatusFile(std::string path) : path_(std::move(path)) {}
  void report(const std::string& kind, const ObjectMeta& meta, const ObjectStatus& status) override;
  // Writes the file if anything changed since the last flush.
  void flush();
  nlohmann::json snapshot() const;

 private:
  std::string path_;
  mutable std::mutex mutex_;
  std::map<std::string, nlohmann::json> statuses_;  // "Kind ns/name"
  bool dirty_ = false;
};

}  // namespace revoca
