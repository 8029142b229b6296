#include "core/duration.h"
#include "reconcilers/reconcilers.h"
#include "reconcilers/renewal.h"
#include "reconcilers/time_format.h"

namespace revoca {
namespace {

// What a change of spec.crlDistUrls did, in words: the live versions older
// than the signing one whose certificates carry other CRL URLs keep them.
std::string crlUrlsNote(const ActiveCa& active) {
  int current = active.record.current()->version;
  std::vector<std::string> kept;
  for (int version : active.liveVersions)
    if (version != current && active.crlUrls(version) != active.crlUrls(current))
      kept.push_back(std::to_string(version));
  if (kept.empty()) return "";
  std::string versions;
  for (const auto& version : kept) versions += (versions.empty() ? "" : ", ") + version;
  return "; its CRL URLs (spec.crlDistUrls) took effect with version " + std::to_string(current) +
         ": the certificates of version" + (kept.size() > 1 ? "s " : " ") + versions +
         " keep the CRL URLs they carry, and each version's CRL names its own";
}

// Which version signs what, and until when: a new version is trusted
// before it signs (spec.rotation).
std::string signingNote(int newest, int clientSigner, int serverSigner, TimePoint clientSwitch,
                        TimePoint serverSwitch) {
  if (clientSigner == newest && serverSigner == newest) return "version " + std::to_string(newest) + " signs";
  std::string note = "version " + std::to_string(newest) + " is trusted (in every bundle) and signs ";
  if (clientSigner != newest)
    note += "client certificates from " + formatTimestamp(clientSwitch) + " (version " +
            std::to_string(clientSigner) + " until then) and ";
  note += "server certificates and intermediates from " + formatTimestamp(serverSwitch);
  if (serverSigner != newest) note += " (version " + std::to_string(serverSigner) + " until then)";
  return note;
}

}  // namespace

ObjectStatus reconcileCertificateAuthority(ReconcileContext& context, const CertificateAuthority& declaration,
                                           const TenantInfo& tenant) {
  ObjectStatus status;
  status.observedGeneration = declaration.meta.generation;
  auto ca = context.authorities.reconcileCa(declaration, tenant);
  if (!ca) {
    status.reason = "IssuerFailed";
    status.message = ca.error().message;
    return status;
  }
  const ActiveCa& active = **ca;
  const CaVersionRecord& current = *active.record.current();
  for (const auto& deployment : declaration.spec.distributeDeployments) {
    auto published = context.output.publishCaBundle(declaration.meta.namespace_, deployment, declaration.meta.name,
                                                    active.trustPem);
    if (!published) {
      status.reason = "PublishFailed";
      status.message = "spec.distribute.deployments[" + deployment + "]: " + published.error().message;
      return status;
    }
  }
  TimePoint now = context.clock.now();
  int clientSigner = active.signer(pki::CertType::Client, now).version;
  int serverSigner = active.signer(pki::CertType::Server, now).version;
  TimePoint clientSwitch = active.nextSignerChange(pki::CertType::Client, now);
  TimePoint serverSwitch = active.nextSignerChange(pki::CertType::Server, now);
  status.ready = true;
  status.reason = "Ready";
  status.message = signingNote(current.version, clientSigner, serverSigner, clientSwitch, serverSwitch) + "; " +
                   std::to_string(active.liveVersions.size()) + " live version(s) in every bundle" + crlUrlsNote(active);
  CertificateAuthorityFacts facts;
  facts.version = current.version;
  facts.clientSigningVersion = clientSigner;
  facts.serverSigningVersion = serverSigner;
  facts.clientSwitchTime = clientSwitch;
  facts.serverSwitchTime = serverSwitch;
  facts.liveVersions = static_cast<std::int64_t>(active.liveVersions.size());
  facts.serial = active.current().cert.serialHex();
  facts.notBefore = current.notBefore;
  facts.notAfter = current.notAfter;
  facts.renewalTime = caRenewalTime(current, declaration.spec);
  facts.tenantUuid = tenant.uuid;
  if (auto urls = active.crlUrls(current.version); !urls.empty()) facts.crlUrl = urls.front();
  facts.crlNumber = context.authorities.crlNumber(active.key, current.version);
  status.facts = std::move(facts);
  return status;
}

ObjectStatus reconcileCertificateAuthority(ReconcileContext& context, const CertificateAuthority& ca, Tenants& tenants) {
  auto tenant = tenants.of(ca.meta.namespace_);
  if (tenant) return reconcileCertificateAuthority(context, ca, *tenant);
  ObjectStatus status;
  status.observedGeneration = ca.meta.generation;
  status.reason = "TenantUnavailable";
  status.message = tenant.error().message;
  return status;
}

ObjectStatus issuerMissingStatus(const CertificateAuthority& ca) {
  ObjectStatus status;
  status.observedGeneration = ca.meta.generation;
  status.reason = "IssuerNotReady";
  status.message = "spec.issuingCa: CertificateAuthority " + ca.meta.namespace_ + "/" + ca.spec.issuingCa.value_or("") +
                   " does not exist or is in a cycle; create it or fix the name";
  return status;
}

ObjectStatus reconcileCertificateRevocation(ReconcileContext& context, const CertificateRevocation& declaration) {
  ObjectStatus status;
  status.observedGeneration = declaration.meta.generation;
  ObjectKey ca{declaration.meta.namespace_, declaration.spec.ca};
  Revocation revocation{declaration.spec.serial, context.clock.now(), declaration.spec.reason,
                        declaration.spec.invalidityDate};
  if (context.authorities.active(ca) && !context.authorities.revocationOf(ca, declaration.spec.serial)) {
    if (auto issued = context.authorities.requireIssued(ca, declaration.spec.serial); !issued) {
      status.reason = "SerialNotIssued";
      status.message = "spec.serial: " + issued.error().message;
      return status;
    }
  }
  auto revoked = context.authorities.revoke(ca, revocation);
  if (!revoked) {
    status.reason = "CaNotReady";
    status.message = "spec.ca: " + revoked.error().message;
    return status;
  }
  status.ready = true;
  status.reason = "Revoked";
  status.message = "serial " + declaration.spec.serial + " is on the CRL of " + ca.str() +
                   "; revocations are permanent: deleting this object does not undo it";
  CertificateRevocationFacts facts{declaration.spec.serial, std::nullopt, std::nullopt};
  if (auto stored = context.authorities.revocationOf(ca, declaration.spec.serial)) facts.revokedAt = stored->revokedAt;
  // The first CRL that listed it, as recorded when it was signed: the CA's
  // current CRL number would move with every later CRL.
  facts.crlNumber = context.authorities.firstCrlNumber(ca, declaration.spec.serial);
  status.facts = std::move(facts);
  return status;
}

ObjectStatus reconcileVault(ReconcileContext& context, const Vault& vault) {
  ObjectStatus status;
  status.observedGeneration = vault.meta.generation;
  status.ready = true;
  status.reason = "Ready";
  auto deployments = static_cast<std::int64_t>(vault.spec.distributeDeployments.size());
  status.message = "distributes to " + std::to_string(deployments) + " deployment(s)";
  status.facts = VaultFacts{deployments};
  return status;
}

}  // namespace revoca
