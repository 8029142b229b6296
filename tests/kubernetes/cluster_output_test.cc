// ClusterOutput against a real kube-apiserver and etcd (tests/kubeclient/run_integration.sh).
// There is no controller-manager: Deployments never get pods and the garbage
// collector never runs, so the tests look at the objects themselves.
#include "kubernetes/cluster_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>

#include "kubeclient/config_files.h"
#include "kubeclient/forwarding_api_client.h"
#include "kubernetes/names.h"
#include "pki/digest.h"
#include "testing/cluster_fixture.h"
#include "tests/kubernetes/crd_files.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;


// The client ClusterOutput talks through, counting what it sends.
class CountingClient final : public kubeclient::ForwardingApiClient {
 public:
  explicit CountingClient(kubeclient::ApiClient& inner) : ForwardingApiClient(inner) {}
  int gets = 0;
  int applies = 0;
  int total() const { return gets + applies + others; }
  void reset() { gets = applies = others = 0; }

  kubeclient::ApiResult<json> get(const kubeclient::ResourceRef& object) override {
    ++gets;
    return inner_.get(object);
  }
  std::size_t listed = 0;  // items the last list returned
  kubeclient::ApiResult<json> list(const kubeclient::ResourceRef& collection, const kubeclient::ListOptions& options) override {
    ++others;
    listed = 0;
    kubeclient::ListOptions counted = options;
    counted.transform = [&](json& item) {
      ++listed;
      if (options.transform) options.transform(item);
    };
    return inner_.list(collection, counted);
  }
  kubeclient::ApiError watch(const kubeclient::ResourceRef& collection, const kubeclient::WatchOptions& options,
                       const std::function<bool(const kubeclient::WatchEvent&)>& onEvent) override {
    ++others;
    return inner_.watch(collection, options, onEvent);
  }
  kubeclient::ApiResult<json> create(const kubeclient::ResourceRef& collection, const json& object) override {
    ++others;
    return inner_.create(collection, object);
  }
  kubeclient::ApiResult<json> update(const kubeclient::ResourceRef& object, const json& body) override {
    ++others;
    return inner_.update(object, body);
  }
  kubeclient::ApiResult<json> apply(const kubeclient::ResourceRef& object, const json& body, const std::string& fieldManager,
                              bool force) override {
    ++applies;
    return inner_.apply(object, body, fieldManager, force);
  }
  kubeclient::ApiResult<json> applyStatus(const kubeclient::ResourceRef& object, const json& body,
                                    const std::string& fieldManager) override {
    ++others;
    return inner_.applyStatus(object, body, fieldManager);
  }
  kubeclient::ApiError remove(const kubeclient::ResourceRef& object) override {
    ++others;
    return inner_.remove(object);
  }

 private:
  int others = 0;
};

