#include "kubernetes/object_declarations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace revoca::kubernetes
