#include "kubernetes/status_summary.h"

#include "pki/digest.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

// 64 bits of SHA-256: enough to tell one object's statuses apart.
constexpr std::size_t kDigestHexDigits = 16;

// What statusBody and eventsFor read besides the Ready condition.
constexpr const char* kReadFacts[] = {"serial", "version", "lastIssueReason"};

}  // namespace

std::string statusDigest(const json& status) { return pki::sha256Hex(status.dump()).substr(0, kDigestHexDigits); }

json summarizeStatus(const json& status) {
  if (!status.is_object() || status.empty()) return json::object();
  if (status.contains(kStatusDigestMember)) return status;
  json summary = {{kStatusDigestMember, statusDigest(status)}};
  if (auto conditions = status.find("conditions"); conditions != status.end() && conditions->is_array())
    for (const auto& condition : *conditions)
      if (condition.is_object() && condition.value("type", json()) == "Ready") {
        json ready = json::object();
        for (const char* member : {"type", "status", "reason", "lastTransitionTime"})
          if (auto value = condition.find(member); value != condition.end()) ready[member] = *value;
        summary["conditions"] = json::array({std::move(ready)});
        break;
      }
  for (const char* fact : kReadFacts)
    if (auto value = status.find(fact); value != status.end()) summary[fact] = *value;
  return summary;
}

bool summarizes(const json& summary, const json& status) {
  auto digest = summary.find(kStatusDigestMember);
  return digest != summary.end() && *digest == statusDigest(status);
}

}  // namespace revoca::kubernetes
