#include "kubernetes/object_declarations.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

template <typename T>
void moveAll(std::vector<T>& from, std::vector<T>& to, std::int64_t generation) {
  for (auto& object : from) {
    object.meta.generation = generation;
    // Its errors have been made: a controller keeps the declaration of each
    // of thousands of objects, and "VaultSecret ns/name (document 1)" says
    // nothing the key does not.
    std::string().swap(object.meta.source);
    to.push_back(std::move(object));
  }
}

YAML::Node scalar(std::string text, const char* tag) {
  YAML::Node node(std::move(text));
  node.SetTag(tag);
  return node;
}

// The tree yaml-cpp parses `value.dump()` into, built without the text (the
// apiserver's JSON is YAML; printing it and parsing it again was most of a
// start's CPU for the objects): strings as quoted scalars (tag "!"),
// numbers and booleans as plain ones ("?") spelt as dump() spells them,
// null as a null node. Measures the tree, and stops building it past the
// most a document may hold. `skip` names a member of this object left out
// (the server's bookkeeping).
YAML::Node treeOf(const json& value, TreeSize& size, int depth, const char* skip = nullptr) {
  size.depth = std::max(size.depth, depth);
  ++size.nodes;
  if (!size.withinBounds()) return YAML::Node();
  switch (value.type()) {
    case json::value_t::object: {
      YAML::Node map(YAML::NodeType::Map);
      map.SetTag("?");
      for (const auto& [key, member] : value.items()) {
        if (skip && key == skip) continue;
        // The object's metadata.managedFields, as its status: not part of the declaration.
        const char* skipInMember = depth == 1 && key == "metadata" ? "managedFields" : nullptr;
        YAML::Node converted = treeOf(member, size, depth + 1, skipInMember);
        map.force_insert(scalar(key, "!"), converted);
        if (!size.withinBounds()) break;
      }
      return map;
    }
    case json::value_t::array: {
      YAML::Node sequence(YAML::NodeType::Sequence);
      sequence.SetTag("?");
      for (const auto& item : value) {
        sequence.push_back(treeOf(item, size, depth + 1));
        if (!size.withinBounds()) break;
      }
      return sequence;
    }
    case json::value_t::string:
      return scalar(value.get_ref<const std::string&>(), "!");
    case json::value_t::null:
      return YAML::Node(YAML::NodeType::Null);
    default:
      return scalar(value.dump(), "?");
  }
}

std::string stringAt(const json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

// The object's metadata, or an empty object where it has none.
const json& metadataOf(const json& object) {
  static const json kNone = json::object();
  auto found = object.find("metadata");
  return found != object.end() && found->is_object() ? *found : kNone;
}

}  // namespace

YAML::Node declarationTree(const json& object, TreeSize& size) {
  size = {};
  return treeOf(object, size, 1, "status");
}

std::string declarationSource(const json& object) {
  const json& metadata = metadataOf(object);
  std::string kind = stringAt(object, "kind");
  return (kind.empty() ? "object" : kind) + " " + stringAt(metadata, "namespace") + "/" + stringAt(metadata, "name");
}

void appendDeclaration(const json& object, DeclarationSet& out) {
  std::string source = declarationSource(object);

  DeclarationSet parsed;
  TreeSize size;
  YAML::Node tree = declarationTree(object, size);
  // One decoder for both modes: standalone's parses its files into the same trees.
  parseDeclarationTree(tree, size, source, parsed);
  const json& metadata = metadataOf(object);
  auto found = metadata.find("generation");
  std::int64_t generation = found != metadata.end() && found->is_number_integer() ? found->get<std::int64_t>() : 1;
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