class ClusterOutputIntegration : public kubeclient::testing::ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // revoca's CRDs, so the owners are real objects with real uids.
    for (Kind kind : {Kind::VaultSecret, Kind::CertificateAuthority, Kind::EmqxDeployment}) {
      json crd = testing::loadCrd(kindPlural(kind));
      auto applied = client_->apply({"apiextensions.k8s.io", "v1", "customresourcedefinitions", "",
                                     crd["metadata"]["name"].get<std::string>()},
                                    crd, "revoca-test");
      ASSERT_TRUE(applied.ok()) << kindPlural(kind) << ": " << applied.error.message;
      ASSERT_TRUE(eventually([&] { return client_->list(revocaObjects(kind), {}).ok(); })) << kindPlural(kind);
    }
    counting_ = std::make_unique<CountingClient>(*client_);
    output_ = makeOutput();
  }

  // What the engine's informers answer: here, the apiserver itself.
  std::unique_ptr<ClusterOutput> makeOutput() {
    return std::make_unique<ClusterOutput>(
        *counting_, [this](Kind kind, const std::string& ns, const std::string& name) {
          auto object = client_->get(revocaObjects(kind, ns, name));
          return object.ok() ? object.value : std::nullopt;
        });
  }

  // A revoca object; returns its uid.
  std::string createRevocaObject(Kind kind, const std::string& name, const json& spec) {
    json object = {{"apiVersion", "revoca.io/v1alpha1"},
                   {"kind", kindName(kind)},
                   {"metadata", {{"name", name}, {"namespace", namespace_}}},
                   {"spec", spec}};
    auto created = client_->create(revocaObjects(kind, namespace_), object);
    EXPECT_TRUE(created.ok()) << kindName(kind) << " " << name << ": " << created.error.message;
    return created.ok() ? (*created.value)["metadata"]["uid"].get<std::string>() : "";
  }
  std::string createVaultSecret(const std::string& name) {
    return createRevocaObject(Kind::VaultSecret, name,
                              {{"vault", "mqtt-vault"}, {"autoCert", {{"issuingCa", "mqtt-ca"}, {"host", "mqtt.test"}}}});
  }
  // An EmqxDeployment that owns a Deployment built from its pod template, or patches `deploymentName`.
  std::string createEmqxDeployment(const std::string& name, const json& podTemplate,
                                   const std::string& deploymentName = "") {
    json spec = {{"vault", "mqtt-vault"}, {"secret", "server-cert"}};
    if (!podTemplate.is_null()) spec["podTemplate"] = podTemplate;
    if (!deploymentName.empty()) spec["deploymentName"] = deploymentName;
    return createRevocaObject(Kind::EmqxDeployment, name, spec);
  }

  static SecretFiles files(const std::string& tag) {
    return SecretFiles{"server-cert", "CERT " + tag, "KEY " + tag, "BUNDLE " + tag, std::nullopt, 0400, {}, {}, {}};
  }
  EmqxOutput emqxOutput(const std::string& owner, const std::string& deployment, bool patchExisting,
                        RotationPolicy rotation = RotationPolicy::Reload,
                        const std::string& bind = "\"0.0.0.0:8883\"") const {
    return EmqxOutput{namespace_,
                      deployment,
                      owner,
                      "server-cert",
                      "/etc/emqx-certs",
                      patchExisting,
                      rotation,
                      {{"EMQX_LISTENERS__SSL__DEFAULT__BIND", bind},
                       {"EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__VERIFY", "verify_peer"}}};
  }
  json podAnnotations(const std::string& deployment) {
    return get(deployments(namespace_, deployment))["spec"]["template"]["metadata"]["annotations"];
  }
  static json podTemplate() {
    return {{"metadata", {{"labels", {{"app", "emqx"}}}}},
            {"spec",
             {{"containers", json::array({{{"name", "sidecar"}, {"image", "busybox:1.36"}},
                                          {{"name", "emqx"},
                                           {"image", "emqx/emqx:5.8.6"},
                                           {"ports", json::array({{{"name", "mqtts"}, {"containerPort", 8883}}})}}})}}}};
  }

  json get(const kubeclient::ResourceRef& ref) const {
    auto object = client_->get(ref);
    EXPECT_TRUE(object.ok()) << ref.path() << ": " << object.error.message;
    return object.ok() ? *object.value : json::object();
  }
  std::string resourceVersion(const kubeclient::ResourceRef& ref) const {
    return get(ref)["metadata"].value("resourceVersion", "");
  }

  // A Deployment a user made, with an image and an env var of their own.
  json userDeployment(const std::string& name, const std::string& image, const json& securityContext = nullptr) const {
    json labels = {{"app", name}};
    json spec = {{"containers", json::array({{{"name", "broker"},
                                              {"image", image},
                                              {"env", json::array({{{"name", "EMQX_NODE__COOKIE"},
                                                                    {"value", "user"}}})}}})}};
    if (!securityContext.is_null()) spec["securityContext"] = securityContext;
    return {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", name}, {"namespace", namespace_}}},
            {"spec", {{"selector", {{"matchLabels", labels}}}, {"template", {{"metadata", {{"labels", labels}}}, {"spec", spec}}}}}};
  }
  // The user's own server-side apply, without --force-conflicts: fails on a conflict with revoca.
  kubeclient::ApiResult<json> userApply(const json& deployment) {
    return client_->apply(deployments(namespace_, deployment["metadata"]["name"]), deployment, "user", false);
  }

  std::unique_ptr<CountingClient> counting_;
  std::unique_ptr<ClusterOutput> output_;
};

// --- the certificate Secret -----------------------------------------------------

TEST_F(ClusterOutputIntegration, TheSecretHoldsTheThreeFilesAndIsOwnedByItsVaultSecret) {
  std::string uid = createVaultSecret("server-cert");
  auto published = output_->publishSecret(namespace_, "emqx", files("one"));
  ASSERT_TRUE(published) << published.error().message;

  json secret = get(secrets(namespace_, "server-cert"));
  EXPECT_EQ(secret["type"], "Opaque");
  EXPECT_EQ(*kubeclient::decodeBase64(secret["data"]["cert.pem"].get<std::string>()), "CERT one");
  EXPECT_EQ(*kubeclient::decodeBase64(secret["data"]["cert.key"].get<std::string>()), "KEY one");
  EXPECT_EQ(*kubeclient::decodeBase64(secret["data"]["ca-cert.pem"].get<std::string>()), "BUNDLE one");
  EXPECT_EQ(secret["data"].size(), 3u);
  EXPECT_EQ(secret["metadata"]["labels"][kManagedByLabel], "revoca");
  EXPECT_EQ(secret["metadata"]["labels"][kVaultSecretLabel], "server-cert");
  ASSERT_EQ(secret["metadata"]["ownerReferences"].size(), 1u);
  const json& owner = secret["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["apiVersion"], "revoca.io/v1alpha1");
  EXPECT_EQ(owner["kind"], "VaultSecret");
  EXPECT_EQ(owner["name"], "server-cert");
  EXPECT_EQ(owner["uid"], uid);
  EXPECT_EQ(owner["controller"], true);
  EXPECT_EQ(owner["blockOwnerDeletion"], true);
  // Written by server-side apply under revoca's name.
  EXPECT_EQ(secret["metadata"]["managedFields"][0]["manager"], "revoca");
  EXPECT_EQ(secret["metadata"]["managedFields"][0]["operation"], "Apply");
}

TEST_F(ClusterOutputIntegration, TheSameFilesAgainSendNothingNewFilesAreWritten) {
  createVaultSecret("server-cert");
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  std::string version = resourceVersion(secrets(namespace_, "server-cert"));

  // Once per deployment of the Vault on every pass: not one request.
  counting_->reset();
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  ASSERT_TRUE(output_->publishSecret(namespace_, "other-deployment", files("one")));
  EXPECT_EQ(counting_->total(), 0);
  EXPECT_EQ(resourceVersion(secrets(namespace_, "server-cert")), version);

  // After a restart or a resync: one list of the namespace's VaultSecret
  // Secrets (not a read each), no write.
  output_->forget();
  counting_->reset();
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  EXPECT_EQ(counting_->gets, 0);
  EXPECT_EQ(counting_->total(), 1);
  EXPECT_EQ(counting_->applies, 0);
  EXPECT_EQ(resourceVersion(secrets(namespace_, "server-cert")), version);

  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("two")));
  json secret = get(secrets(namespace_, "server-cert"));
  EXPECT_NE(secret["metadata"]["resourceVersion"], version);
  EXPECT_EQ(*kubeclient::decodeBase64(secret["data"]["cert.key"].get<std::string>()), "KEY two");
}

