#include "kubernetes/status_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <variant>

#include <spdlog/spdlog.h>

#include "kubernetes/leader_election.h"  // formatMicroTime
#include "kubernetes/names.h"
#include "kubernetes/status_summary.h"
#include "reconcilers/time_format.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

// Limits of the CRDs' condition schema and of core/v1 Events.
constexpr std::size_t kConditionMessageLimit = 32768;
constexpr std::size_t kConditionReasonLimit = 1024;
constexpr std::size_t kEventMessageLimit = 1024;
constexpr std::size_t kReportingInstanceLimit = 128;
constexpr std::size_t kNameLimit = 253;

std::string apiVersion() { return std::string(kGroup) + "/" + kVersion; }

// Valid UTF-8 of at most `limit` bytes: the JSON encoder throws on invalid
// UTF-8, and an error message may quote bytes from anywhere.
std::string utf8(const std::string& text, std::size_t limit) {
  std::string valid =
      json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
  if (valid.size() <= limit) return valid;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(valid[end]) & 0xC0) == 0x80) --end;  // not inside a character
  return valid.substr(0, end);
}

// The CRDs' pattern for a condition reason: ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$
std::string conditionReason(const std::string& reason) {
  std::string out;
  for (char c : reason) {
    bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    bool allowed = letter || (c >= '0' && c <= '9') || c == '_' || c == ',' || c == ':';
    if (out.empty() ? letter : allowed) out += c;
  }
  if (out.size() > kConditionReasonLimit) out.resize(kConditionReasonLimit);
  while (!out.empty() && (out.back() == ',' || out.back() == ':')) out.pop_back();
  return out.empty() ? "Unknown" : out;
}

// "2026-11-27T01:02:03Z", with optional fraction and offset: what format
// date-time accepts.
bool isRfc3339(const std::string& text) {
  int year, month, day, hour, minute, second, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second, &used) != 6 ||
      used != 19)
    return false;
  std::size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    std::size_t digits = ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    if (at == digits) return false;
  }
  std::string zone = text.substr(at);
  if (zone == "Z") return true;
  int zoneHour, zoneMinute;
  used = 0;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') &&
         std::sscanf(zone.c_str() + 1, "%2d:%2d%n", &zoneHour, &zoneMinute, &used) == 2 && used == 5;
}

