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
#include <cstddef>
#include <string>

#include <yaml-cpp/yaml.h>

#include "declarations/types.h"

namespace revoca {

// The most values one document may hold: a declaration, pod template
// included, has hundreds.
inline constexpr std::size_t kMaxDocumentNodes = 20000;
// The deepest a document built as a tree may nest (a pod template nests
// about ten levels; yaml-cpp refuses text nested 2,000 deep).
inline constexpr int kMaxTreeDepth = 1000;

// The size of a document built as a tree: its values, its deepest nesting.
struct TreeSize {
  std::size_t nodes = 0;
  int depth = 0;
  bool withinBounds() const { return nodes <= kMaxDocumentNodes && depth <= kMaxTreeDepth; }
};

// Appends every document of `yamlText` (multi-document allowed) to `out`.
void parseDeclarations(const std::string& yamlText, const std::string& sourceName,
                       DeclarationSet& out);

// Appends `document`, one document already built as a tree (an apiserver
// object, converted value for value from its JSON): what parseDeclarations
// does with a document once its text is parsed. A tree larger than the
// bounds above is refused; its builder may stop building past them.
void parseDeclarationTree(const YAML::Node& document, const TreeSize& size, const std::string& sourceName,
                          DeclarationSet& out);

// Reads every *.yaml / *.yml file directly in `directory`, sorted by name.
// An unreadable file becomes an error in the set.
DeclarationSet loadDeclarationDirectory(const std::string& directory);

}  // namespace revoca
