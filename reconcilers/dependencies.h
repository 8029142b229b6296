#pragma once
// Which objects a declaration names, so that a change to one requeues the
// objects that depend on it (controller-runtime's Watches with an index).
#include <memory>
#include <string_view>
#include <vector>

#include "declarations/kind.h"
#include "declarations/types.h"

namespace revoca {

struct ObjectRef {
  Kind kind = Kind::CertificateAuthority;
  ObjectKey key;
  auto operator<=>(const ObjectRef&) const = default;
  std::string str() const;  // "VaultSecret default/broker"
  // From an informer's or a work queue's key, "namespace/name".
  static ObjectRef fromKey(Kind kind, std::string_view key);
};

// One object's declaration, or the errors that refused it. A cluster's
// controllers hold one per object, so it is the object alone: no set of
// five vectors around it.
struct ObjectDeclaration {
  virtual ~ObjectDeclaration() = default;
  std::vector<DeclarationError> errors;
};
template <typename T>
struct DeclarationOf final : ObjectDeclaration {
  explicit DeclarationOf(T declared) : object(std::move(declared)) {}
  T object;
};

// What `parsed`, a set from one object, holds, moved out of it.
std::shared_ptr<const ObjectDeclaration> declarationFrom(DeclarationSet&& parsed);
// Adds the declaration and errors of `object` to `set`.
void copyInto(const ObjectDeclaration& object, DeclarationSet& set);

// What the declaration in `object` names: its issuing CA, Vault,
// VaultSecret. A name that exists nowhere is named all the same: the object
// it names may be created later.
std::vector<ObjectRef> namedBy(const ObjectDeclaration& object);

// The declaration in `object` as a T, or nullptr.
template <typename T>
const T* declarationOf(const ObjectDeclaration& object) {
  const auto* of = dynamic_cast<const DeclarationOf<T>*>(&object);
  return of ? &of->object : nullptr;
}

}  // namespace revoca
