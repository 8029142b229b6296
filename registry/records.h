#pragma once
// What revoca remembers about its CAs and certificates: the records a
// StateStore persists and the CaRegistry indexes.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "pki/crl.h"
#include "pki/digest.h"

namespace revoca {

struct CaVersionRecord {
  int version = 1;
  std::string certPem;
  std::string keyPem;  // never logged
  TimePoint notBefore;
  TimePoint notAfter;
  // The CRL distribution points every certificate this version signs
  // carries, rendered from spec.crlDistUrls when the version was made and
  // never changed after: its CRLs' Issuing Distribution Point names the
  // first, and a CRL whose IDP differs from a certificate's distribution
  // point does not cover it (OpenSSL: "different CRL scope"; OTP:
  // no_relevant_crls). nullopt for a version saved before they were kept.
  std::optional<std::vector<std::string>> crlDistUrls;
};

struct CaRecord {
  std::vector<CaVersionRecord> versions;  // ascending by version
  const CaVersionRecord* current() const { return versions.empty() ? nullptr : &versions.back(); }
};

// One line of a CA's ledger: a serial it signed.
struct IssuedCertificate {
  std::string serialHex;
  int caVersion = 1;
  TimePoint notAfter;
  std::string subject;  // common name, for people reading the ledger
};

struct Revocation {
  std::string serialHex;
  TimePoint revokedAt;
  pki::RevocationReason reason = pki::RevocationReason::Unspecified;
  std::optional<TimePoint> invalidityDate;
};

// The number of the first CRL that listed a revoked serial: every CRL of
// its version numbered from it on lists the serial too (until it has been
// expired long enough to leave, docs/crls.md). Kept apart from the
// revocation line, which is written before that CRL is numbered and which
// the previous release reads with no field after the invalidity date.
struct CrlListing {
  std::string serialHex;
  std::uint64_t crlNumber = 0;

  bool operator==(const CrlListing&) const = default;
};

// What one CRL number names (RFC 5280 5.2.3: one number, one content): the
// times and the entries of the CRL signed under it. The leader records it
// with the number; a replica that does not lead signs under that number only
// when what it read gives the same entries.
struct CrlStamp {
  std::uint64_t number = 0;
  TimePoint thisUpdate;
  TimePoint nextUpdate;
  pki::Sha256 entries;   // pki::entriesDigest

  bool operator==(const CrlStamp&) const = default;
};

// The certificate a VaultSecret holds now.
struct SecretRecord {
  std::string certPem;    // the leaf, then any intermediate CA certificates
  std::string keyPem;     // never logged
  std::string serialHex;
  std::string issuingCa;  // CA name, same namespace
  int caVersion = 1;
  TimePoint notBefore;
  TimePoint notAfter;
  std::int64_t specGeneration = 0;  // the VaultSecret generation it was issued for
  // A store that keeps thousands of records in memory (SecretStateStore)
  // keeps the SHA-256 of the two PEMs instead of the PEMs, which are then
  // empty: StateStore::loadSecretWithPems reads them, when an output must be
  // written again. Unset (zero) while the PEMs are here.
  pki::Sha256 certDigest;
  pki::Sha256 keyDigest;

  bool hasPems() const { return !certPem.empty(); }
};

}  // namespace revoca
