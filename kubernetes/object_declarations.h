#pragma once
// Turns revoca objects from the apiserver into declarations with the same
// parser the standalone mode uses on YAML files, so both modes accept and
// refuse exactly the same specs.
#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "declarations/parse.h"
#include "declarations/types.h"

namespace revoca::kubernetes {

// Appends the object (or its DeclarationErrors) to `out`. metadata.generation
// comes from the apiserver, so status.observedGeneration matches what
// `kubectl get` shows.
void appendDeclaration(const nlohmann::json& object, DeclarationSet& out);

// "VaultSecret namespace/name": where its errors say they come from.
std::string declarationSource(const nlohmann::json& object);

// The tree yaml-cpp would parse from the object's JSON text, less its
// status and metadata.managedFields, and in `size` its values and nesting
// (it stops building past the bounds of declarations/parse.h).
YAML::Node declarationTree(const nlohmann::json& object, TreeSize& size);

}  // namespace revoca::kubernetes
