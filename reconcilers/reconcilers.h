#pragma once
// One reconciler per kind: each reads one declaration and what is known,
// acts through AuthorityService and OutputSink, and returns the status to
// report. They hold no state of their own, so any backend can call them.
#include <optional>

#include "core/clock.h"
#include "declarations/types.h"
#include "reconcilers/authority_service.h"
#include "ports/outputs.h"
#include "reconcilers/tenants.h"

namespace revoca {

struct ReconcileContext {
  AuthorityService& authorities;
  StateStore& store;
  OutputSink& output;
  const Clock& clock;
  // VaultSecrets reconciled at once. Above 1 the store, output and status
  // sink must take calls from several threads (the Kubernetes engine's do,
  // and each of its calls waits on the apiserver); standalone keeps 1.
  int vaultSecretWorkers = 1;
};

ObjectStatus reconcileCertificateAuthority(ReconcileContext& context, const CertificateAuthority& ca,
                                           const TenantInfo& tenant);
// The same in its namespace's tenant: TenantUnavailable while that cannot be read.
ObjectStatus reconcileCertificateAuthority(ReconcileContext& context, const CertificateAuthority& ca, Tenants& tenants);

ObjectStatus reconcileCertificateRevocation(ReconcileContext& context, const CertificateRevocation& revocation);

ObjectStatus reconcileVault(ReconcileContext& context, const Vault& vault);

struct VaultSecretOutcome {
  ObjectStatus status;
  std::optional<TimePoint> renewalTime;  // when to look at it again
};
// `vault` is nullptr when the named Vault does not exist.
VaultSecretOutcome reconcileVaultSecret(ReconcileContext& context, const VaultSecret& secret, const Vault* vault);

// `secret` is nullptr when the named VaultSecret does not exist;
// `secretNotReady` is the status it was given in the same pass when that is
// not Ready (its files were not delivered: refused as a DeploymentConflict,
// not issued, not published), else nullptr. An EmqxDeployment is Ready only
// when what it names is what its deployment was given.
ObjectStatus reconcileEmqxDeployment(ReconcileContext& context, const EmqxDeployment& emqx, const Vault* vault,
                                     const VaultSecret* secret, const ObjectStatus* secretNotReady);

// An intermediate whose chain of parents does not reach a root CA.
ObjectStatus issuerMissingStatus(const CertificateAuthority& ca);
// A VaultSecret refused because another one takes its deployment (`conflict`
// says which and whose): it publishes nowhere.
ObjectStatus deploymentConflictStatus(const VaultSecret& secret, const std::string& conflict);

// The deployment an EmqxDeployment renders for: spec.deploymentName or its own name.
std::string emqxDeploymentTarget(const EmqxDeployment& emqx);

}  // namespace revoca
