#pragma once
// The verbs of revocactl that act on a CA, shared by the standalone admin
// socket and revocactl against a cluster: issue-cert, revoke-cert, get-crl,
// get-ca-cert, get-tenant-uuid, and the certificate `status KIND/NAME` shows.
// Typed requests and results; authority_commands_json.h is their wire format.
#include <cstdint>
#include <optional>
#include <string>

#include "declarations/kind.h"
#include "reconcilers/authority_service.h"

namespace revoca {

struct AuthorityCommandContext {
  AuthorityService& authorities;
  StateStore& store;
  CaRegistry& registry;
  const Clock& clock;
};

struct IssueCertRequest {
  ObjectKey ca;
  LeafRequest leaf;
};

struct RevokeCertRequest {
  ObjectKey ca;
  std::string serialHex;  // as pki::normalizeSerialHex returns it
  pki::RevocationReason reason = pki::RevocationReason::Unspecified;
};

struct Revoked {
  std::string serialHex;
  bool alreadyRevoked = false;
  pki::RevocationReason reason = pki::RevocationReason::Unspecified;  // the first revocation's
  std::optional<std::string> revocationObject;  // against a cluster: the CertificateRevocation's name
};

struct CrlRequest {
  ObjectKey ca;
  std::optional<int> version;  // the CA's current version when unset
};

struct CaCrl {
  std::string pem;
  std::uint64_t crlNumber = 0;
  int version = 1;
};

struct CaCertRequest {
  ObjectKey ca;
};

struct CaCertificate {
  std::string certPem;  // the current version's
  int version = 1;
  std::string bundlePem;  // ca-cert.pem: every live version and the parent's bundle
};

struct TenantUuidRequest {
  std::string namespace_;
};

struct TenantUuid {
  std::string tenant;  // the namespace
  std::string uuid;
};

// `status`: every object of the namespace, or the one of `kind` named `name`.
struct StatusRequest {
  std::string namespace_;
  std::optional<Kind> kind;
  std::string name;
};

// The current certificate of a VaultSecret or CertificateAuthority from the
// state (what `revocactl status KIND/NAME` shows beside the conditions); never a key.
struct CertificateDescription {
  Kind kind = Kind::VaultSecret;
  std::string certificatePem;
  std::string issuerPem;
  std::string serialHex;
  TimePoint notBefore;
  TimePoint notAfter;
  std::string issuingCa;
  int caVersion = 1;
  std::optional<Revocation> revocation;  // a VaultSecret's only: a CA's own is not tracked
};

Result<IssuedLeaf> issueCert(AuthorityCommandContext& context, const IssueCertRequest& request);
Result<Revoked> revokeCert(AuthorityCommandContext& context, const RevokeCertRequest& request);
Result<CaCrl> getCrl(AuthorityCommandContext& context, const CrlRequest& request);
Result<CaCertificate> getCaCert(AuthorityCommandContext& context, const CaCertRequest& request);
Result<TenantUuid> getTenantUuid(AuthorityCommandContext& context, const TenantUuidRequest& request);
Result<CertificateDescription> describeCertificate(StateStore& store, Kind kind, const ObjectKey& key);

}  // namespace revoca
