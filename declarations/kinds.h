#pragma once
// The spec of each kind, read from YAML: field names, defaults, and the
// checks that need no other object (references between objects are the
// reconcilers' business, since the other object may come later).
#include "declarations/types.h"
#include "declarations/yaml_fields.h"

namespace revoca::decl {

// Each reader reads every field of `spec`, reports the unknown ones, and
// leaves its problems in the reader's problem list.
CertificateAuthoritySpec readCertificateAuthoritySpec(FieldReader& spec, const ObjectMeta& meta);
VaultSpec readVaultSpec(FieldReader& spec);
VaultSecretSpec readVaultSecretSpec(FieldReader& spec);
CertificateRevocationSpec readCertificateRevocationSpec(FieldReader& spec);
EmqxDeploymentSpec readEmqxDeploymentSpec(FieldReader& spec);

}  // namespace revoca::decl
