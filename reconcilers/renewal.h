#pragma once
// When certificates are renewed: the pure decisions, in one place
// (cert-manager keeps its renewal maths in one file too).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "declarations/types.h"
#include "ports/object_facts.h"
#include "registry/records.h"

namespace revoca {

// A stable spread in [0, refreshThreshold / 10] (at most one day), so
// secrets created together do not all renew in the same second.
Seconds renewalJitter(const std::string& objectKey, Seconds refreshThreshold);

// Renew at notAfter - refreshThreshold - jitter.
TimePoint secretRenewalTime(const SecretRecord& record, const AutoCertSpec& spec, const std::string& objectKey);

struct ReissueInputs {
  const SecretRecord* record = nullptr;  // nullptr: never issued
  std::int64_t generation = 0;
  bool revoked = false;
  std::vector<int> liveCaVersions;
  // notAfter of the CA version that would sign a new certificate. A new
  // certificate cannot outlive it, so when the current one already ends
  // there, renewing for NearExpiry gains nothing: it waits for the CA to rotate.
  std::optional<TimePoint> signerNotAfter;
};

// An ordered chain of checks, first match wins (cert-manager's policies).
ReissueReason decideReissue(const ReissueInputs& inputs, const AutoCertSpec& spec, const std::string& objectKey,
                            TimePoint now);

// A CA version is rotated when less than renewThreshold of it is left.
TimePoint caRenewalTime(const CaVersionRecord& version, const CertificateAuthoritySpec& spec);

// Certificates start this long before they are signed: clock skew between
// revoca and the peers checking them.
inline constexpr Seconds kNotBeforeBackdate{30};

// When a CA version whose certificate starts at `notBefore` was made (its
// notBefore is backdated).
TimePoint caVersionMadeAt(TimePoint notBefore);

// A new CA version is first only trusted: it goes into every bundle
// (ca-cert.pem, the CA's ConfigMap, the responder's /ca/) and signs nothing
// until brokers have read it (propagationDelay: kubelet's Secret sync plus
// EMQX's PEM-cache interval), and no server certificate or intermediate
// until devices, which learn a new CA out of band, have had time to
// (trustRolloutPeriod). Unset: 5 minutes or a tenth of renewThreshold, and
// half of renewThreshold, so a CA of any lifetime rotates in time.
Seconds caPropagationDelay(const CertificateAuthoritySpec& spec);
Seconds caTrustRolloutPeriod(const CertificateAuthoritySpec& spec);
// How long a new version waits before it signs a certificate of `type`.
Seconds caSigningWait(const CertificateAuthoritySpec& spec, pki::CertType type);

struct MadeVersion {
  int version;
  TimePoint madeAt;
};
// Of `versions` (oldest first), the one that signs after waiting `wait`: the
// newest that has waited it; while none has (a CA's first version has
// nothing before it to trust), the oldest.
int caSigningVersion(const std::vector<MadeVersion>& versions, Seconds wait, TimePoint now);

// Versions still needed: the newest, and older ones that are unexpired and
// still have unexpired certificates they signed (latestLeafExpiry by version).
std::vector<int> liveCaVersions(const CaRecord& record, const std::map<int, TimePoint>& latestLeafExpiry,
                                TimePoint now);

}  // namespace revoca