TEST_F(ClusterOutputIntegration, FilesKeptAsDigestsAreReadOnlyToWriteTheSecret) {
  createVaultSecret("server-cert");
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  std::string version = resourceVersion(secrets(namespace_, "server-cert"));

  // The record as SecretStateStore keeps it: digests, and a way to read the PEMs.
  int reads = 0;
  auto kept = [&](const std::string& tag, const std::string& bundle) {
    SecretFiles digests = files(tag);
    digests.caCertPem = "BUNDLE " + bundle;
    digests.certDigest = pki::sha256(digests.certPem);
    digests.keyDigest = pki::sha256(digests.keyPem);
    digests.readPems = [&reads, pems = LeafPems{digests.certPem, digests.keyPem}]() -> Result<LeafPems> {
      ++reads;
      return pems;
    };
    digests.certPem.clear();
    digests.keyPem.clear();
    return digests;
  };
  // Up to date, known from the Secret listed after a restart: nothing read, nothing written.
  output_->forget();
  counting_->reset();
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", kept("one", "one")));
  EXPECT_EQ(reads, 0);
  EXPECT_EQ(counting_->applies, 0);
  EXPECT_EQ(resourceVersion(secrets(namespace_, "server-cert")), version);

  // A new trust bundle: the PEMs are read once, to write the Secret.
  auto published = output_->publishSecret(namespace_, "emqx", kept("one", "two"));
  ASSERT_TRUE(published) << published.error().message;
  EXPECT_EQ(reads, 1);
  json secret = get(secrets(namespace_, "server-cert"));
  EXPECT_EQ(*kubeclient::decodeBase64(secret["data"]["cert.key"].get<std::string>()), "KEY one");
  EXPECT_EQ(*kubeclient::decodeBase64(secret["data"]["ca-cert.pem"].get<std::string>()), "BUNDLE two");
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", kept("one", "two")));
  EXPECT_EQ(reads, 1);
}

TEST_F(ClusterOutputIntegration, AResyncPutsBackADeletedOrEditedSecret) {
  createVaultSecret("server-cert");
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  json edited = get(secrets(namespace_, "server-cert"));
  edited["data"]["cert.pem"] = kubeclient::encodeBase64("EDITED");
  ASSERT_TRUE(client_->update(secrets(namespace_, "server-cert"), edited).ok());

  output_->forget();
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  EXPECT_EQ(*kubeclient::decodeBase64(get(secrets(namespace_, "server-cert"))["data"]["cert.pem"].get<std::string>()),
            "CERT one");

  ASSERT_TRUE(client_->remove(secrets(namespace_, "server-cert")).ok());
  output_->forget();
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  EXPECT_EQ(*kubeclient::decodeBase64(get(secrets(namespace_, "server-cert"))["data"]["cert.key"].get<std::string>()),
            "KEY one");
}

TEST_F(ClusterOutputIntegration, TheListOfOutputsAfterARestartLeavesTheRecordsOnTheServer) {
  createVaultSecret("server-cert");
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  // The VaultSecret's record, labelled with its owner as SecretStateStore labels it: a
  // certificate and key apiece, as many as the outputs, and never one of them.
  json record = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata",
                  {{"name", "revoca-vs-server-cert"},
                   {"namespace", namespace_},
                   {"labels",
                    {{kManagedByLabel, kManagedByValue}, {kStateLabel, "vaultsecret"}, {kVaultSecretLabel, "server-cert"}}}}},
                 {"stringData", {{"key.pem", "the record's key"}}}};
  ASSERT_TRUE(client_->create(secrets(namespace_), record).ok());

  output_->forget();
  counting_->reset();
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  EXPECT_EQ(counting_->total(), 1);  // the list; nothing to write
  EXPECT_EQ(counting_->listed, 1u);  // the output alone
}

