#pragma once
// What revoca reads back of a status it wrote, kept instead of the status:
// the Ready condition's status, reason and lastTransitionTime, the facts its
// Events follow (serial, version, lastIssueReason), and a digest of the
// whole status, which tells whether a status to write is the one there
// already. At 10,000 VaultSecrets the statuses themselves (messages, times,
// facts) were the larger part of the informers' cache.
#include <string>

#include <nlohmann/json.hpp>

namespace revoca::kubernetes {

// The member of a summary that holds the digest; no CRD declares it, so it
// tells a summary from a status.
inline constexpr const char* kStatusDigestMember = "revoca.io/digest";

// A digest of `status` as JSON (object members in order: equal statuses,
// equal digests).
std::string statusDigest(const nlohmann::json& status);

// The summary of `status`, shaped as a status (statusBody and eventsFor read
// it as one); {} for no status. A summary is its own summary.
nlohmann::json summarizeStatus(const nlohmann::json& status);

// Whether `status` is the status `summary` was made of (as far as a digest tells).
bool summarizes(const nlohmann::json& summary, const nlohmann::json& status);

}  // namespace revoca::kubernetes
