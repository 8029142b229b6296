#pragma once
// StatusSink on the status subresource: server-side apply of
// {observedGeneration, conditions: [Ready], facts} with field manager
// revoca, facts typed as the CRDs declare them (integers as numbers), and
// core/v1 Events on the transitions a user looks for: Issued, Renewed,
// Rotated, Revoked, Failed. A status equal to the one already there is not
// written again, so re-applied declarations cause no status flapping and a
// pass over many objects costs no requests.
#include <cstdint>
#include <functional>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "declarations/kind.h"
#include "declarations/types.h"
#include "kubeclient/api_client.h"
#include "ports/outputs.h"

namespace revoca::kubernetes {

// One of revoca's objects as the informer last saw it, by kind, namespace
// and name; nullopt when it has not seen it.
using StatusLookup =
    std::function<std::optional<nlohmann::json>(Kind kind, const std::string& ns, const std::string& name)>;

// The status to apply for `status`: facts typed as the CRDs declare them
// (integers as JSON numbers, times as RFC 3339 strings), and Ready's
// lastTransitionTime taken from `current` (the status there now; null or
// {} for none) unless Ready flips, else `now`.
nlohmann::json statusBody(Kind kind, const nlohmann::json& current, const ObjectStatus& status, TimePoint now);

struct EventNote {
  std::string type;     // Normal, Warning
  std::string reason;   // Issued, Renewed, Rotated, Revoked, Failed
  std::string action;   // Issue, Renew, Rotate, Revoke, Reconcile
  std::string message;
};

// The Events a change of status deserves; `before` is the object's status
// as it was (null or {} for none). Transitions only: the same status again
// deserves none.
std::vector<EventNote> eventsFor(Kind kind, const nlohmann::json& before, const ObjectStatus& after);

// The core/v1 Event for `note` about the object `kind` `meta` (uid `uid`),
// named `name`, from reporting instance `instance` (the host).
nlohmann::json eventBody(Kind kind, const ObjectMeta& meta, const std::string& uid, const EventNote& note,
                         const std::string& name, const std::string& instance, TimePoint now);

class StatusWriter final : public StatusSink {
 public:
  // `lookup` answers from the informers' cache: what is there already is
  // not written again, and Events compare with it.
  StatusWriter(kubeclient::ApiClient& api, const Clock& clock, StatusLookup lookup);

  void report(Kind kind, const ObjectMeta& meta, const ObjectStatus& status) override;
  // Forgets what it wrote, so the next report of each object compares with
  // the informer's copy only: after a change of leader, or at a resync.
  void forget();
  // Statuses written that the informer has not shown yet (their texts are kept).
  std::size_t writesAwaitingInformer() const;

 private:
  struct Written {
    std::string status;         // the summary of the status applied (status_summary.h), as JSON text
    std::string versionBefore;  // the object's resourceVersion the informer showed then

    // Whether the informer's copy of the object is past this write (a copy
    // that is missing is not).
    bool seenIn(const std::optional<nlohmann::json>& informerCopy) const;
  };

  nlohmann::json currentStatus(const std::string& key, const std::optional<nlohmann::json>& object);
  // Drops the texts of the oldest writes the informer has seen since.
  void dropSeenWrites();
  void emit(Kind kind, const ObjectMeta& meta, const std::string& uid, const EventNote& note);
  std::string eventName(const std::string& object);

  kubeclient::ApiClient& api_;
  const Clock& clock_;
  StatusLookup lookup_;
  mutable std::mutex mutex_;
  std::map<std::string, Written> written_;          // "Kind ns/name"
  // written_'s keys, oldest write first. A pass that writes thousands of new
  // statuses reports none of them again before it ends, so waiting for the
  // next report to drop a text kept them all (4,500 at 4,000 VaultSecrets):
  // each write also looks at the oldest two.
  std::deque<std::string> writeOrder_;
  std::map<std::string, std::string> lastIssued_;   // "Kind ns/name" -> serial or CA version its status lost, kept by forget()
  std::map<std::string, std::string> failedWrite_;  // "Kind ns/name" -> the error last logged at warn
  std::uint64_t lastEventId_ = 0;
};

}  // namespace revoca::kubernetes