TEST_F(ClusterOutputIntegration, ASecretSomeoneElseMadeIsRefusedAndUntouched) {
  createVaultSecret("server-cert");
  json foreign = {{"apiVersion", "v1"},
                  {"kind", "Secret"},
                  {"metadata", {{"name", "server-cert"}, {"namespace", namespace_}}},
                  {"stringData", {{"password", "theirs"}}}};
  ASSERT_TRUE(client_->create(secrets(namespace_), foreign).ok());
  std::string version = resourceVersion(secrets(namespace_, "server-cert"));

  auto refused = output_->publishSecret(namespace_, "emqx", files("one"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "Secret " + namespace_ +
                                         "/server-cert exists and is not managed by revoca; delete it or rename the "
                                         "VaultSecret");
  EXPECT_THAT(refused.error().message, Not(HasSubstr("KEY")));
  json secret = get(secrets(namespace_, "server-cert"));
  EXPECT_EQ(secret["metadata"]["resourceVersion"], version);
  EXPECT_FALSE(secret["data"].contains("cert.pem"));
  // Refused again on the next pass, never applied.
  EXPECT_FALSE(output_->publishSecret(namespace_, "emqx", files("one")));
  EXPECT_EQ(resourceVersion(secrets(namespace_, "server-cert")), version);
}

TEST_F(ClusterOutputIntegration, RevocasOwnStateSecretIsNeverAnOutput) {
  // A VaultSecret named like the state Secret of a CA: the CA's key must survive.
  createVaultSecret("revoca-ca-mqtt-ca");
  json state = {{"apiVersion", "v1"},
                {"kind", "Secret"},
                {"metadata",
                 {{"name", "revoca-ca-mqtt-ca"},
                  {"namespace", namespace_},
                  {"labels", {{kManagedByLabel, kManagedByValue}, {kStateLabel, "ca"}, {kCaLabel, "mqtt-ca"}}}}},
                {"stringData", {{"ca.key", "the CA's key"}}}};
  ASSERT_TRUE(client_->create(secrets(namespace_), state).ok());
  SecretFiles named = files("one");
  named.secretName = "revoca-ca-mqtt-ca";
  auto refused = output_->publishSecret(namespace_, "emqx", named);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("revoca's ca state"));
  EXPECT_THAT(refused.error().message, HasSubstr("rename the VaultSecret"));
  json secret = get(secrets(namespace_, "revoca-ca-mqtt-ca"));
  EXPECT_EQ(*kubeclient::decodeBase64(secret["data"]["ca.key"].get<std::string>()), "the CA's key");
  EXPECT_FALSE(secret["data"].contains("cert.key"));
}

// --- the CA bundle ------------------------------------------------------------

TEST_F(ClusterOutputIntegration, TheCaBundleIsAConfigMapOwnedByTheCa) {
  std::string uid = createRevocaObject(Kind::CertificateAuthority, "mqtt-ca", json::object());
  ASSERT_TRUE(output_->publishCaBundle(namespace_, "emqx", "mqtt-ca", "PEM one"));
  json bundle = get(configMaps("mqtt-ca-ca"));
  EXPECT_EQ(bundle["data"]["ca-cert.pem"], "PEM one");
  EXPECT_EQ(bundle["metadata"]["labels"][kManagedByLabel], "revoca");
  EXPECT_EQ(bundle["metadata"]["labels"][kCaLabel], "mqtt-ca");
  EXPECT_EQ(bundle["metadata"]["ownerReferences"][0]["kind"], "CertificateAuthority");
  EXPECT_EQ(bundle["metadata"]["ownerReferences"][0]["uid"], uid);

  counting_->reset();
  ASSERT_TRUE(output_->publishCaBundle(namespace_, "other", "mqtt-ca", "PEM one"));
  EXPECT_EQ(counting_->total(), 0);
  ASSERT_TRUE(output_->publishCaBundle(namespace_, "emqx", "mqtt-ca", "PEM two"));
  EXPECT_EQ(get(configMaps("mqtt-ca-ca"))["data"]["ca-cert.pem"], "PEM two");
}

// --- the EMQX environment and the Deployment it owns ----------------------------

