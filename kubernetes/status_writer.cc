#include "kubernetes/status_writer.h"

#include <unistd.h>

#include <random>

#include <spdlog/spdlog.h>

#include "kubernetes/cluster_objects.h"
#include "kubernetes/names.h"
#include "reconcilers/time_format.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

enum class FactType { kString, kInteger };

// The status fields of each CRD beside conditions and observedGeneration (crds/*.yaml).
const std::map<std::string, FactType>& declaredFacts(const std::string& kind) {
  static const std::map<std::string, std::map<std::string, FactType>> facts = {
      {"CertificateAuthority",
       {{"version", FactType::kInteger}, {"serial", FactType::kString}, {"notBefore", FactType::kString},
        {"notAfter", FactType::kString}, {"renewalTime", FactType::kString}, {"crlNumber", FactType::kInteger},
        {"liveVersions", FactType::kInteger}, {"tenantUuid", FactType::kString}}},
      {"CertificateRevocation",
       {{"serial", FactType::kString}, {"revokedAt", FactType::kString}, {"crlNumber", FactType::kInteger}}},
      {"Vault", {{"deployments", FactType::kInteger}}},
      {"VaultSecret",
       {{"serial", FactType::kString}, {"notBefore", FactType::kString}, {"notAfter", FactType::kString},
        {"renewalTime", FactType::kString}, {"caVersion", FactType::kInteger},
        {"lastIssueReason", FactType::kString}, {"secretName", FactType::kString}}},
      {"EmqxDeployment",
       {{"deployment", FactType::kString}, {"configMap", FactType::kString},
        {"ocspResponderUrl", FactType::kString}, {"certificateHash", FactType::kString}}}};
  static const std::map<std::string, FactType> none;
  auto it = facts.find(kind);
  return it == facts.end() ? none : it->second;
}

// The status without the parts that change on their own, to compare two.
json comparable(json status) {
  if (!status.is_object()) return json::object();
  if (status.contains("conditions"))
    for (auto& condition : status["conditions"]) condition.erase("lastTransitionTime");
  return status;
}

std::optional<json> readyOf(const json& status) {
  if (!status.is_object()) return std::nullopt;
  for (const auto& condition : status.value("conditions", json::array()))
    if (condition.value("type", "") == "Ready") return condition;
  return std::nullopt;
}

