#include <algorithm>
#include <optional>

#include "core/duration.h"

#include "reconcilers/emqx_env.h"
#include "reconcilers/reconcilers.h"

namespace revoca {
namespace {

// The old certificate must outlive the time the brokers take to present the
// new one, and the first OCSP refresh after it: otherwise devices meet an
// expired certificate, or a staple for it, in the gap.
std::optional<std::string> refreshThresholdShortfall(const EmqxDeployment& emqx, const VaultSecret& secret) {
  const EmqxDeploymentSpec& spec = emqx.spec;
  Seconds needed = spec.reloadWithin + (spec.ocspStapling.enabled ? spec.ocspStapling.refreshInterval : Seconds(0));
  Seconds threshold = secret.spec.autoCert.refreshThreshold;
  if (threshold >= needed) return std::nullopt;
  std::string parts = "spec.rotation.reloadWithin " + formatDuration(spec.reloadWithin);
  if (spec.ocspStapling.enabled)
    parts += " + spec.ocspStapling.refreshInterval " + formatDuration(spec.ocspStapling.refreshInterval);
  return "spec.secret: VaultSecret " + emqx.meta.namespace_ + "/" + secret.meta.name + " renews its certificate " +
         formatDuration(threshold) + " before it expires (spec.autoCert.refreshThreshold), but the brokers of "
         "this deployment need " + formatDuration(needed) + " to present a new one (" + parts +
         "); raise the VaultSecret's spec.autoCert.refreshThreshold to at least " + formatDuration(needed) +
         " (and its ttl above that), or lower spec.rotation.reloadWithin if the brokers reload faster";
}

}  // namespace

std::string emqxDeploymentTarget(const EmqxDeployment& emqx) {
  return emqx.spec.deploymentName.value_or(emqx.meta.name);
}

ObjectStatus reconcileEmqxDeployment(ReconcileContext& context, const EmqxDeployment& emqx, const Vault* vault,
                                     const VaultSecret* secret, const ObjectStatus* secretNotReady) {
  ObjectStatus status;
  status.observedGeneration = emqx.meta.generation;
  auto fail = [&](std::string reason, std::string message) {
    status.reason = std::move(reason);
    status.message = std::move(message);
    return status;
  };
  const std::string& ns = emqx.meta.namespace_;
  if (!vault) return fail("VaultNotFound", "spec.vault: Vault " + ns + "/" + emqx.spec.vault + " does not exist; create it or fix the name");
  if (!secret)
    return fail("SecretNotFound", "spec.secret: VaultSecret " + ns + "/" + emqx.spec.secret +
                                      " does not exist; create it or fix the name");
  if (secret->spec.vault != emqx.spec.vault)
    return fail("SecretNotInVault", "spec.secret: VaultSecret " + secret->meta.name + " belongs to vault " +
                                        secret->spec.vault + ", not " + emqx.spec.vault + "; fix spec.vault or spec.secret");
  std::string target = emqxDeploymentTarget(emqx);
  const auto& deployments = vault->spec.distributeDeployments;
  if (std::find(deployments.begin(), deployments.end(), target) == deployments.end())
    return fail("NotDistributed", "spec.vault: Vault " + emqx.spec.vault + " does not distribute to deployment " + target +
                                      "; add it to the Vault's spec.distribute.deployments");
  if (auto tooShort = refreshThresholdShortfall(emqx, *secret))
    return fail("RefreshThresholdTooShort", *tooShort);
  // Its deployment may hold another VaultSecret's certificate (a
  // DeploymentConflict), or an older one of its own, or none.
  if (secretNotReady)
    return fail("SecretNotDelivered", "spec.secret: VaultSecret " + secret->meta.name + " was not delivered to deployment " +
                                          target + ": it is not Ready (" + secretNotReady->reason + ": " +
                                          secretNotReady->message + "); fix it, or name the VaultSecret the "
                                          "deployment receives");

  // Stapling's responder URL defaults to the CA's: while the CA is not
  // Ready there is nothing right to render (and EMQX's rules would blame
  // spec.ocspStapling.responderUrl, which is not what to fix).
  const std::string& issuer = secret->spec.autoCert.issuingCa;
  const ActiveCa* ca = context.authorities.active(ObjectKey{ns, issuer});
  if (!ca && emqx.spec.ocspStapling.enabled && !emqx.spec.ocspStapling.responderUrl)
    return fail("IssuerNotReady", "spec.secret: VaultSecret " + secret->meta.name + " is issued by CertificateAuthority " +
                                      ns + "/" + issuer + ", which is not Ready; see its status");
  std::string caOcspUrl;
  if (ca)
    if (auto urls = ca->ocspUrls(ca->signer(pki::CertType::Server, context.clock.now()).version); !urls.empty())
      caOcspUrl = urls.front();
  auto env = renderEmqxEnv(EmqxRenderInput{&emqx.spec, caOcspUrl});
  if (!env) return fail("RefusedByEmqxRules", env.error().message);
  EmqxOutput output{ns,
                    target,
                    emqx.meta.name,
                    secret->meta.name,
                    emqx.spec.certDir,
                    emqx.spec.deploymentName.has_value(),
                    emqx.spec.rotation,
                    *env};
  auto published = context.output.publishEmqxEnv(output);
  if (!published) return fail("PublishFailed", published.error().message);
  status.ready = true;
  status.reason = "Rendered";
  status.message = "EMQX environment for deployment " + target + " (" + std::to_string(env->size()) + " variables)";
  EmqxDeploymentFacts facts{target, std::nullopt, std::move(*published)};
  for (const auto& var : *env)
    if (var.name.find("OCSP__RESPONDER_URL") != std::string::npos)
      facts.ocspResponderUrl = var.value.size() >= 2 && var.value.front() == '"'
                                   ? var.value.substr(1, var.value.size() - 2)  // HOCON quotes off
                                   : var.value;
  status.facts = std::move(facts);
  return status;
}

}  // namespace revoca