TEST_F(ClusterOutputIntegration, AnOwnedDeploymentIsBuiltFromThePodTemplate) {
  createVaultSecret("server-cert");
  std::string uid = createEmqxDeployment("emqx", podTemplate());
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  auto facts = output_->publishEmqxEnv(emqxOutput("emqx", "emqx", false));
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts->rollout->configMap, "emqx-emqx-env");
  EXPECT_EQ(facts->rollout->certificateHash, certificateFilesHash("CERT one", "BUNDLE one"));
  // Secret volume files: root's, in the pod's fsGroup, with the volume's mode.
  EXPECT_EQ(facts->keyFile, (KeyFileAccess{0, 1000, 0440}));

  json env = get(configMaps("emqx-emqx-env"));
  EXPECT_EQ(env["data"]["EMQX_LISTENERS__SSL__DEFAULT__BIND"], "\"0.0.0.0:8883\"");  // HOCON quotes kept
  EXPECT_EQ(env["data"]["EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__VERIFY"], "verify_peer");
  EXPECT_EQ(env["metadata"]["labels"][kEmqxDeploymentLabel], "emqx");
  EXPECT_EQ(env["metadata"]["ownerReferences"][0]["kind"], "EmqxDeployment");
  EXPECT_EQ(env["metadata"]["ownerReferences"][0]["uid"], uid);

  json deployment = get(deployments(namespace_, "emqx"));
  EXPECT_EQ(deployment["metadata"]["labels"][kManagedByLabel], "revoca");
  EXPECT_EQ(deployment["metadata"]["labels"][kEmqxDeploymentLabel], "emqx");
  EXPECT_EQ(deployment["metadata"]["ownerReferences"][0]["kind"], "EmqxDeployment");
  EXPECT_EQ(deployment["metadata"]["ownerReferences"][0]["uid"], uid);
  EXPECT_EQ(deployment["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_EQ(deployment["spec"]["replicas"], 1);
  json selector = {{"app.kubernetes.io/name", "emqx"}, {"app.kubernetes.io/instance", "emqx"}};
  EXPECT_EQ(deployment["spec"]["selector"]["matchLabels"], selector);
  const json& pod = deployment["spec"]["template"];
  EXPECT_EQ(pod["metadata"]["labels"]["app"], "emqx");  // the template's own label stays
  EXPECT_EQ(pod["metadata"]["labels"]["app.kubernetes.io/instance"], "emqx");
  // Rotation policy reload: the environment's hash, not the certificate's.
  EXPECT_EQ(facts->rollout->rotation, RotationPolicy::Reload);
  EXPECT_EQ(pod["metadata"]["annotations"][kEnvHashAnnotation], facts->rollout->envHash);
  EXPECT_FALSE(pod["metadata"]["annotations"].contains(kCertificateHashAnnotation));
  EXPECT_EQ(pod["spec"]["securityContext"]["fsGroup"], 1000);
  ASSERT_EQ(pod["spec"]["volumes"].size(), 1u);
  EXPECT_EQ(pod["spec"]["volumes"][0]["name"], "revoca-certs");
  EXPECT_EQ(pod["spec"]["volumes"][0]["secret"]["secretName"], "server-cert");
  EXPECT_EQ(pod["spec"]["volumes"][0]["secret"]["defaultMode"], 0440);
  // The container named emqx, not the first one.
  const json& sidecar = pod["spec"]["containers"][0];
  const json& emqx = pod["spec"]["containers"][1];
  EXPECT_FALSE(sidecar.contains("volumeMounts"));
  EXPECT_FALSE(sidecar.contains("envFrom"));
  EXPECT_EQ(emqx["image"], "emqx/emqx:5.8.6");
  json mount = {{"name", "revoca-certs"}, {"mountPath", "/etc/emqx-certs"}, {"readOnly", true}};
  EXPECT_EQ(emqx["volumeMounts"], json::array({mount}));
  EXPECT_EQ(emqx["envFrom"], json::array({{{"configMapRef", {{"name", "emqx-emqx-env"}}}}}));

  // Nothing changed: nothing sent.
  counting_->reset();
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  ASSERT_TRUE(output_->publishEmqxEnv(emqxOutput("emqx", "emqx", false)));
  EXPECT_EQ(counting_->total(), 0);

  // A new certificate changes the Secret in place (kubelet updates the
  // mounted files, EMQX re-reads them): the pods stay.
  std::string version = deployment["metadata"]["resourceVersion"];
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("two")));
  auto renewed = output_->publishEmqxEnv(emqxOutput("emqx", "emqx", false));
  ASSERT_TRUE(renewed) << renewed.error().message;
  EXPECT_NE(renewed->rollout->certificateHash, facts->rollout->certificateHash);
  EXPECT_EQ(resourceVersion(deployments(namespace_, "emqx")), version);

  // A changed environment, which EMQX reads only when it starts, rolls them.
  auto changed = output_->publishEmqxEnv(emqxOutput("emqx", "emqx", false, RotationPolicy::Reload, "\"0.0.0.0:8884\""));
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_NE(changed->rollout->envHash, facts->rollout->envHash);
  EXPECT_NE(resourceVersion(deployments(namespace_, "emqx")), version);
  EXPECT_EQ(podAnnotations("emqx")[kEnvHashAnnotation], changed->rollout->envHash);
}

