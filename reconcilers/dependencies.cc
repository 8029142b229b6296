#include "reconcilers/dependencies.h"

#include <type_traits>

namespace revoca {

std::string ObjectRef::str() const { return kindName(kind) + " " + key.str(); }

ObjectRef ObjectRef::fromKey(Kind kind, std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {kind, {std::string(key), ""}};
  return {kind, {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))}};
}

namespace {

void addNamed(const CertificateAuthority& ca, std::vector<ObjectRef>& named) {
  if (ca.spec.issuingCa) named.push_back({Kind::CertificateAuthority, {ca.meta.namespace_, *ca.spec.issuingCa}});
}
void addNamed(const Vault&, std::vector<ObjectRef>&) {}
void addNamed(const VaultSecret& secret, std::vector<ObjectRef>& named) {
  named.push_back({Kind::CertificateAuthority, {secret.meta.namespace_, secret.spec.autoCert.issuingCa}});
  named.push_back({Kind::Vault, {secret.meta.namespace_, secret.spec.vault}});
}
void addNamed(const CertificateRevocation& revocation, std::vector<ObjectRef>& named) {
  named.push_back({Kind::CertificateAuthority, {revocation.meta.namespace_, revocation.spec.ca}});
}
void addNamed(const EmqxDeployment& emqx, std::vector<ObjectRef>& named) {
  named.push_back({Kind::Vault, {emqx.meta.namespace_, emqx.spec.vault}});
  named.push_back({Kind::VaultSecret, {emqx.meta.namespace_, emqx.spec.secret}});
}

// Calls `visit` with each kind's vector of `set`.
template <typename Set, typename Visit>
void forEachKind(Set& set, Visit&& visit) {
  visit(set.authorities);
  visit(set.vaults);
  visit(set.vaultSecrets);
  visit(set.revocations);
  visit(set.emqxDeployments);
}

// Calls `visit` with std::type_identity<T> for each kind's type T.
template <typename Visit>
void forEachKindType(Visit&& visit) {
  visit(std::type_identity<CertificateAuthority>{});
  visit(std::type_identity<Vault>{});
  visit(std::type_identity<VaultSecret>{});
  visit(std::type_identity<CertificateRevocation>{});
  visit(std::type_identity<EmqxDeployment>{});
}

}  // namespace

std::vector<ObjectRef> namedBy(const ObjectDeclaration& object) {
  std::vector<ObjectRef> named;
  forEachKindType([&](auto type) {
    if (const auto* declared = declarationOf<typename decltype(type)::type>(object)) addNamed(*declared, named);
  });
  return named;
}

std::shared_ptr<const ObjectDeclaration> declarationFrom(DeclarationSet&& parsed) {
  std::shared_ptr<ObjectDeclaration> made;
  forEachKind(parsed, [&](auto& declarations) {
    using T = typename std::decay_t<decltype(declarations)>::value_type;
    if (!made && !declarations.empty()) made = std::make_shared<DeclarationOf<T>>(std::move(declarations.front()));
  });
  if (!made) made = std::make_shared<ObjectDeclaration>();
  made->errors = std::move(parsed.errors);
  return made;
}

void copyInto(const ObjectDeclaration& object, DeclarationSet& set) {
  forEachKind(set, [&](auto& declarations) {
    using T = typename std::decay_t<decltype(declarations)>::value_type;
    if (const T* declared = declarationOf<T>(object)) declarations.push_back(*declared);
  });
  set.errors.insert(set.errors.end(), object.errors.begin(), object.errors.end());
}

}  // namespace revoca
