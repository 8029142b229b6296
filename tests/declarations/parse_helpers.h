#pragma once
// Shared by the declaration tests: parse a YAML text and find the error
// reported for a field.
#include <string>

#include "declarations/parse.h"

namespace revoca::testing {

inline DeclarationSet parse(const std::string& yaml, const std::string& source = "decl.yaml") {
  DeclarationSet set;
  parseDeclarations(yaml, source, set);
  return set;
}

inline std::string allErrors(const DeclarationSet& set) {
  std::string out;
  for (const DeclarationError& error : set.errors) out += error.str() + "\n";
  return out;
}

inline const DeclarationError* errorAt(const DeclarationSet& set, const std::string& field) {
  for (const DeclarationError& error : set.errors)
    if (error.field == field) return &error;
  return nullptr;
}

inline std::size_t objectCount(const DeclarationSet& set) {
  return set.authorities.size() + set.vaults.size() + set.vaultSecrets.size() + set.revocations.size() +
         set.emqxDeployments.size();
}

}  // namespace revoca::testing