std::string fact(const json& status, const std::string& name) {
  if (!status.is_object() || !status.contains(name)) return "";
  const json& value = status[name];
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::string factOf(const ObjectStatus& status, const std::string& name) {
  auto it = status.facts.find(name);
  return it == status.facts.end() ? "" : it->second;
}

std::string reportingInstance() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

std::vector<EventNote> eventsFor(const std::string& kind, const json& before, const ObjectStatus& after) {
  std::vector<EventNote> notes;
  auto wasReady = readyOf(before);
  if (!after.ready) {
    bool sameFailure = wasReady && wasReady->value("status", "") == "False" && wasReady->value("reason", "") == after.reason;
    if (!sameFailure) notes.push_back({"Warning", "Failed", after.reason + ": " + after.message});
    return notes;
  }
  if (kind == "VaultSecret") {
    std::string serial = factOf(after, "serial"), previous = fact(before, "serial");
    if (!serial.empty() && serial != previous)
      notes.push_back({"Normal", previous.empty() ? "Issued" : "Renewed",
                       "serial " + serial + ", valid until " + factOf(after, "notAfter")});
  } else if (kind == "CertificateAuthority") {
    std::string version = factOf(after, "version"), previous = fact(before, "version");
    if (!version.empty() && version != previous)
      notes.push_back({"Normal", previous.empty() ? "Issued" : "Rotated",
                       "CA version " + version + ", valid until " + factOf(after, "notAfter")});
  } else if (kind == "CertificateRevocation") {
    if (!wasReady || wasReady->value("status", "") != "True")
      notes.push_back({"Normal", "Revoked", after.message});
  }
  return notes;
}

json statusBody(const std::string& kind, const ObjectStatus& status, const std::string& transitionTime) {
  json body = {{"observedGeneration", status.observedGeneration},
               {"conditions", json::array({{{"type", "Ready"},
                                            {"status", status.ready ? "True" : "False"},
                                            {"reason", status.reason.empty() ? "Unknown" : status.reason},
                                            {"message", status.message},
                                            {"observedGeneration", status.observedGeneration},
                                            {"lastTransitionTime", transitionTime}}})}};
  const auto& declared = declaredFacts(kind);
  for (const auto& [name, value] : status.facts) {
    auto type = declared.find(name);
    if (type == declared.end()) continue;
    if (type->second == FactType::kInteger) {
      char* end = nullptr;
      long long number = std::strtoll(value.c_str(), &end, 10);
      if (end && *end == '\0' && !value.empty()) body[name] = number;
    } else {
      body[name] = value;
    }
  }
  return body;
}

void StatusWriter::report(const std::string& kind, const ObjectMeta& meta, const ObjectStatus& status) {
  std::string key = kind + " " + meta.namespace_ + "/" + meta.name;
  std::optional<json> object = lookup_(kind, meta.namespace_, meta.name);
  json before = object ? object->value("status", json::object()) : json::object();

  // The transition time stays while Ready keeps its value.
  std::string transition = formatTimestamp(clock_.now());
  if (auto ready = readyOf(before); ready && ready->value("status", "") == (status.ready ? "True" : "False"))
    transition = ready->value("lastTransitionTime", transition);
  json body = statusBody(kind, status, transition);

  std::lock_guard lock(mutex_);
  json wanted = comparable(body);
  auto written = written_.find(key);
  if (written != written_.end() && comparable(written->second) == wanted) return;
  if (object && comparable(before) == wanted) {
    written_[key] = body;
    return;
  }
  json apply = {{"apiVersion", std::string(kGroup) + "/" + kVersion},
                {"kind", kind},
                {"metadata", {{"name", meta.name}, {"namespace", meta.namespace_}}},
                {"status", body}};
  auto result = api_.applyStatus(revocaObjects(pluralOfKind(kind), meta.namespace_, meta.name), apply, kFieldManager);
  if (!result.ok()) {
    if (result.error.status == 404) {
      spdlog::debug("{}: gone before its status was written", key);
    } else {
      spdlog::warn("{}: writing its status failed: {}", key, result.error.message);
    }
    return;
  }
  // Events compare with what was there before this write, once per change.
  json previous = written != written_.end() ? written->second : before;
  written_[key] = body;
  std::string uid = (*result.value)["metadata"].value("uid", "");
  for (const auto& note : eventsFor(kind, previous, status)) emit(kind, meta, uid, note);
  if (status.ready)
    spdlog::info("{}: Ready ({}): {}", key, status.reason, status.message);
  else
    spdlog::warn("{}: not Ready ({}): {}", key, status.reason, status.message);
}

void StatusWriter::emit(const std::string& kind, const ObjectMeta& meta, const std::string& uid,
                        const EventNote& note) {
  static const std::string instance = reportingInstance();
  std::string now = formatTimestamp(clock_.now());
  json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"generateName", meta.name + "."}, {"namespace", meta.namespace_}}},
                {"involvedObject",
                 {{"apiVersion", std::string(kGroup) + "/" + kVersion},
                  {"kind", kind},
                  {"name", meta.name},
                  {"namespace", meta.namespace_},
                  {"uid", uid}}},
                {"type", note.type},
                {"reason", note.reason},
                {"message", note.message.substr(0, 1024)},
                {"source", {{"component", "revoca"}}},
                {"reportingComponent", "revoca"},
                {"reportingInstance", instance},
                {"firstTimestamp", now},
                {"lastTimestamp", now},
                {"count", 1}};
  // Best effort, like client-go's recorder: an Event lost is not an error.
  auto created = api_.create(events(meta.namespace_), event);
  if (!created.ok()) spdlog::debug("{} {}/{}: event {} not recorded: {}", kind, meta.namespace_, meta.name, note.reason,
                                   created.error.message);
}

}  // namespace revoca::kubernetes
