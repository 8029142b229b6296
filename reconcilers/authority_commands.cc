#include "reconcilers/authority_commands.h"

#include "pki/certificate.h"
#include "pki/crl.h"

namespace revoca {
namespace {

Result<const ActiveCa*> requireReadyCa(AuthorityCommandContext& context, const ObjectKey& key) {
  const ActiveCa* ca = context.authorities.active(key);
  if (!ca)
    return makeError("CertificateAuthority " + key.str() +
                     " is not Ready (unknown, or its declaration has errors); see `revocactl status`");
  return ca;
}

}  // namespace

Result<IssuedLeaf> issueCert(AuthorityCommandContext& context, const IssueCertRequest& request) {
  auto ca = requireReadyCa(context, request.ca);
  if (!ca) return ca.error();
  return context.authorities.issue((*ca)->key, request.leaf);
}

Result<Revoked> revokeCert(AuthorityCommandContext& context, const RevokeCertRequest& request) {
  auto ca = requireReadyCa(context, request.ca);
  if (!ca) return ca.error();
  Revocation revocation{request.serialHex, context.clock.now(), request.reason, std::nullopt};
  auto revoked = context.authorities.revoke((*ca)->key, revocation);
  if (!revoked) return revoked.error();
  auto stored = context.registry.revocationOf((*ca)->key, request.serialHex);
  return Revoked{request.serialHex, !*revoked, stored ? stored->reason : request.reason, std::nullopt};
}

Result<CaCrl> getCrl(AuthorityCommandContext& context, const CrlRequest& request) {
  auto ca = requireReadyCa(context, request.ca);
  if (!ca) return ca.error();
  int version = request.version.value_or((*ca)->current().version);
  auto crl = context.registry.crlOf((*ca)->key, version);
  if (!crl) return makeError("no CRL for version " + std::to_string(version) + " of " + (*ca)->key.str() + "; it is not live");
  return CaCrl{crl->pem, crl->crlNumber, version};
}

Result<CaCertificate> getCaCert(AuthorityCommandContext& context, const CaCertRequest& request) {
  auto ca = requireReadyCa(context, request.ca);
  if (!ca) return ca.error();
  return CaCertificate{(*ca)->current().cert.toPem(), (*ca)->current().version, (*ca)->trustPem};
}

Result<TenantUuid> getTenantUuid(AuthorityCommandContext& context, const TenantUuidRequest& request) {
  auto uuid = context.store.tenantUuid(request.namespace_);
  if (!uuid) return uuid.error();
  return TenantUuid{request.namespace_, *uuid};
}

Result<CertificateDescription> describeCertificate(StateStore& store, Kind kind, const ObjectKey& key) {
  CertificateDescription described;
  described.kind = kind;
  int leafCaVersion = 0;
  if (kind == Kind::VaultSecret) {
    auto record = store.loadSecretWithPems(key);
    if (!record) return record.error();
    if (!*record) return makeError("VaultSecret " + key.str() + " has no certificate yet");
    auto leaf = pki::Certificate::fromPem((*record)->certPem);
    if (!leaf) return leaf.error();
    described.certificatePem = leaf->toPem();  // the leaf alone, without the chain the record holds
    described.serialHex = (*record)->serialHex;
    described.notBefore = (*record)->notBefore;
    described.notAfter = (*record)->notAfter;
    described.issuingCa = (*record)->issuingCa;
    leafCaVersion = (*record)->caVersion;
  } else if (kind == Kind::CertificateAuthority) {
    described.issuingCa = key.name;
  } else {
    return makeError(kindName(kind) + " has no certificate; ask about a VaultSecret or a CertificateAuthority");
  }
  auto ca = store.loadCa({key.namespace_, described.issuingCa});
  if (!ca) return ca.error();
  if (!*ca || (*ca)->versions.empty())
    return makeError("CertificateAuthority " + key.namespace_ + "/" + described.issuingCa + " has no key yet");
  const CaVersionRecord* issuer = (*ca)->current();
  for (const auto& version : (*ca)->versions)
    if (version.version == leafCaVersion) issuer = &version;
  described.caVersion = issuer->version;
  described.issuerPem = issuer->certPem;
  if (kind == Kind::CertificateAuthority) {
    auto cert = pki::Certificate::fromPem(issuer->certPem);
    if (!cert) return cert.error();
    described.certificatePem = issuer->certPem;
    described.serialHex = cert->serialHex();
    described.notBefore = issuer->notBefore;
    described.notAfter = issuer->notAfter;
    return described;
  }
  auto revocations = store.loadRevocations({key.namespace_, described.issuingCa});
  if (!revocations) return revocations.error();
  for (const auto& revocation : *revocations)
    if (revocation.serialHex == described.serialHex) described.revocation = revocation;
  return described;
}

}  // namespace revoca
