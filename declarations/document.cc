#include "declarations/document.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "core/text.h"
#include "declarations/kind.h"
#include "declarations/kinds.h"
#include "declarations/values.h"
#include "declarations/yaml_fields.h"

namespace revoca::decl {
namespace {

constexpr std::string_view kGroup = "revoca.io";
constexpr std::string_view kVersion = "v1alpha1";
// "CertificateAuthority, Vault, ... or EmqxDeployment", for messages.
std::string kindList() {
  std::string list;
  for (std::size_t i = 0; i < kAllKinds.size(); ++i)
    list += (i == 0 ? "" : i + 1 == kAllKinds.size() ? " or " : ", ") + kindName(kAllKinds[i]);
  return list;
}

// What a misspelt kind is compared with.
const std::vector<std::string>& kindNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (Kind kind : kAllKinds) all.push_back(kindName(kind));
    return all;
  }();
  return names;
}

// The text of a top-level scalar field, "" when absent or not a scalar:
// enough to decide whether the document is ours before reading it properly.
std::string peekScalar(const YAML::Node& document, const char* key) {
  const YAML::Node value = document[key];  // yaml-cpp: a missing key gives an invalid node
  return value.IsDefined() && value.IsScalar() ? value.Scalar() : "";
}

// YAML aliases let a few lines stand for a huge tree ("billion laughs") or
// a cyclic one (`spec: &a {x: *a}`); such a document is refused before
// anything walks the whole of it. Real declarations, pod templates included,
// stay far below these limits.
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxNodes = 100000;

bool withinLimits(const YAML::Node& node, int depth, std::size_t& nodes) {
  if (depth > kMaxDepth || ++nodes > kMaxNodes) return false;
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it)
      if (!withinLimits(it->first, depth + 1, nodes) || !withinLimits(it->second, depth + 1, nodes))
        return false;
  } else if (node.IsSequence()) {
    for (const YAML::Node& item : node)
      if (!withinLimits(item, depth + 1, nodes)) return false;
  }
  return true;
}

// Length-prefixed scalars and sorted map entries: equal specs give equal text.
void canonicalText(const YAML::Node& node, std::string& out) {
  if (!node.IsDefined()) {  // no spec at all: the same as an empty one
    out += "~";
    return;
  }
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      out += "s" + std::to_string(node.Scalar().size()) + ":" + node.Scalar();
      break;
    case YAML::NodeType::Sequence:
      out += "[";
      for (const YAML::Node& item : node) canonicalText(item, out);
      out += "]";
      break;
    case YAML::NodeType::Map: {
      std::vector<std::string> entries;
      for (auto it = node.begin(); it != node.end(); ++it) {
        std::string entry;
        canonicalText(it->first, entry);
        canonicalText(it->second, entry);
        entries.push_back(std::move(entry));
      }
      std::sort(entries.begin(), entries.end());
      out += "{";
      for (const std::string& entry : entries) out += entry;
      out += "}";
      break;
    }
    default:
      out += "~";
  }
}

template <typename Spec>
std::optional<std::string> sourceOf(const std::vector<Object<Spec>>& list, const ObjectKey& key) {
  for (const Object<Spec>& object : list)
    if (object.key() == key) return object.meta.source;
  return std::nullopt;
}

// Reads the envelope (apiVersion, kind, metadata) and the spec of a document
// already known to be of the revoca.io group.
class DocumentReader {
 public:
  DocumentReader(const YAML::Node& document, const std::string& source, DeclarationSet& out)
      : document_(document), out_(out), root_(document, "", problems_) {
    meta_.source = source;
  }

  void read() {
    readApiVersion();
    readKind();
    readMetadata();
    root_.ignore("status");  // `kubectl get -o yaml` output carries it; it is ours to write, not to read
    FieldReader spec = root_.readMap("spec");
    root_.reportUnknownFields();
    meta_.generation = specGeneration(document_["spec"]);

    if (kind_) readSpec(*kind_, spec);
    reportProblems();
  }

 private:
  void readApiVersion() {
    std::string wanted = std::string(kGroup) + "/" + std::string(kVersion);
    std::string apiVersion;
    // requireString reports a missing value and a wrong type, each once.
    if (!root_.requireString("apiVersion", apiVersion, "apiVersion: " + wanted)) return;
    if (apiVersion != wanted)
      root_.fail("apiVersion",
                 quotedText(apiVersion) + " is not a version this revoca reads; write apiVersion: " + wanted);
  }

  void readKind() {
    std::string kind;
    if (!root_.requireString("kind", kind, "kind: " + kindList())) return;
    kind_ = kindNamed(kind);
    if (kind_) return;
    std::string message = "unknown kind " + quotedText(kind);
    if (std::optional<std::string> suggestion = suggestField(kind, kindNames()))
      message += " (did you mean " + *suggestion + "?)";
    root_.fail("kind", message + "; write " + kindList());
  }

