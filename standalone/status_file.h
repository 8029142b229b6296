#pragma once
// StatusSink for standalone mode: logs each change of an object's
// condition and keeps every status in STATE/status.json (what `kubectl get`
// would show), which `revocactl status` reads.
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "ports/outputs.h"

namespace revoca {

class StatusFile final : public StatusSink {
 public:
  // Reads what the last run wrote there for the facts a pass cannot know
  // again (why the current certificate was issued).
  explicit StatusFile(std::string path);
  void report(Kind kind, const ObjectMeta& meta, const ObjectStatus& status) override;
  // Writes the file if anything changed since the last flush.
  void flush();
  nlohmann::json snapshot() const;

 private:
  // What flush() writes: the statuses as one JSON array, indented by 2.
  std::string statusArrayText() const;
  std::string path_;
  mutable std::mutex mutex_;
  std::map<std::string, nlohmann::json> statuses_;  // "Kind ns/name"
  struct IssueReason {
    std::string serial;
    std::string reason;
  };
  // lastIssueReason stays until the next issue, as in a cluster's status:
  // a pass that issued nothing does not know it.
  std::map<std::string, IssueReason> issueReasons_;
  bool dirty_ = false;
};

}  // namespace revoca
