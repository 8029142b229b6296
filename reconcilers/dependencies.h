#pragma once
// Which objects a declaration names, so that a change to one requeues the
// objects that depend on it (controller-runtime's Watches with an index).
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

// What the one declaration in `object` (a set from one object) names: its
// issuing CA, Vault, VaultSecret. A name that exists nowhere is named all the same:
// the object it names may be created later.
std::vector<ObjectRef> namedBy(const DeclarationSet& object);

// The one declaration in `object` as a T, or nullptr.
template <typename T>
const T* declarationOf(const DeclarationSet& object);

}  // namespace revoca