TEST_F(ClusterOutputIntegration, RotationPolicyRestartRollsThePodsWithEachCertificate) {
  createVaultSecret("server-cert");
  createEmqxDeployment("emqx", podTemplate());
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  auto facts = output_->publishEmqxEnv(emqxOutput("emqx", "emqx", false, RotationPolicy::Restart));
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts->rollout->rotation, RotationPolicy::Restart);
  EXPECT_EQ(podAnnotations("emqx")[kCertificateHashAnnotation], facts->rollout->certificateHash);
  EXPECT_EQ(podAnnotations("emqx")[kEnvHashAnnotation], facts->rollout->envHash);

  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("two")));
  auto rolled = output_->publishEmqxEnv(emqxOutput("emqx", "emqx", false, RotationPolicy::Restart));
  ASSERT_TRUE(rolled) << rolled.error().message;
  EXPECT_NE(rolled->rollout->certificateHash, facts->rollout->certificateHash);
  EXPECT_EQ(podAnnotations("emqx")[kCertificateHashAnnotation], rolled->rollout->certificateHash);
}

TEST_F(ClusterOutputIntegration, APatchedDeploymentFromAnEarlierVersionLosesTheCertificateHashOnce) {
  // Earlier versions of revoca rolled the pods with every certificate: their
  // annotation goes in one rollout, and never comes back.
  createVaultSecret("server-cert");
  createEmqxDeployment("emqx", nullptr, "broker");
  ASSERT_TRUE(userApply(userDeployment("broker", "emqx/emqx:5.8.6")).ok());
  ASSERT_TRUE(output_->publishSecret(namespace_, "broker", files("one")));
  ASSERT_TRUE(output_->publishEmqxEnv(emqxOutput("emqx", "broker", true, RotationPolicy::Restart)));
  ASSERT_TRUE(podAnnotations("broker").contains(kCertificateHashAnnotation));

  auto upgraded = makeOutput();
  ASSERT_TRUE(upgraded->publishEmqxEnv(emqxOutput("emqx", "broker", true)));
  json annotations = podAnnotations("broker");
  EXPECT_FALSE(annotations.contains(kCertificateHashAnnotation)) << annotations;
  EXPECT_TRUE(annotations.contains(kEnvHashAnnotation)) << annotations;
  std::string version = resourceVersion(deployments(namespace_, "broker"));
  ASSERT_TRUE(upgraded->publishSecret(namespace_, "broker", files("two")));
  ASSERT_TRUE(upgraded->publishEmqxEnv(emqxOutput("emqx", "broker", true)));
  ASSERT_TRUE(makeOutput()->publishEmqxEnv(emqxOutput("emqx", "broker", true)));
  EXPECT_EQ(resourceVersion(deployments(namespace_, "broker")), version);
}

TEST_F(ClusterOutputIntegration, AfterARestartTheHashIsReadFromTheSecretAndNothingRolls) {
  createVaultSecret("server-cert");
  createEmqxDeployment("emqx", podTemplate());
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  auto facts = output_->publishEmqxEnv(emqxOutput("emqx", "emqx", false));
  ASSERT_TRUE(facts) << facts.error().message;
  std::string version = resourceVersion(deployments(namespace_, "emqx"));

  auto restarted = makeOutput();
  auto again = restarted->publishEmqxEnv(emqxOutput("emqx", "emqx", false));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->rollout->certificateHash, facts->rollout->certificateHash);
  EXPECT_EQ(resourceVersion(deployments(namespace_, "emqx")), version);
}

TEST_F(ClusterOutputIntegration, AnEmqxDeploymentWithoutPodTemplateOrDeploymentNameIsTold) {
  createVaultSecret("server-cert");
  createEmqxDeployment("emqx", nullptr);
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  auto refused = output_->publishEmqxEnv(emqxOutput("emqx", "emqx", false));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("spec.podTemplate"));
  EXPECT_THAT(refused.error().message, HasSubstr("spec.deploymentName"));
  EXPECT_EQ(client_->get(deployments(namespace_, "emqx")).error.status, 404);
}

TEST_F(ClusterOutputIntegration, AnOwnedDeploymentNeverTakesOverAUsersDeploymentOfThatName) {
  createVaultSecret("server-cert");
  createEmqxDeployment("emqx", podTemplate());
  ASSERT_TRUE(userApply(userDeployment("emqx", "emqx/emqx:5.8.6")).ok());
  std::string version = resourceVersion(deployments(namespace_, "emqx"));
  ASSERT_TRUE(output_->publishSecret(namespace_, "emqx", files("one")));
  auto refused = output_->publishEmqxEnv(emqxOutput("emqx", "emqx", false));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("Deployment " + namespace_ + "/emqx exists and is not managed by revoca"));
  EXPECT_THAT(refused.error().message, HasSubstr("spec.deploymentName: emqx"));
  EXPECT_EQ(resourceVersion(deployments(namespace_, "emqx")), version);
}

// --- a Deployment the user has, patched -------------------------------------------

