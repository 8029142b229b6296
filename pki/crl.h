#pragma once
// v2 CRLs (RFC 5280 section 5): CRL number, Authority Key Identifier,
// Issuing Distribution Point, per-entry reason codes and invalidity dates.
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "pki/certificate.h"
#include "pki/digest.h"
#include "pki/key.h"

namespace revoca::pki {

// RFC 5280 CRLReason; values are the ASN.1 ENUMERATED codes (7 is unused).
enum class RevocationReason {
  Unspecified = 0,
  KeyCompromise = 1,
  CaCompromise = 2,
  AffiliationChanged = 3,
  Superseded = 4,
  CessationOfOperation = 5,
  CertificateHold = 6,
  RemoveFromCrl = 8,
  PrivilegeWithdrawn = 9,
  AaCompromise = 10,
};

// "keyCompromise" <-> RevocationReason::KeyCompromise (RFC 5280 names).
std::optional<RevocationReason> parseRevocationReason(const std::string& name);
std::string revocationReasonName(RevocationReason reason);

struct RevokedEntry {
  std::string serialHex;
  TimePoint revokedAt;
  RevocationReason reason = RevocationReason::Unspecified;
  std::optional<TimePoint> invalidityDate;
};

struct CrlRequest {
  std::vector<RevokedEntry> entries;
  std::uint64_t crlNumber = 1;
  TimePoint thisUpdate;
  TimePoint nextUpdate;
  std::string issuingDistributionPointUrl;  // empty: no IDP extension
  Digest digest = Digest::Sha256;
};

struct SignedCrl {
  std::string der;
  std::string pem;
  std::uint64_t crlNumber = 0;
  TimePoint thisUpdate;
  TimePoint nextUpdate;
};

// A CRL signCrl made, read back from its DER (a saved copy): its number and
// times, and its PEM. Error when it is not a CRL or carries no CRL number.
// The signature is not checked: the caller decides whom it trusts.
Result<SignedCrl> readCrl(const std::string& der);

// What `entries` put in a CRL, whatever their order: how two replicas that
// read the same state tell that they would sign the same list under one
// CRL number (RFC 5280 5.2.3: a number names one content).
Sha256 entriesDigest(const std::vector<RevokedEntry>& entries);

Result<SignedCrl> signCrl(const CrlRequest& request, const Certificate& issuerCert,
                          const PrivateKey& issuerKey);

}  // namespace revoca::pki
