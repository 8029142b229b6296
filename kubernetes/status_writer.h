#pragma once
// StatusSink on the status subresource: server-side apply of
// {observedGeneration, conditions: [Ready], facts} with field manager
// revoca, facts typed as each CRD declares them (integers as numbers), and
// core/v1 Events on the transitions a user looks for: Issued, Renewed,
// Rotated, Revoked, Failed. A status equal to the one already there is not
// written again, so re-applied declarations cause no status flapping and a
// pass over many objects costs no requests.
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "kube/api_client.h"
#include "reconcilers/ports.h"

namespace revoca::kubernetes {

// The object as the informer last saw it: kind ("VaultSecret"), namespace, name.
using KindLookup =
    std::function<std::optional<nlohmann::json>(const std::string&, const std::string&, const std::string&)>;

struct EventNote {
  std::string type;  // Normal, Warning
  std::string reason;
  std::string message;
};

// The Events a change of status deserves; `before` is the object's status
// as it was (null or {} for none).
std::vector<EventNote> eventsFor(const std::string& kind, const nlohmann::json& before, const ObjectStatus& after);

// The status body as the CRD of `kind` declares it; facts it does not declare are dropped.
nlohmann::json statusBody(const std::string& kind, const ObjectStatus& status, const std::string& transitionTime);

class StatusWriter final : public StatusSink {
 public:
  StatusWriter(kube::ApiClient& api, const Clock& clock, KindLookup lookup)
      : api_(api), clock_(clock), lookup_(std::move(lookup)) {}

  void report(const std::string& kind, const ObjectMeta& meta, const ObjectStatus& status) override;
  // Forgets what it wrote: after a change of leader, or at a resync.
  void forget() {
    std::lock_guard lock(mutex_);
    written_.clear();
  }

 private:
  void emit(const std::string& kind, const ObjectMeta& meta, const std::string& uid, const EventNote& note);

  kube::ApiClient& api_;
  const Clock& clock_;
  KindLookup lookup_;
  std::mutex mutex_;
  std::map<std::string, nlohmann::json> written_;  // "Kind ns/name" -> status body last applied
};

}  // namespace revoca::kubernetes