TEST_F(ClusterOutputIntegration, PatchingAUserDeploymentAddsOnlyRevocasFields) {
  createVaultSecret("server-cert");
  createEmqxDeployment("emqx", nullptr, "broker");
  ASSERT_TRUE(userApply(userDeployment("broker", "emqx/emqx:5.8.6")).ok());
  ASSERT_TRUE(output_->publishSecret(namespace_, "broker", files("one")));
  auto facts = output_->publishEmqxEnv(emqxOutput("emqx", "broker", true));
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts->rollout->configMap, "broker-emqx-env");

  json deployment = get(deployments(namespace_, "broker"));
  EXPECT_FALSE(deployment["metadata"].contains("ownerReferences"));  // deleting the EmqxDeployment keeps it
  const json& pod = deployment["spec"]["template"];
  ASSERT_EQ(pod["spec"]["containers"].size(), 1u);
  const json& container = pod["spec"]["containers"][0];
  EXPECT_EQ(container["name"], "broker");                           // the only one, though not named emqx
  EXPECT_EQ(container["image"], "emqx/emqx:5.8.6");                 // the user's
  EXPECT_EQ(container["env"][0]["name"], "EMQX_NODE__COOKIE");      // the user's
  EXPECT_EQ(container["volumeMounts"][0]["mountPath"], "/etc/emqx-certs");
  EXPECT_EQ(container["volumeMounts"][0]["readOnly"], true);
  EXPECT_FALSE(container.contains("envFrom"));  // an atomic list: revoca would own the user's entries
  ASSERT_GE(container["env"].size(), 2u);
  const json& rendered = container["env"][1];  // after the user's own, keyed by name
  EXPECT_EQ(rendered["valueFrom"]["configMapKeyRef"]["name"], "broker-emqx-env");
  EXPECT_EQ(rendered["valueFrom"]["configMapKeyRef"]["key"], rendered["name"]);
  EXPECT_EQ(pod["spec"]["securityContext"]["fsGroup"], 1000);
  EXPECT_EQ(pod["spec"]["volumes"][0]["secret"]["secretName"], "server-cert");
  EXPECT_EQ(pod["spec"]["volumes"][0]["secret"]["defaultMode"], 0440);
  std::string hash = pod["metadata"]["annotations"][kEnvHashAnnotation];
  EXPECT_EQ(hash, facts->rollout->envHash);
  EXPECT_FALSE(pod["metadata"]["annotations"].contains(kCertificateHashAnnotation));

  // Nothing changed: no request, not even the read.
  counting_->reset();
  ASSERT_TRUE(output_->publishEmqxEnv(emqxOutput("emqx", "broker", true)));
  EXPECT_EQ(counting_->total(), 0);
  // A resync or a restart applies the same fields again: the fsGroup revoca set stays, nothing is written.
  std::string version = deployment["metadata"]["resourceVersion"];
  output_->forget();
  ASSERT_TRUE(output_->publishEmqxEnv(emqxOutput("emqx", "broker", true)));
  ASSERT_TRUE(makeOutput()->publishEmqxEnv(emqxOutput("emqx", "broker", true)));
  EXPECT_EQ(resourceVersion(deployments(namespace_, "broker")), version);
  EXPECT_EQ(get(deployments(namespace_, "broker"))["spec"]["template"]["spec"]["securityContext"]["fsGroup"], 1000);

  // The user applies a new image of their own: no conflict with revoca's fields, which stay.
  auto user = userApply(userDeployment("broker", "emqx/emqx:5.8.7"));
  ASSERT_TRUE(user.ok()) << user.error.message;
  json updated = get(deployments(namespace_, "broker"));
  EXPECT_EQ(updated["spec"]["template"]["spec"]["containers"][0]["image"], "emqx/emqx:5.8.7");
  EXPECT_EQ(updated["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["mountPath"], "/etc/emqx-certs");
  EXPECT_EQ(updated["spec"]["template"]["metadata"]["annotations"][kEnvHashAnnotation], hash);

  // A changed environment rolls it; the user's image stays.
  ASSERT_TRUE(output_->publishEmqxEnv(emqxOutput("emqx", "broker", true, RotationPolicy::Reload, "\"0.0.0.0:8884\"")));
  json rolled = get(deployments(namespace_, "broker"));
  EXPECT_NE(rolled["spec"]["template"]["metadata"]["annotations"][kEnvHashAnnotation], hash);
  EXPECT_EQ(rolled["spec"]["template"]["spec"]["containers"][0]["image"], "emqx/emqx:5.8.7");
  EXPECT_EQ(rolled["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"], "user");
}

TEST_F(ClusterOutputIntegration, TheUsersFsGroupStaysTheirs) {
  createVaultSecret("server-cert");
  createEmqxDeployment("emqx", nullptr, "broker");
  json theirs = userDeployment("broker", "emqx/emqx:5.8.6", {{"fsGroup", 2000}});
  ASSERT_TRUE(userApply(theirs).ok());
  ASSERT_TRUE(output_->publishSecret(namespace_, "broker", files("one")));
  auto facts = output_->publishEmqxEnv(emqxOutput("emqx", "broker", true));
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(get(deployments(namespace_, "broker"))["spec"]["template"]["spec"]["securityContext"]["fsGroup"], 2000);
  EXPECT_EQ(facts->keyFile, (KeyFileAccess{0, 2000, 0440}));  // the group the pod reads its files through
  EXPECT_EQ(output_->publishEmqxEnv(emqxOutput("emqx", "broker", true))->keyFile, (KeyFileAccess{0, 2000, 0440}));  // nothing sent

  // Theirs to change, without a conflict.
  theirs["spec"]["template"]["spec"]["securityContext"]["fsGroup"] = 3000;
  auto changed = userApply(theirs);
  ASSERT_TRUE(changed.ok()) << changed.error.message;
  output_->forget();
  auto after = output_->publishEmqxEnv(emqxOutput("emqx", "broker", true));
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(get(deployments(namespace_, "broker"))["spec"]["template"]["spec"]["securityContext"]["fsGroup"], 3000);
  EXPECT_EQ(after->keyFile, (KeyFileAccess{0, 3000, 0440}));
}

TEST_F(ClusterOutputIntegration, AMissingDeploymentToPatchIsAClearError) {
  createVaultSecret("server-cert");
  createEmqxDeployment("emqx", nullptr, "ghost");
  ASSERT_TRUE(output_->publishSecret(namespace_, "ghost", files("one")));
  auto refused = output_->publishEmqxEnv(emqxOutput("emqx", "ghost", true));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "spec.deploymentName: Deployment " + namespace_ + "/ghost does not exist; create it or fix the name");
  EXPECT_EQ(client_->get(deployments(namespace_, "ghost")).error.status, 404);
}

