#include "reconcilers/renewal.h"

#include <algorithm>
#include <cstdint>
#include <map>

namespace revoca {

Seconds renewalJitter(const std::string& objectKey, Seconds refreshThreshold) {
  std::int64_t span = std::min<std::int64_t>(refreshThreshold.count() / 10, 86400);
  if (span <= 0) return Seconds(0);
  std::uint64_t hash = 1469598103934665603ULL;  // FNV-1a: stable across runs and builds
  for (unsigned char c : objectKey) hash = (hash ^ c) * 1099511628211ULL;
  return Seconds(static_cast<std::int64_t>(hash % static_cast<std::uint64_t>(span + 1)));
}

TimePoint secretRenewalTime(const SecretRecord& record, const AutoCertSpec& spec, const std::string& objectKey) {
  return record.notAfter - spec.refreshThreshold - renewalJitter(objectKey, spec.refreshThreshold);
}

ReissueReason decideReissue(const ReissueInputs& inputs, const AutoCertSpec& spec, const std::string& objectKey,
                            TimePoint now) {
  if (!inputs.record) return ReissueReason::Missing;
  const SecretRecord& record = *inputs.record;
  if (record.specGeneration != inputs.generation) return ReissueReason::SpecChanged;
  if (record.issuingCa != spec.issuingCa) return ReissueReason::IssuerChanged;
  if (std::find(inputs.liveCaVersions.begin(), inputs.liveCaVersions.end(), record.caVersion) ==
      inputs.liveCaVersions.end())
    return ReissueReason::CaVersionRetired;
  if (inputs.revoked) return ReissueReason::Revoked;
  if (now >= secretRenewalTime(record, spec, objectKey)) {
    // Capped by the signing CA version: re-issuing would only repeat itself.
    if (inputs.signerNotAfter && *inputs.signerNotAfter <= record.notAfter) return ReissueReason::None;
    return ReissueReason::NearExpiry;
  }
  return ReissueReason::None;
}

TimePoint caRenewalTime(const CaVersionRecord& version, const CertificateAuthoritySpec& spec) {
  return version.notAfter - spec.renewThreshold;
}

TimePoint caVersionMadeAt(TimePoint notBefore) { return notBefore + kNotBeforeBackdate; }

Seconds caPropagationDelay(const CertificateAuthoritySpec& spec) {
  if (spec.propagationDelay) return *spec.propagationDelay;
  return std::min(Seconds(300), spec.renewThreshold / 10);
}

Seconds caTrustRolloutPeriod(const CertificateAuthoritySpec& spec) {
  if (spec.trustRolloutPeriod) return *spec.trustRolloutPeriod;
  return spec.renewThreshold / 2;
}

int caSigningVersion(const std::vector<MadeVersion>& versions, Seconds wait, TimePoint now) {
  for (auto version = versions.rbegin(); version != versions.rend(); ++version)
    if (version->madeAt + wait <= now) return version->version;
  return versions.empty() ? 0 : versions.front().version;
}

Seconds caSigningWait(const CertificateAuthoritySpec& spec, pki::CertType type) {
  // A broker's own certificate, and an intermediate that may sign one, are
  // checked by devices; a client certificate only by brokers.
  if (type == pki::CertType::Client) return caPropagationDelay(spec);
  return std::max(caPropagationDelay(spec), caTrustRolloutPeriod(spec));
}

std::vector<int> liveCaVersions(const CaRecord& record, const std::map<int, TimePoint>& latestLeafExpiry,
                                TimePoint now) {
  std::vector<int> live;
  for (const auto& version : record.versions) {
    bool newest = &version == record.current();
    auto leaf = latestLeafExpiry.find(version.version);
    bool signsLiveCertificates = leaf != latestLeafExpiry.end() && leaf->second > now;
    if (newest || (version.notAfter > now && signsLiveCertificates)) live.push_back(version.version);
  }
  return live;
}

}  // namespace revoca
