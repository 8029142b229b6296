#include "ports/object_facts.h"

#include <cstdio>

namespace revoca {
namespace {

void visitKeyFile(const std::optional<KeyFileAccess>& keyFile, FactVisitor& visitor) {
  if (!keyFile) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", keyFile->mode & 07777);
  visitor.text("fileOwner", std::to_string(keyFile->uid) + ":" + std::to_string(keyFile->gid));
  visitor.text("fileMode", mode);
}

void visitKind(const std::monostate&, FactVisitor&) {}

void visitKind(const CertificateAuthorityFacts& ca, FactVisitor& visitor) {
  visitor.integer("version", ca.version);
  visitor.integer("clientSigningVersion", ca.clientSigningVersion);
  visitor.integer("serverSigningVersion", ca.serverSigningVersion);
  visitor.time("clientSwitchTime", ca.clientSwitchTime);
  visitor.time("serverSwitchTime", ca.serverSwitchTime);
  visitor.integer("liveVersions", ca.liveVersions);
  visitor.text("serial", ca.serial);
  visitor.time("notBefore", ca.notBefore);
  visitor.time("notAfter", ca.notAfter);
  visitor.time("renewalTime", ca.renewalTime);
  visitor.text("tenantUuid", ca.tenantUuid);
  if (ca.crlUrl) visitor.text("crlUrl", *ca.crlUrl);
  if (ca.crlNumber) visitor.integer("crlNumber", static_cast<std::int64_t>(*ca.crlNumber));
}

void visitKind(const CertificateRevocationFacts& revocation, FactVisitor& visitor) {
  visitor.text("serial", revocation.serial);
  if (revocation.revokedAt) visitor.time("revokedAt", *revocation.revokedAt);
  if (revocation.crlNumber) visitor.integer("crlNumber", static_cast<std::int64_t>(*revocation.crlNumber));
}

void visitKind(const VaultFacts& vault, FactVisitor& visitor) { visitor.integer("deployments", vault.deployments); }

void visitKind(const VaultSecretFacts& secret, FactVisitor& visitor) {
  visitor.text("serial", secret.serial);
  visitor.time("notBefore", secret.notBefore);
  visitor.time("notAfter", secret.notAfter);
  visitor.time("renewalTime", secret.renewalTime);
  visitor.integer("caVersion", secret.caVersion);
  if (secret.lastIssueReason) visitor.text("lastIssueReason", reissueReasonName(*secret.lastIssueReason));
  visitKeyFile(secret.keyFile, visitor);
}

void visitKind(const EmqxDeploymentFacts& emqx, FactVisitor& visitor) {
  visitor.text("deployment", emqx.deployment);
  if (emqx.ocspResponderUrl) visitor.text("ocspResponderUrl", *emqx.ocspResponderUrl);
  const EmqxEnvFacts& published = emqx.published;
  if (published.envFile) visitor.text("envFile", *published.envFile);
  if (const auto& rollout = published.rollout) {
    visitor.text("configMap", rollout->configMap);
    visitor.text("certificateHash", rollout->certificateHash);
    visitor.text("envHash", rollout->envHash);
    visitor.text("rotation", rollout->rotation == RotationPolicy::Restart ? "restart" : "reload");
  }
  visitKeyFile(published.keyFile, visitor);
}

}  // namespace

std::string reissueReasonName(ReissueReason reason) {
  switch (reason) {
    case ReissueReason::None: return "None";
    case ReissueReason::Missing: return "Missing";
    case ReissueReason::SpecChanged: return "SpecChanged";
    case ReissueReason::IssuerChanged: return "IssuerChanged";
    case ReissueReason::CaVersionRetired: return "CaVersionRetired";
    case ReissueReason::Revoked: return "Revoked";
    case ReissueReason::NearExpiry: return "NearExpiry";
  }
  return "Unknown";
}

void visitFacts(const ObjectFacts& facts, FactVisitor& visitor) {
  std::visit([&visitor](const auto& kindFacts) { visitKind(kindFacts, visitor); }, facts);
}

}  // namespace revoca
