#include <algorithm>

#include <spdlog/spdlog.h>

#include "reconcilers/reconcilers.h"
#include "reconcilers/renewal.h"
#include "reconcilers/time_format.h"

namespace revoca {
namespace {

ObjectStatus notReady(const VaultSecret& secret, std::string reason, std::string message) {
  ObjectStatus status;
  status.observedGeneration = secret.meta.generation;
  status.reason = std::move(reason);
  status.message = std::move(message);
  return status;
}

Result<SecretRecord> issueFor(ReconcileContext& context, const VaultSecret& secret, const ObjectKey& caKey) {
  const AutoCertSpec& spec = secret.spec.autoCert;
  auto leaf = context.authorities.issue(caKey, LeafRequest{spec.host, spec.altNames, spec.certType, spec.ttl});
  if (!leaf) return leaf.error();
  // With its PEMs, so no digests of them.
  SecretRecord record{leaf->certPem, leaf->keyPem, leaf->serialHex, spec.issuingCa, leaf->caVersion,
                      leaf->notBefore, leaf->notAfter, secret.meta.generation, {}, {}};
  if (auto saved = context.store.saveSecret(secret.key(), record); !saved) return saved.error();
  return record;
}

// The PEMs of a record loaded without them, read when an output is written.
Result<LeafPems> readPems(StateStore& store, const ObjectKey& key) {
  auto loaded = store.loadSecretWithPems(key);
  if (!loaded) return loaded.error();
  if (!*loaded || !(*loaded)->hasPems())
    return makeError("VaultSecret " + key.str() + ": its record holds no certificate; revoca issues one at its next pass");
  return LeafPems{std::move((*loaded)->certPem), std::move((*loaded)->keyPem)};
}

}  // namespace

ObjectStatus deploymentConflictStatus(const VaultSecret& secret, const std::string& conflict) {
  ObjectStatus status;
  status.observedGeneration = secret.meta.generation;
  status.reason = "DeploymentConflict";
  status.message =
      "spec.vault: deployment " + conflict + "; put this secret in a vault that distributes to other deployments";
  return status;
}

VaultSecretOutcome reconcileVaultSecret(ReconcileContext& context, const VaultSecret& secret, const Vault* vault) {
  if (!vault)
    return {notReady(secret, "VaultNotFound",
                     "spec.vault: Vault " + secret.meta.namespace_ + "/" + secret.spec.vault +
                         " does not exist; create it or fix the name"),
            std::nullopt};
  const AutoCertSpec& spec = secret.spec.autoCert;
  ObjectKey caKey{secret.meta.namespace_, spec.issuingCa};
  const ActiveCa* ca = context.authorities.active(caKey);
  if (!ca)
    return {notReady(secret, "IssuerNotReady",
                     "spec.autoCert.issuingCa: CertificateAuthority " + caKey.str() +
                         " is not Ready; create it or fix its errors (the certificate already issued stays in place)"),
            std::nullopt};

  auto loaded = context.store.loadSecret(secret.key());
  if (!loaded) return {notReady(secret, "StateUnreadable", loaded.error().message), std::nullopt};
  std::optional<SecretRecord> record = *loaded;

  ReissueInputs inputs;
  inputs.record = record ? &*record : nullptr;
  inputs.generation = secret.meta.generation;
  inputs.liveCaVersions = ca->liveVersions;
  inputs.revoked = record && context.authorities.isRevoked(caKey, record->serialHex);
  TimePoint now = context.clock.now();
  const CaVersionMaterial& signer = ca->signer(spec.certType, now);
  inputs.signerNotAfter = signer.cert.notAfter();
  ReissueReason reason = decideReissue(inputs, spec, secret.key().str(), now);
  if (reason != ReissueReason::None) {
    auto issued = issueFor(context, secret, caKey);
    if (!issued) {
      return {notReady(secret, "IssueFailed", issued.error().message + " (the certificate already issued stays in place)"),
              context.clock.now() + Seconds(30)};
    }
    record = *issued;
    // The event a user looks for; cert-manager emits it as an Event.
    spdlog::info("VaultSecret {}: Issued serial {} ({}), valid until {}", secret.key().str(), record->serialHex,
                 reissueReasonName(reason), formatTimestamp(record->notAfter));
  }

  SecretFiles files{secret.meta.name, record->certPem, record->keyPem, ca->trustPemFor(record->caVersion),
                    secret.spec.fileOwnership, secret.spec.fileMode, record->certDigest, record->keyDigest, {}};
  if (!record->hasPems()) files.readPems = [&context, &secret]() { return readPems(context.store, secret.key()); };
  // The same files everywhere: the key file as the first deployment has it.
  std::optional<KeyFileAccess> keyFile;
  for (const auto& deployment : vault->spec.distributeDeployments) {
    auto published = context.output.publishSecret(secret.meta.namespace_, deployment, files);
    if (!published)
      return {notReady(secret, "PublishFailed", "publishing the certificate for deployment " + deployment + ": " +
                                                           published.error().message),
              context.clock.now() + Seconds(30)};
    if (!keyFile) keyFile = *published;
  }

  TimePoint renewal = secretRenewalTime(*record, spec, secret.key().str());
  // A certificate cut short by its CA version is renewed when another
  // version takes over signing (a new one made, then trusted).
  if (record->notAfter >= signer.cert.notAfter()) renewal = std::max(renewal, ca->nextSignerChange(spec.certType, now));
  ObjectStatus status;
  status.observedGeneration = secret.meta.generation;
  status.ready = true;
  status.reason = "Ready";
  status.message = "serial " + record->serialHex + " is valid until " + formatTimestamp(record->notAfter) +
                   ", renewal at " + formatTimestamp(renewal);
  VaultSecretFacts facts{record->serialHex, record->notBefore, record->notAfter, renewal, record->caVersion,
                         std::nullopt, keyFile};
  if (reason != ReissueReason::None) facts.lastIssueReason = reason;
  status.facts = std::move(facts);
  return {status, renewal};
}

}  // namespace revoca