// A string member, "" when absent or of another type (what the server
// sends follows the schema, but a status is worth no exception).
std::string stringOf(const json& object, const char* name) {
  if (!object.is_object()) return "";
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<json> readyOf(const json& status) {
  if (!status.is_object()) return std::nullopt;
  auto conditions = status.find("conditions");
  if (conditions == status.end() || !conditions->is_array()) return std::nullopt;
  for (const auto& condition : *conditions)
    if (stringOf(condition, "type") == "Ready") return condition;
  return std::nullopt;
}

// A fact of a status as the server holds it, as text: 2 -> "2".
std::string factOf(const json& status, const std::string& name) {
  if (!status.is_object()) return "";
  auto it = status.find(name);
  if (it == status.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// What an Issued/Renewed/Rotated Event follows: the certificate's serial, the CA's version.
std::string issuedFact(Kind kind) {
  if (kind == Kind::VaultSecret) return "serial";
  if (kind == Kind::CertificateAuthority) return "version";
  return "";
}

// The value of issuedFact() in `status`, as the status subresource shows it; "" for none.
std::string issuedValue(const ObjectStatus& status) {
  if (const auto* secret = std::get_if<VaultSecretFacts>(&status.facts)) return secret->serial;
  if (const auto* ca = std::get_if<CertificateAuthorityFacts>(&status.facts)) return std::to_string(ca->version);
  return "";
}

// What an Issued, Renewed or Rotated Event says of the certificate after
// "serial S" or "version V".
std::string issuedDetails(const ObjectStatus& status) {
  std::string details;
  if (const auto* ca = std::get_if<CertificateAuthorityFacts>(&status.facts)) {
    if (!ca->serial.empty()) details += " (serial " + ca->serial + ")";
    details += ", valid until " + formatTimestamp(ca->notAfter);
  }
  if (const auto* secret = std::get_if<VaultSecretFacts>(&status.facts)) {
    details += ", valid until " + formatTimestamp(secret->notAfter);
    if (secret->lastIssueReason) details += "; reason: " + reissueReasonName(*secret->lastIssueReason);
  }
  return details;
}

// The facts as the CRDs declare them: integers as JSON numbers, times in
// RFC 3339 (anything else and the apiserver refuses the whole status).
class StatusFields final : public FactVisitor {
 public:
  StatusFields(Kind kind, json& body) : kind_(kind), body_(body) {}
  void text(const char* name, const std::string& value) override {
    body_[name] = utf8(value, kConditionMessageLimit);
  }
  void integer(const char* name, std::int64_t value) override { body_[name] = value; }
  void time(const char* name, TimePoint value) override {
    if (std::string text = formatTimestamp(value); isRfc3339(text)) body_[name] = text;
    else spdlog::debug("{} status: {}={} is not an RFC 3339 time; left out", kindName(kind_), name, text);
  }

 private:
  Kind kind_;
  json& body_;
};

std::string resourceVersionOf(const json& object) {
  auto metadata = object.find("metadata");
  return metadata == object.end() ? "" : stringOf(*metadata, "resourceVersion");
}

// The maps' key for an object, "Kind ns/name" (as the log shows it), and
// back (names hold no space, namespaces no '/'); nullopt for a key objectKey() did not write.
std::string objectKey(Kind kind, const ObjectMeta& meta) {
  return kindName(kind) + " " + meta.namespace_ + "/" + meta.name;
}
struct KeyParts {
  Kind kind;
  std::string namespace_, name;
};
std::optional<KeyParts> partsOf(const std::string& key) {
  std::size_t space = key.find(' '), slash = key.find('/', space);
  std::optional<Kind> kind = kindNamed(std::string_view(key).substr(0, space));
  if (!kind || slash == std::string::npos) return std::nullopt;
  return KeyParts{*kind, key.substr(space + 1, slash - space - 1), key.substr(slash + 1)};
}

std::string reportingInstance() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || !*host) return "revoca";
  std::string name = host;
  return name.substr(0, kReportingInstanceLimit);
}

}  // namespace

json statusBody(Kind kind, const json& current, const ObjectStatus& status, TimePoint now) {
  std::string state = status.ready ? "True" : "False";
  std::string transition = formatTimestamp(now);
  if (auto ready = readyOf(current); ready && stringOf(*ready, "status") == state) {
    std::string kept = stringOf(*ready, "lastTransitionTime");
    if (isRfc3339(kept)) transition = kept;
  }
  json body = {{"observedGeneration", status.observedGeneration},
               {"conditions", json::array({{{"type", "Ready"},
                                            {"status", state},
                                            {"reason", conditionReason(status.reason)},
                                            {"message", utf8(status.message, kConditionMessageLimit)},
                                            {"observedGeneration", status.observedGeneration},
                                            {"lastTransitionTime", transition}}})}};
  StatusFields fields(kind, body);
  visitFacts(status.facts, fields);
  // Why the certificate was last issued stays until the next issue: a pass
  // that issued nothing does not know it, and dropping it would cost a write
  // per VaultSecret at every restart and resync.
  if (!body.contains("lastIssueReason") && current.contains("lastIssueReason") && body.contains("serial") &&
      current.value("serial", json()) == body["serial"])
    body["lastIssueReason"] = current["lastIssueReason"];
  return body;
}

std::vector<EventNote> eventsFor(Kind kind, const json& before, const ObjectStatus& after) {
  std::vector<EventNote> notes;
  auto was = readyOf(before);
  std::string wasStatus = was ? stringOf(*was, "status") : "";
  std::string fact = issuedFact(kind);
  if (!fact.empty()) {
    std::string value = issuedValue(after), previous = factOf(before, fact);
    if (!value.empty() && value != previous) {
      bool first = previous.empty();
      std::string message = (kind == Kind::VaultSecret ? "serial " : "version ") + value + issuedDetails(after);
      if (kind == Kind::VaultSecret)
        notes.push_back({"Normal", first ? "Issued" : "Renewed", first ? "Issue" : "Renew",
                         (first ? "issued " : "renewed: ") + message});
      else
        notes.push_back({"Normal", first ? "Issued" : "Rotated", first ? "Issue" : "Rotate",
                         (first ? "issued " : "rotated to ") + message});
    }
  }
  if (kind == Kind::CertificateRevocation && after.ready && wasStatus != "True")
    notes.push_back({"Normal", "Revoked", "Revoke", after.message});
  if (!after.ready) {
    bool sameFailure = wasStatus == "False" && stringOf(*was, "reason") == conditionReason(after.reason);
    if (!sameFailure)
      notes.push_back({"Warning", "Failed", "Reconcile", conditionReason(after.reason) + ": " + after.message});
  }
  return notes;
}

