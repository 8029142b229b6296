// Target (g): one of revoca's objects as the apiserver sends it (JSON),
// read as Kubernetes mode reads it (kubernetes/object_declarations.cc):
// built into a YAML tree value for value, with no text, then decoded as a
// declaration file's documents are. The tree must be the one yaml-cpp
// parses from the JSON's text (what was read before), and so must the
// declaration or errors made of it.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "declarations/parse.h"
#include "fuzz/check.h"
#include "kubernetes/object_declarations.h"

namespace {

bool sameTree(const YAML::Node& built, const YAML::Node& parsed) {
  if (built.Type() != parsed.Type() || built.Tag() != parsed.Tag() || built.size() != parsed.size()) return false;
  if (parsed.IsScalar()) return built.Scalar() == parsed.Scalar();
  if (parsed.IsSequence()) {
    for (std::size_t i = 0; i < parsed.size(); ++i)
      if (!sameTree(built[i], parsed[i])) return false;
  }
  if (parsed.IsMap()) {
    for (auto b = built.begin(), p = parsed.begin(); p != parsed.end(); ++b, ++p)
      if (!sameTree(b->first, p->first) || !sameTree(b->second, p->second)) return false;
  }
  return true;
}

std::string errorsOf(const revoca::DeclarationSet& set) {
  std::string all;
  for (const auto& error : set.errors) all += error.str() + "\n";
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace revoca;
  auto object = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return 0;  // the apiserver sends objects

  DeclarationSet fromTree;
  kubernetes::appendDeclaration(object, fromTree);
  for (const auto& error : fromTree.errors) FUZZ_CHECK(!error.message.empty(), "an error without a message");

  TreeSize bounds;
  YAML::Node tree = kubernetes::declarationTree(object, bounds);
  if (!bounds.withinBounds()) return 0;
  nlohmann::json declaration = object;
  declaration.erase("status");
  if (declaration.contains("metadata") && declaration["metadata"].is_object()) declaration["metadata"].erase("managedFields");
  std::string text = declaration.dump();
  YAML::Node parsed;
  try {
    parsed = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return 0;  // text yaml-cpp cannot read (nested past its own bound): nothing to compare
  }
  FUZZ_CHECK(sameTree(tree, parsed), "the tree built from the JSON is not the tree its text parses to");

  DeclarationSet fromText;
  parseDeclarations(text, kubernetes::declarationSource(object), fromText);
  FUZZ_CHECK(fromText.authorities.size() == fromTree.authorities.size() &&
                 fromText.vaults.size() == fromTree.vaults.size() &&
                 fromText.vaultSecrets.size() == fromTree.vaultSecrets.size() &&
                 fromText.revocations.size() == fromTree.revocations.size() &&
                 fromText.emqxDeployments.size() == fromTree.emqxDeployments.size(),
             "the tree declares other objects than the text");
  // The text path's errors carry no generation; the tree's are given the object's.
  for (auto& error : fromTree.errors) error.generation = 0;
  FUZZ_CHECK(errorsOf(fromText) == errorsOf(fromTree), "the tree is refused otherwise than the text");
  return 0;
}