  void readSpec(Kind kind, FieldReader& spec) {
    switch (kind) {
      case Kind::CertificateAuthority: return add(out_.authorities, readCertificateAuthoritySpec(spec, meta_));
      case Kind::Vault: return add(out_.vaults, readVaultSpec(spec));
      case Kind::VaultSecret: return add(out_.vaultSecrets, readVaultSecretSpec(spec));
      case Kind::CertificateRevocation: return add(out_.revocations, readCertificateRevocationSpec(spec));
      case Kind::EmqxDeployment: return add(out_.emqxDeployments, readEmqxDeploymentSpec(spec));
    }
  }

  void readMetadata() {
    if (!root_.has("metadata")) {
      root_.fail("metadata", "required; add metadata: {name: my-object, namespace: default}");
      return;
    }
    // Only name and namespace matter here; labels, annotations and the
    // apiserver's own fields are accepted and left alone.
    FieldReader metadata = root_.readMap("metadata");
    // An invalid name or namespace is not kept: the error then names the
    // file and document, never an object no valid declaration could have.
    if (metadata.requireString("name", meta_.name, "name: mqtt-ca")) {
      if (Result<void> valid = checkObjectName(meta_.name); !valid) {
        metadata.fail("name", valid.error().message);
        meta_.name.clear();
      }
    }
    if (metadata.readString("namespace", meta_.namespace_)) {
      if (Result<void> valid = checkObjectName(meta_.namespace_); !valid) {
        metadata.fail("namespace", valid.error().message + "; or leave namespace out for \"default\"");
        meta_.name.clear();
      }
    }
  }

  template <typename Spec>
  void add(std::vector<Object<Spec>>& list, Spec spec) {
    if (!problems_.empty()) return;  // a document with errors declares nothing
    ObjectKey key{meta_.namespace_, meta_.name};
    if (!out_.declared.insert(kindName(*kind_) + " " + key.str()).second) {
      std::string earlier = sourceOf(list, key).value_or("another document");
      problems_.push_back({"metadata.name", "already declared in " + earlier +
                                                "; remove one of the two, or give this one another name"});
      return;
    }
    list.push_back({meta_, std::move(spec)});
  }

  void reportProblems() {
    std::string object = meta_.name.empty() ? "" : meta_.namespace_ + "/" + meta_.name;
    for (FieldProblem& problem : problems_)
      out_.errors.push_back({meta_.source, kind_ ? kindName(*kind_) : "", object, std::move(problem.field),
                             std::move(problem.message)});
  }

  const YAML::Node& document_;
  DeclarationSet& out_;
  Problems problems_;
  FieldReader root_;
  ObjectMeta meta_;
  std::optional<Kind> kind_;  // nullopt unless it is one of ours
};

}  // namespace

std::int64_t specGeneration(const YAML::Node& spec) {
  std::string text;
  canonicalText(spec, text);
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  auto generation = static_cast<std::int64_t>(hash & 0x7fffffffffffffffULL);
  return generation == 0 ? 1 : generation;  // Kubernetes generations start at 1
}

void parseDocument(const YAML::Node& document, const std::string& source, DeclarationSet& out) {
  if (!document.IsDefined() || document.IsNull()) return;
  if (!document.IsMap()) {
    out.errors.push_back({source, "", "", "",
                          "the document is " + describeNodeType(document) +
                              ", not a map; a declaration starts with apiVersion: revoca.io/v1alpha1"});
    return;
  }
  std::string apiVersion = peekScalar(document, "apiVersion");
  std::string kind = peekScalar(document, "kind");
  if (kind == "List" && apiVersion == "v1") {
    // A missing key gives an invalid node whose IsSequence() throws: test it
    // with IsDefined() first (fuzz/declarations: a List without items ended
    // the process on an uncaught YAML::InvalidNode).
    // A List without items holds nothing of ours, as before.
    const YAML::Node items = document["items"];
    if (!items.IsDefined() || !items.IsSequence()) return;
    for (std::size_t i = 0; i < items.size(); ++i)
      parseDocument(items[i], source + ", items[" + std::to_string(i) + "]", out);
    return;
  }
  // Without an apiVersion, only a document of one of our kinds is ours (and
  // then the reader reports the missing apiVersion).
  std::string group = apiVersion.substr(0, apiVersion.find('/'));
  bool ours = apiVersion.empty() ? kindNamed(kind).has_value() : group == kGroup;
  if (!ours) return;
  std::size_t nodes = 0;
  if (!withinLimits(document, 0, nodes)) {
    out.errors.push_back({source, kind, "", "",
                          "the document is nested deeper than " + std::to_string(kMaxDepth) +
                              " levels or expands to more than " + std::to_string(kMaxNodes) +
                              " values; write it out without anchors that refer to themselves or repeat"});
    return;
  }
  try {
    DocumentReader(document, source, out).read();
  } catch (const YAML::Exception& e) {
    // The readers check types before converting, so this is a yaml-cpp surprise;
    // it still must not hide the other documents.
    out.errors.push_back({source, kind, "", "", std::string("cannot read this document: ") + e.what()});
  }
}

}  // namespace revoca::decl