json eventBody(Kind kind, const ObjectMeta& meta, const std::string& uid, const EventNote& note,
               const std::string& name, const std::string& instance, TimePoint now) {
  json involved = {
      {"apiVersion", apiVersion()}, {"kind", kindName(kind)}, {"name", meta.name}, {"namespace", meta.namespace_}};
  if (!uid.empty()) involved["uid"] = uid;
  std::string seconds = formatTimestamp(now);
  // core/v1 accepts an eventTime only with reportingComponent, reportingInstance and action.
  return {{"apiVersion", "v1"},
          {"kind", "Event"},
          {"metadata", {{"name", name}, {"namespace", meta.namespace_}}},
          {"involvedObject", involved},
          {"type", note.type},
          {"reason", note.reason},
          {"action", note.action},
          {"message", utf8(note.message, kEventMessageLimit)},
          {"source", {{"component", "revoca"}, {"host", instance}}},
          {"reportingComponent", "revoca"},
          {"reportingInstance", instance},
          {"firstTimestamp", seconds},
          {"lastTimestamp", seconds},
          {"eventTime", formatMicroTime(now)},
          {"count", 1}};
}

StatusWriter::StatusWriter(kubeclient::ApiClient& api, const Clock& clock, StatusLookup lookup)
    : api_(api), clock_(clock), lookup_(std::move(lookup)) {}

bool StatusWriter::Written::seenIn(const std::optional<json>& informerCopy) const {
  return informerCopy && resourceVersionOf(*informerCopy) != versionBefore;
}

void StatusWriter::forget() {
  std::lock_guard lock(mutex_);
  written_.clear();
  writeOrder_.clear();
}

std::size_t StatusWriter::writesAwaitingInformer() const {
  std::lock_guard lock(mutex_);
  return written_.size();
}

void StatusWriter::dropSeenWrites() {
  constexpr int kLooksPerWrite = 2;  // more than one: the queue shrinks while the informer keeps up
  for (int look = 0; look < kLooksPerWrite; ++look) {
    std::string key;
    {
      std::lock_guard lock(mutex_);
      if (writeOrder_.empty()) return;
      key = std::move(writeOrder_.front());
      writeOrder_.pop_front();
      if (!written_.count(key)) continue;  // dropped at a report already
    }
    std::optional<KeyParts> parts = partsOf(key);
    std::optional<json> object =
        lookup_ && parts ? lookup_(parts->kind, parts->namespace_, parts->name) : std::nullopt;
    std::lock_guard lock(mutex_);
    auto written = written_.find(key);
    if (written == written_.end()) continue;
    if (written->second.seenIn(object)) {
      written_.erase(written);
    } else {
      writeOrder_.push_back(std::move(key));  // not seen yet: look again later
      return;
    }
  }
}

// The summary of what this process wrote, while the informer still shows
// the object as it was before that write; else of the informer's copy (the
// informers cache summaries: ClusterObjects). Once the informer has the
// write, the text is dropped: at 10,000 objects the copies add up, and a
// resync compares with the informer's copy alone anyway.
json StatusWriter::currentStatus(const std::string& key, const std::optional<json>& object) {
  if (auto written = written_.find(key); written != written_.end()) {
    if (!written->second.seenIn(object)) return json::parse(written->second.status);
    written_.erase(written);
  }
  if (object && object->is_object()) {
    auto status = object->find("status");
    if (status != object->end() && status->is_object()) return summarizeStatus(*status);
  }
  return json::object();
}

