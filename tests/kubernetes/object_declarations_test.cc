#include "kubernetes/object_declarations.h"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "declarations/parse.h"

namespace revoca::kubernetes {
namespace {

using ::testing::HasSubstr;

// A VaultSecret as the apiserver returns it: server fields, status, managedFields.
nlohmann::json vaultSecretFromTheApiserver(const std::string& ttl) {
  return nlohmann::json::parse(R"({
    "apiVersion": "revoca.io/v1alpha1",
    "kind": "VaultSecret",
    "metadata": {
      "name": "server-cert", "namespace": "mqtt", "uid": "0d9d1c1e-8c3a-4a43-9a4e-0d3f1b1f1c1a",
      "generation": 7, "resourceVersion": "4242", "creationTimestamp": "2026-11-27T00:00:00Z",
      "labels": {"team": "edge"}, "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
      "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]
    },
    "spec": {
      "vault": "mqtt-vault",
      "autoCert": {"issuingCa": "mqtt-ca", "host": "mqtt.example", "ttl": ")" + ttl + R"(", "refreshThreshold": "15d"}
    },
    "status": {"serial": "ABCD", "conditions": [{"type": "Ready", "status": "True"}]}
  })");
}

TEST(ObjectDeclarations, AnApiserverObjectReadsLikeItsYamlWithTheServersGeneration) {
  DeclarationSet set;
  appendDeclaration(vaultSecretFromTheApiserver("30d"), set);
  ASSERT_TRUE(set.errors.empty()) << set.errors.front().str();
  ASSERT_EQ(set.vaultSecrets.size(), 1u);
  const VaultSecret& secret = set.vaultSecrets.front();
  EXPECT_EQ(secret.meta.namespace_, "mqtt");
  EXPECT_EQ(secret.meta.name, "server-cert");
  EXPECT_EQ(secret.meta.generation, 7);  // observedGeneration must match kubectl's
  EXPECT_EQ(secret.spec.autoCert.ttl, Seconds(30 * 86400));
}

TEST(ObjectDeclarations, ABrokenSpecBecomesAnErrorNamingTheObjectFieldAndGeneration) {
  DeclarationSet set;
  appendDeclaration(vaultSecretFromTheApiserver("30 days"), set);
  EXPECT_TRUE(set.vaultSecrets.empty());
  ASSERT_EQ(set.errors.size(), 1u);
  const DeclarationError& error = set.errors.front();
  EXPECT_EQ(error.kind, "VaultSecret");
  EXPECT_EQ(error.object, "mqtt/server-cert");
  EXPECT_EQ(error.field, "spec.autoCert.ttl");
  EXPECT_EQ(error.generation, 7);
  EXPECT_THAT(error.source, HasSubstr("VaultSecret mqtt/server-cert"));
}

// Compares two trees as the decoder sees them: types, tags, scalars, order.
void expectSameTree(const YAML::Node& built, const YAML::Node& parsed, const std::string& path) {
  ASSERT_EQ(built.Type(), parsed.Type()) << path;
  EXPECT_EQ(built.Tag(), parsed.Tag()) << path;
  if (parsed.IsScalar()) EXPECT_EQ(built.Scalar(), parsed.Scalar()) << path;
  ASSERT_EQ(built.size(), parsed.size()) << path;
  if (parsed.IsSequence())
    for (std::size_t i = 0; i < parsed.size(); ++i) expectSameTree(built[i], parsed[i], path + "[" + std::to_string(i) + "]");
  if (parsed.IsMap())
    for (auto b = built.begin(), p = parsed.begin(); p != parsed.end(); ++b, ++p) {
      expectSameTree(b->first, p->first, path + " key");
      expectSameTree(b->second, p->second, path + "." + p->first.Scalar());
    }
}

// An example manifest as the apiserver would return it.
nlohmann::json jsonOf(const YAML::Node& node) {
  if (node.IsMap()) {
    auto object = nlohmann::json::object();
    for (const auto& member : node) object[member.first.Scalar()] = jsonOf(member.second);
    return object;
  }
  if (node.IsSequence()) {
    auto array = nlohmann::json::array();
    for (const auto& item : node) array.push_back(jsonOf(item));
    return array;
  }
  if (!node.IsScalar()) return nullptr;
  const std::string& text = node.Scalar();
  if (node.Tag() == "?" && (text == "true" || text == "false")) return text == "true";
  if (node.Tag() == "?" && !text.empty() && text.find_first_not_of("-0123456789") == std::string::npos)
    return std::stoll(text);
  return text;
}

// What the tree replaced: the object's JSON text, less its bookkeeping, parsed as YAML.
YAML::Node parsedFromText(nlohmann::json object) {
  object.erase("status");
  if (object.contains("metadata")) object["metadata"].erase("managedFields");
  return YAML::Load(object.dump());
}

TEST(ObjectDeclarations, TheTreeBuiltFromJsonIsTheTreeItsTextParsesTo) {
  std::vector<nlohmann::json> objects{vaultSecretFromTheApiserver("30d")};
  // Every value JSON can carry, as the apiserver prints it.
  objects.push_back(nlohmann::json::parse(R"({
    "kind": "EmqxDeployment", "metadata": {"name": "n", "labels": {}, "annotations": {"a": ""}},
    "spec": {"null": null, "true": true, "false": false, "int": -42, "big": 18446744073709551615,
             "float": 1.5e300, "small": 0.000001, "zero": 0, "empty": [], "nested": [[{"x": [1, "1"]}]],
             "quoted": "a \"b\" \\ c", "controls": "tab\there\nnewline\u0001", "unicode": "héllo \u2603 \ud83d\ude00",
             "yamlish": "- not: a list", "number": "30", "bool": "true", "nullish": "~", "spaces": "  x  ",
             "colon": "a: b", "hash": "# c", "star": "*alias", "amp": "&anchor", "bang": "!tag"}
  })"));
  for (const char* file : {"mqtt-ca.yaml", "mqtt-vault.yaml", "emqx.yaml"}) {
    std::ifstream in(std::string(REVOCA_SOURCE_DIR) + "/manifests/examples/" + file);
    std::stringstream text;
    text << in.rdbuf();
    for (const YAML::Node& document : YAML::LoadAll(text.str())) objects.push_back(jsonOf(document));
  }
  ASSERT_GE(objects.size(), 5u);  // the examples were read
  for (const auto& object : objects) {
    TreeSize size;
    YAML::Node built = declarationTree(object, size);
    expectSameTree(built, parsedFromText(object), object.value("kind", "?"));
    EXPECT_LE(size.nodes, kMaxDocumentNodes);
  }
}

TEST(ObjectDeclarations, AnObjectWithMoreValuesThanADocumentMayHoldIsRefusedAsAFileWouldBe) {
  nlohmann::json object = vaultSecretFromTheApiserver("30d");
  object["spec"]["autoCert"]["altNames"] = nlohmann::json::array();
  for (std::size_t i = 0; i < kMaxDocumentNodes; ++i) object["spec"]["autoCert"]["altNames"].push_back("x");
  DeclarationSet set;
  appendDeclaration(object, set);
  EXPECT_TRUE(set.vaultSecrets.empty());
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_THAT(set.errors.front().message, HasSubstr("has more than 20000 values"));
  EXPECT_THAT(set.errors.front().source, HasSubstr("VaultSecret mqtt/server-cert"));
}

TEST(ObjectDeclarations, AnObjectNestedDeeperThanADeclarationCanIsRefusedWithoutBuildingIt) {
  nlohmann::json object = vaultSecretFromTheApiserver("30d");
  nlohmann::json* deepest = &(object["spec"]["extra"] = nlohmann::json::object());
  for (int level = 0; level < 3 * kMaxTreeDepth; ++level) deepest = &((*deepest)["x"] = nlohmann::json::object());
  TreeSize size;
  declarationTree(object, size);
  EXPECT_EQ(size.depth, kMaxTreeDepth + 1);  // it stopped there
  DeclarationSet set;
  appendDeclaration(object, set);
  EXPECT_TRUE(set.vaultSecrets.empty());
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_THAT(set.errors.front().message, HasSubstr("nests more than 1000 levels"));
}

}  // namespace
}  // namespace revoca::kubernetes