TEST_F(ClusterOutputIntegration, AnEnvironmentWithoutItsCertificateSecretSaysWhy) {
  createVaultSecret("server-cert");
  createEmqxDeployment("emqx", podTemplate());
  auto refused = output_->publishEmqxEnv(emqxOutput("emqx", "emqx", false));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("Secret " + namespace_ + "/server-cert does not exist yet"));
  EXPECT_THAT(refused.error().message, HasSubstr("VaultSecret server-cert"));
}

// --- what a person reads when something is missing ------------------------------

TEST_F(ClusterOutputIntegration, AForbiddenWriteNamesThePermissionToGrant) {
  createVaultSecret("server-cert");
  // A ServiceAccount that may read Secrets but not write them.
  ASSERT_TRUE(client_->create({"", "v1", "serviceaccounts", namespace_, ""},
                              {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "revoca"}}}})
                  .ok());
  json role = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
               {"kind", "Role"},
               {"metadata", {{"name", "read-secrets"}, {"namespace", namespace_}}},
               {"rules", json::array({{{"apiGroups", {""}}, {"resources", {"secrets"}}, {"verbs", {"get"}}}})}};
  ASSERT_TRUE(client_->create({"rbac.authorization.k8s.io", "v1", "roles", namespace_, ""}, role).ok());
  json binding = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                  {"kind", "RoleBinding"},
                  {"metadata", {{"name", "read-secrets"}, {"namespace", namespace_}}},
                  {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "read-secrets"}}},
                  {"subjects", json::array({{{"kind", "ServiceAccount"}, {"name", "revoca"}, {"namespace", namespace_}}})}};
  ASSERT_TRUE(client_->create({"rbac.authorization.k8s.io", "v1", "rolebindings", namespace_, ""}, binding).ok());
  auto issued = client_->create({"", "v1", "serviceaccounts", namespace_, "revoca", "token"},
                                {{"apiVersion", "authentication.k8s.io/v1"},
                                 {"kind", "TokenRequest"},
                                 {"spec", {{"expirationSeconds", 600}}}});
  ASSERT_TRUE(issued.ok()) << issued.error.message;
  kubeclient::ConnectionConfig config;
  config.server = config_.server;
  config.caPem = config_.caPem;
  config.bearerToken = (*issued.value)["status"]["token"];
  auto restricted = kubeclient::makeRestClient(config);
  ASSERT_TRUE(restricted) << restricted.error().message;

  ClusterOutput output(**restricted, [this](Kind kind, const std::string& ns, const std::string& name) {
    auto object = client_->get(revocaObjects(kind, ns, name));
    return object.ok() ? object.value : std::nullopt;
  });
  std::optional<Error> refused;
  // RBAC is read from an informer in the apiserver: the binding takes a moment.
  ASSERT_TRUE(eventually([&] {
    auto published = output.publishSecret(namespace_, "emqx", files("one"));
    if (published) return true;
    refused = published.error();
    return refused->message.find("may not get") == std::string::npos;
  }));
  ASSERT_TRUE(refused);
  EXPECT_THAT(refused->message,
              ::testing::StartsWith("revoca's ServiceAccount may not patch and create secrets in namespace " +
                                    namespace_ + " (Secret " + namespace_ + "/server-cert): "));
  // The apiserver's words name the user it refused.
  EXPECT_THAT(refused->message, ::testing::HasSubstr("system:serviceaccount:" + namespace_ + ":revoca"));
  EXPECT_THAT(refused->message, ::testing::EndsWith("; grant it patch and create on secrets in its Role or "
                                                    "ClusterRole (the helm chart's templates/rbac.yaml has them)"));
  EXPECT_EQ(client_->get(secrets(namespace_, "server-cert")).error.status, 404);
}

}  // namespace
}  // namespace revoca::kubernetes
