#include "kubernetes/cluster_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kube/config_files.h"
#include "kubernetes/names.h"
#include "tests/kube/cluster_fixture.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// Owners as the informer would hand them: only their uid matters here.
std::optional<json> anyOwner(const std::string&, const std::string&, const std::string& name) {
  return json{{"metadata", {{"name", name}, {"uid", "6d1f0c52-0000-4000-8000-00000000000" + std::to_string(name.size() % 10)}}}};
}

class ClusterOutputIntegration : public kube::testing::ClusterTest {
 protected:
  SecretFiles files(const std::string& tag) const {
    return SecretFiles{"server-cert", "CERT " + tag, "KEY " + tag, "BUNDLE " + tag, std::nullopt, 0400};
  }
  EmqxOutput patchOf(const std::string& deployment) const {
    return EmqxOutput{namespace_, deployment, "emqx", "server-cert", "/etc/emqx-certs", true,
                      {{"EMQX_LISTENERS__SSL__DEFAULT__BIND", "\"0.0.0.0:8883\""}}};
  }
  std::string resourceVersion(const kube::ResourceRef& ref) const {
    auto object = client_->get(ref);
    return object.ok() ? (*object.value)["metadata"].value("resourceVersion", "") : "";
  }
  // A Deployment a user made, with an env var and an image of their own.
  void createUserDeployment(const std::string& name) {
    json labels = {{"app", name}};
    json deployment = {
        {"apiVersion", "apps/v1"},
        {"kind", "Deployment"},
        {"metadata", {{"name", name}, {"namespace", namespace_}}},
        {"spec",
         {{"selector", {{"matchLabels", labels}}},
          {"template",
           {{"metadata", {{"labels", labels}}},
            {"spec",
             {{"containers",
               json::array({{{"name", "emqx"},
                             {"image", "emqx/emqx:5.8.6"},
                             {"env", json::array({{{"name", "EMQX_NODE__COOKIE"}, {"value", "user"}}})}}})}}}}}}}};
    ASSERT_TRUE(client_->apply(deployments(namespace_, name), deployment, "user").ok());
  }
};

TEST_F(ClusterOutputIntegration, TheSecretIsLabelledOwnedAndOnlyRewrittenWhenItChanges) {
  ClusterOutput output(*client_, anyOwner);
  ASSERT_TRUE(output.publishSecret(namespace_, "emqx", files("one")));
  auto secret = client_->get(secrets(namespace_, "server-cert"));
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ((*secret.value)["metadata"]["labels"][kManagedByLabel], "revoca");
  EXPECT_EQ((*secret.value)["metadata"]["ownerReferences"][0]["kind"], "VaultSecret");
  EXPECT_EQ(*kube::decodeBase64((*secret.value)["data"]["cert.key"].get<std::string>()), "KEY one");

  std::string version = resourceVersion(secrets(namespace_, "server-cert"));
  ASSERT_TRUE(output.publishSecret(namespace_, "other-deployment", files("one")));
  EXPECT_EQ(resourceVersion(secrets(namespace_, "server-cert")), version);
  ASSERT_TRUE(output.publishSecret(namespace_, "emqx", files("two")));
  EXPECT_NE(resourceVersion(secrets(namespace_, "server-cert")), version);
}

TEST_F(ClusterOutputIntegration, ASecretSomeoneElseMadeIsNeverTakenOver) {
  json foreign = {{"apiVersion", "v1"},
                  {"kind", "Secret"},
                  {"metadata", {{"name", "server-cert"}, {"namespace", namespace_}}},
                  {"stringData", {{"password", "theirs"}}}};
  ASSERT_TRUE(client_->create(secrets(namespace_), foreign).ok());
  ClusterOutput output(*client_, anyOwner);
  auto refused = output.publishSecret(namespace_, "emqx", files("one"));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("not managed by revoca"));
  auto secret = client_->get(secrets(namespace_, "server-cert"));
  EXPECT_FALSE((*secret.value)["data"].contains("cert.pem"));
}

TEST_F(ClusterOutputIntegration, PatchingAUserDeploymentAddsOnlyRevocasFieldsAndANewCertificateRollsIt) {
  createUserDeployment("broker");
  ClusterOutput output(*client_, anyOwner);
  ASSERT_TRUE(output.publishSecret(namespace_, "broker", files("one")));
  auto facts = output.publishEmqxEnv(patchOf("broker"));
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts->at("configMap"), "broker-emqx-env");

  auto deployment = client_->get(deployments(namespace_, "broker"));
  ASSERT_TRUE(deployment.ok());
  const json& pod = (*deployment.value)["spec"]["template"];
  const json& container = pod["spec"]["containers"][0];
  EXPECT_EQ(container["image"], "emqx/emqx:5.8.6");                    // the user's
  EXPECT_EQ(container["env"][0]["name"], "EMQX_NODE__COOKIE");         // the user's
  EXPECT_EQ(container["volumeMounts"][0]["mountPath"], "/etc/emqx-certs");
  EXPECT_EQ(container["envFrom"][0]["configMapRef"]["name"], "broker-emqx-env");
  EXPECT_EQ(pod["spec"]["securityContext"]["fsGroup"], 1000);
  EXPECT_EQ(pod["spec"]["volumes"][0]["secret"]["secretName"], "server-cert");
  std::string hash = pod["metadata"]["annotations"][kCertificateHashAnnotation];
  EXPECT_EQ(hash, facts->at("certificateHash"));

  // The user applies their own change again: no conflict with revoca's fields.
  createUserDeployment("broker");
  ASSERT_TRUE(output.publishSecret(namespace_, "broker", files("two")));
  ASSERT_TRUE(output.publishEmqxEnv(patchOf("broker")));
  auto rolled = client_->get(deployments(namespace_, "broker"));
  const json& template_ = (*rolled.value)["spec"]["template"];
  EXPECT_NE(template_["metadata"]["annotations"][kCertificateHashAnnotation], hash);
  EXPECT_EQ(template_["spec"]["containers"][0]["volumeMounts"][0]["mountPath"], "/etc/emqx-certs");
}

TEST_F(ClusterOutputIntegration, AMissingDeploymentToPatchIsAClearError) {
  ClusterOutput output(*client_, anyOwner);
  ASSERT_TRUE(output.publishSecret(namespace_, "ghost", files("one")));
  auto refused = output.publishEmqxEnv(patchOf("ghost"));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("spec.deploymentName"));
  EXPECT_THAT(refused.error().message, HasSubstr("does not exist"));
}

}  // namespace
}  // namespace revoca::kubernetes
