#pragma once
// Turns revoca objects from the apiserver into declarations with the same
// parser the standalone mode uses on YAML files, so both modes accept and
// refuse exactly the same specs.
#include <string>

#include <nlohmann/json.hpp>

#include "declarations/types.h"

namespace revoca::kubernetes {

// Appends the object (or its DeclarationErrors) to `out`. metadata.generation
// comes from the apiserver, so status.observedGeneration matches what
// `kubectl get` shows.
void appendDeclaration(const nlohmann::json& object, DeclarationSet& out);

}  // namespace revoca::kubernetes
