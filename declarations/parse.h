#pragma once
// Reads revoca.io/v1alpha1 declarations from YAML, the same shape a user
// gives `kubectl apply`:
//
//   apiVersion: revoca.io/v1alpha1
//   kind: CertificateAuthority
//   metadata: { name: mqtt-ca, namespace: default }
//   spec: { ttl: 1y350d, certKeyType: ecdsa, ... }
//
// Documents of other API groups are skipped; a broken document becomes a
// DeclarationError and never hides the valid documents beside it.
#include <string>

#include "declarations/types.h"

namespace revoca {

// Appends every document of `yamlText` (multi-document allowed) to `out`.
void parseDeclarations(const std::string& yamlText, const std::string& sourceName,
                       DeclarationSet& out);

// Reads every *.yaml / *.yml file directly in `directory`, sorted by name.
// An unreadable file becomes an error in the set.
DeclarationSet loadDeclarationDirectory(const std::string& directory);

}  // namespace revoca
