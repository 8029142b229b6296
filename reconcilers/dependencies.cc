#include "reconcilers/dependencies.h"

namespace revoca {

std::string ObjectRef::str() const { return kindName(kind) + " " + key.str(); }

ObjectRef ObjectRef::fromKey(Kind kind, std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {kind, {std::string(key), ""}};
  return {kind, {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))}};
}

std::vector<ObjectRef> namedBy(const DeclarationSet& object) {
  std::vector<ObjectRef> named;
  for (const auto& ca : object.authorities)
    if (ca.spec.issuingCa) named.push_back({Kind::CertificateAuthority, {ca.meta.namespace_, *ca.spec.issuingCa}});
  for (const auto& secret : object.vaultSecrets) {
    named.push_back({Kind::CertificateAuthority, {secret.meta.namespace_, secret.spec.autoCert.issuingCa}});
    named.push_back({Kind::Vault, {secret.meta.namespace_, secret.spec.vault}});
  }
  for (const auto& revocation : object.revocations)
    named.push_back({Kind::CertificateAuthority, {revocation.meta.namespace_, revocation.spec.ca}});
  for (const auto& emqx : object.emqxDeployments) {
    named.push_back({Kind::Vault, {emqx.meta.namespace_, emqx.spec.vault}});
    named.push_back({Kind::VaultSecret, {emqx.meta.namespace_, emqx.spec.secret}});
  }
  return named;
}

template <>
const CertificateAuthority* declarationOf(const DeclarationSet& object) {
  return object.authorities.empty() ? nullptr : &object.authorities.front();
}
template <>
const Vault* declarationOf(const DeclarationSet& object) {
  return object.vaults.empty() ? nullptr : &object.vaults.front();
}
template <>
const VaultSecret* declarationOf(const DeclarationSet& object) {
  return object.vaultSecrets.empty() ? nullptr : &object.vaultSecrets.front();
}
template <>
const CertificateRevocation* declarationOf(const DeclarationSet& object) {
  return object.revocations.empty() ? nullptr : &object.revocations.front();
}
template <>
const EmqxDeployment* declarationOf(const DeclarationSet& object) {
  return object.emqxDeployments.empty() ? nullptr : &object.emqxDeployments.front();
}

}  // namespace revoca
