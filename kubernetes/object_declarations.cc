#include "kubernetes/object_declarations.h"

#include "declarations/parse.h"

namespace revoca::kubernetes {
namespace {

template <typename T>
void moveAll(std::vector<T>& from, std::vector<T>& to, std::int64_t generation) {
  for (auto& object : from) {
    object.meta.generation = generation;
    to.push_back(std::move(object));
  }
}

}  // namespace

void appendDeclaration(const nlohmann::json& object, DeclarationSet& out) {
  const auto& metadata = object.value("metadata", nlohmann::json::object());
  std::string name = metadata.value("namespace", "") + "/" + metadata.value("name", "");
  std::string source = object.value("kind", "object") + " " + name;
  // The server's bookkeeping is not part of the declaration.
  nlohmann::json declaration = object;
  declaration.erase("status");
  if (declaration.contains("metadata")) declaration["metadata"].erase("managedFields");

  DeclarationSet parsed;
  // JSON is YAML: one parser for both modes.
  parseDeclarations(declaration.dump(), source, parsed);
  std::int64_t generation = metadata.value("generation", std::int64_t{1});
  moveAll(parsed.authorities, out.authorities, generation);
  moveAll(parsed.vaults, out.vaults, generation);
  moveAll(parsed.vaultSecrets, out.vaultSecrets, generation);
  moveAll(parsed.revocations, out.revocations, generation);
  moveAll(parsed.emqxDeployments, out.emqxDeployments, generation);
  for (auto& error : parsed.errors) {
    error.generation = generation;
    out.errors.push_back(std::move(error));
  }
}

}  // namespace revoca::kubernetes
