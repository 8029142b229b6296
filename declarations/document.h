#pragma once
// One YAML document -> one declaration (or errors). The stream and file
// handling around it is in parse.cc.
#include <cstdint>
#include <string>

#include <yaml-cpp/yaml.h>

#include "declarations/types.h"

namespace revoca::decl {

// Adds the object `document` declares to `out`, or its errors. Documents of
// other API groups, and YAML that is not a Kubernetes-style object at all,
// are skipped: a declaration directory may hold other manifests. A
// `kind: List` (as `kubectl get -o yaml` writes) is read item by item.
void parseDocument(const YAML::Node& document, const std::string& source, DeclarationSet& out);

// Standalone mode's metadata.generation: a positive 63-bit hash of the spec
// that changes when the spec's content changes, but not with key order,
// quoting style or comments.
std::int64_t specGeneration(const YAML::Node& spec);

}  // namespace revoca::decl