void StatusWriter::report(Kind kind, const ObjectMeta& meta, const ObjectStatus& status) {
  std::string key = objectKey(kind, meta);
  std::optional<json> object = lookup_ ? lookup_(kind, meta.namespace_, meta.name) : std::nullopt;

  // The lock guards the maps, not the write: the engine reports several
  // VaultSecrets at once, each object from one thread only.
  json current, body;
  {
    std::lock_guard lock(mutex_);
    current = currentStatus(key, object);
  }
  body = statusBody(kind, current, status, clock_.now());
  if (summarizes(current, body)) return;

  json apply = {{"apiVersion", apiVersion()},
                {"kind", kindName(kind)},
                {"metadata", {{"name", meta.name}, {"namespace", meta.namespace_}}},
                {"status", body}};
  auto result = api_.applyStatus(revocaObjects(kind, meta.namespace_, meta.name), apply, kFieldManager);
  std::unique_lock lock(mutex_);
  if (!result.ok()) {
    if (result.error.status == 404) {
      spdlog::debug("{}: deleted before its status was written", key);
      written_.erase(key);
      failedWrite_.erase(key);
      return;
    }
    std::string error = result.error.reason + ": " + result.error.message;
    if (failedWrite_[key] != error) {
      spdlog::warn("{}: writing its status failed ({}); retrying on the next pass", key, error);
      failedWrite_[key] = error;
    } else {
      spdlog::debug("{}: writing its status failed again ({})", key, error);
    }
    return;
  }
  failedWrite_.erase(key);
  const json& applied = *result.value;
  // Kept as text: a parsed status is several times its size, for 10,000 objects.
  bool added =
      written_.insert_or_assign(key, Written{summarizeStatus(body).dump(), object ? resourceVersionOf(*object) : ""})
          .second;
  if (added) writeOrder_.push_back(key);
  spdlog::debug("{}: status Ready={} {}", key, status.ready ? "True" : "False", conditionReason(status.reason));

  // A failure drops the facts from the status; the serial or version that
  // comes back afterwards is no new issue. It is remembered here only while
  // the status lacks it (10,000 serials otherwise, for nothing).
  json before = current;
  if (std::string fact = issuedFact(kind); !fact.empty()) {
    std::string had = factOf(before, fact);
    if (auto remembered = lastIssued_.find(key); had.empty() && remembered != lastIssued_.end())
      before[fact] = had = remembered->second;
    if (issuedValue(status).empty()) {
      if (!had.empty()) lastIssued_[key] = had;
    } else {
      lastIssued_.erase(key);
    }
  }
  lock.unlock();
  dropSeenWrites();
  std::string uid = applied.contains("metadata") ? stringOf(applied["metadata"], "uid") : "";
  if (uid.empty() && object && object->contains("metadata")) uid = stringOf((*object)["metadata"], "uid");
  for (const auto& note : eventsFor(kind, before, status)) {
    if (note.type == "Warning") spdlog::warn("{}: {}: {}", key, note.reason, note.message);
    else spdlog::info("{}: {}: {}", key, note.reason, note.message);
    emit(kind, meta, uid, note);
  }
}

// client-go's "<object>.<hex of the time in ns>", kept unique within the process.
std::string StatusWriter::eventName(const std::string& object) {
  std::lock_guard lock(mutex_);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.now().time_since_epoch()).count();
  lastEventId_ = std::max<std::uint64_t>(static_cast<std::uint64_t>(nanos), lastEventId_ + 1);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(lastEventId_));
  std::string prefix = object.substr(0, kNameLimit - 1 - std::string(hex).size());
  while (!prefix.empty() && (prefix.back() == '.' || prefix.back() == '-')) prefix.pop_back();
  return prefix + "." + hex;
}

void StatusWriter::emit(Kind kind, const ObjectMeta& meta, const std::string& uid, const EventNote& note) {
  static const std::string instance = reportingInstance();
  // Best effort, like client-go's recorder: an Event lost is not an error.
  kubeclient::ApiResult<json> created;
  for (int attempt = 0; attempt < 2; ++attempt) {
    created = api_.create(events(meta.namespace_),
                          eventBody(kind, meta, uid, note, eventName(meta.name), instance, clock_.now()));
    if (created.ok() || created.error.status != 409) break;  // 409: another replica's Event has this name
  }
  if (!created.ok())
    spdlog::debug("{} {}/{}: Event {} not recorded: {}", kindName(kind), meta.namespace_, meta.name, note.reason,
                  created.error.message);
}

}  // namespace revoca::kubernetes
