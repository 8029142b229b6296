#include "kubernetes/cluster_output.h"

#include <openssl/evp.h>

#include "kube/config_files.h"
#include "kubernetes/names.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

constexpr char kCertVolume[] = "revoca-certs";
constexpr int kEmqxUid = 1000;        // EMQX's user in its image
constexpr int kCertFileMode = 0440;   // owner and group (fsGroup) read

std::string sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

Error apiProblem(const std::string& what, const std::string& verb, const kube::ApiError& error) {
  if (error.status == 403)
    return Error{what + ": forbidden; revoca's ServiceAccount needs " + verb + " on it (see its Role)"};
  if (error.status == 0) return Error{what + ": the apiserver did not answer (" + error.message + "); revoca retries"};
  return Error{what + ": " + error.message};
}

bool managedByRevoca(const json& object) {
  return object["metadata"].value("labels", json::object()).value(kManagedByLabel, "") == kManagedByValue;
}

json labels(const std::string& extraKey, const std::string& extraValue) {
  return {{kManagedByLabel, kManagedByValue}, {extraKey, extraValue}};
}

// Replaces the entry named `name` of a list of objects, or appends it.
void upsertNamed(json& list, const json& entry) {
  if (!list.is_array()) list = json::array();
  for (auto& item : list)
    if (item.value("name", "") == entry.value("name", "")) {
      item = entry;
      return;
    }
  list.push_back(entry);
}

// The EMQX container: the one named emqx, else the first.
json* emqxContainer(json& podSpec) {
  if (!podSpec.contains("containers") || !podSpec["containers"].is_array() || podSpec["containers"].empty())
    return nullptr;
  for (auto& container : podSpec["containers"])
    if (container.value("name", "") == "emqx") return &container;
  return &podSpec["containers"][0];
}

// What the seed's Step 4 mounts: the certificate files at certDir, the env from the ConfigMap.
void addCertificateAndEnv(json& podSpec, json& container, const EmqxOutput& emqx, const std::string& configMap) {
  upsertNamed(podSpec["volumes"],
              {{"name", kCertVolume}, {"secret", {{"secretName", emqx.secretName}, {"defaultMode", kCertFileMode}}}});
  if (!podSpec.contains("securityContext") || !podSpec["securityContext"].is_object())
    podSpec["securityContext"] = json::object();
  if (!podSpec["securityContext"].contains("fsGroup")) podSpec["securityContext"]["fsGroup"] = kEmqxUid;
  upsertNamed(container["volumeMounts"], {{"name", kCertVolume}, {"mountPath", emqx.certDir}, {"readOnly", true}});
  json reference = {{"configMapRef", {{"name", configMap}}}};
  json& envFrom = container["envFrom"];
  if (!envFrom.is_array()) envFrom = json::array();
  if (std::find(envFrom.begin(), envFrom.end(), reference) == envFrom.end()) envFrom.push_back(reference);
}

}  // namespace

std::string certificateFilesHash(const std::string& certPem, const std::string& caCertPem) {
  return sha256Hex(certPem + "\n--\n" + caCertPem).substr(0, 32);
}

Result<void> ClusterOutput::applyIfChanged(const kube::ResourceRef& ref, const json& object) {
  std::string path = ref.path();
  std::string hash = sha256Hex(object.dump());
  {
    std::lock_guard lock(mutex_);
    if (auto known = applied_.find(path); known != applied_.end() && known->second == hash) return {};
  }
  auto applied = api_.apply(ref, object, kFieldManager);
  std::string what = object.value("kind", std::string("object")) + " " + ref.namespace_ + "/" + ref.name;
  if (!applied.ok()) return apiProblem(what, "patch (server-side apply)", applied.error);
  std::lock_guard lock(mutex_);
  applied_[path] = hash;
  return {};
}

Result<json> ClusterOutput::ownerReference(const std::string& plural, const std::string& kind,
                                           const std::string& namespace_, const std::string& name) {
  auto owner = lookup_(plural, namespace_, name);
  if (!owner) {
    auto fetched = api_.get(revocaObjects(plural, namespace_, name));
    if (!fetched.ok()) return apiProblem(kind + " " + namespace_ + "/" + name, "get", fetched.error);
    owner = std::move(*fetched.value);
  }
  return json{{"apiVersion", std::string(kGroup) + "/" + kVersion},
              {"kind", kind},
              {"name", name},
              {"uid", (*owner)["metadata"].value("uid", "")},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

Result<void> ClusterOutput::publishSecret(const std::string& namespace_, const std::string& deployment,
                                          const SecretFiles& files) {
  auto ref = secrets(namespace_, files.secretName);
  std::string what = "Secret " + namespace_ + "/" + files.secretName;
  bool firstTime;
  {
    std::lock_guard lock(mutex_);
    firstTime = !applied_.count(ref.path());
  }
  // Never take over a Secret someone else made under this name.
  if (firstTime) {
    auto existing = api_.get(ref);
    if (existing.ok() && !managedByRevoca(*existing.value))
      return makeError(what + " exists and is not managed by revoca; delete it or rename the VaultSecret");
    if (!existing.ok() && existing.error.status != 404) return apiProblem(what, "get", existing.error);
  }
  auto owner = ownerReference("vaultsecrets", "VaultSecret", namespace_, files.secretName);
  if (!owner) return owner.error();
  json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"type", "Opaque"},
                 {"metadata",
                  {{"name", files.secretName},
                   {"namespace", namespace_},
                   {"labels", labels(kVaultSecretLabel, files.secretName)},
                   {"ownerReferences", json::array({*owner})}}},
                 {"data",
                  {{"cert.pem", kube::encodeBase64(files.certPem)},
                   {"cert.key", kube::encodeBase64(files.keyPem)},
                   {"ca-cert.pem", kube::encodeBase64(files.caCertPem)}}}};
  if (auto applied = applyIfChanged(ref, secret); !applied) return applied;
  std::lock_guard lock(mutex_);
  certificateHash_[namespace_ + "/" + files.secretName] = certificateFilesHash(files.certPem, files.caCertPem);
  return {};
}

Result<void> ClusterOutput::publishCaBundle(const std::string& namespace_, const std::string& deployment,
                                            const std::string& caName, const std::string& pem) {
  auto owner = ownerReference("certificateauthorities", "CertificateAuthority", namespace_, caName);
  if (!owner) return owner.error();
  std::string name = caName + "-ca";
  json configMap = {{"apiVersion", "v1"},
                    {"kind", "ConfigMap"},
                    {"metadata",
                     {{"name", name},
                      {"namespace", namespace_},
                      {"labels", labels(kCaLabel, caName)},
                      {"ownerReferences", json::array({*owner})}}},
                    {"data", {{"ca-cert.pem", pem}}}};
  return applyIfChanged(configMaps(namespace_, name), configMap);
}

Result<std::string> ClusterOutput::certificateHash(const std::string& namespace_, const std::string& secretName) {
  {
    std::lock_guard lock(mutex_);
    if (auto known = certificateHash_.find(namespace_ + "/" + secretName); known != certificateHash_.end())
      return known->second;
  }
  auto secret = api_.get(secrets(namespace_, secretName));
  if (!secret.ok())
    return apiProblem("Secret " + namespace_ + "/" + secretName + " (the certificate to mount)", "get", secret.error);
  const json& data = secret.value->value("data", json::object());
  auto cert = kube::decodeBase64(data.value("cert.pem", std::string()));
  auto bundle = kube::decodeBase64(data.value("ca-cert.pem", std::string()));
  if (!cert || !bundle) return makeError("Secret " + namespace_ + "/" + secretName + " holds no certificate yet");
  std::string hash = certificateFilesHash(*cert, *bundle);
  std::lock_guard lock(mutex_);
  certificateHash_[namespace_ + "/" + secretName] = hash;
  return hash;
}

Result<json> ClusterOutput::deploymentFor(const EmqxOutput& emqx, const std::string& configMap,
                                          const std::string& hash) {
  std::string what = "Deployment " + emqx.namespace_ + "/" + emqx.deployment;
  if (emqx.patchExisting) {
    auto existing = api_.get(deployments(emqx.namespace_, emqx.deployment));
    if (!existing.ok()) {
      if (existing.error.status == 404)
        return makeError("spec.deploymentName: " + what + " does not exist; create it or fix the name");
      return apiProblem(what, "get", existing.error);
    }
    json podSpec = (*existing.value)["spec"]["template"].value("spec", json::object());
    json* found = emqxContainer(podSpec);
    if (!found) return makeError(what + " has no containers to mount the certificate in");
    // Only revoca's fields: the user keeps owning the rest.
    json container = {{"name", found->value("name", "")}, {"envFrom", found->value("envFrom", json::array())}};
    json patchSpec = json::object();
    if (podSpec.contains("securityContext") && podSpec["securityContext"].contains("fsGroup"))
      patchSpec["securityContext"] = {{"fsGroup", podSpec["securityContext"]["fsGroup"]}};
    addCertificateAndEnv(patchSpec, container, emqx, configMap);
    patchSpec["containers"] = json::array({container});
    return json{{"apiVersion", "apps/v1"},
                {"kind", "Deployment"},
                {"metadata", {{"name", emqx.deployment}, {"namespace", emqx.namespace_}}},
                {"spec",
                 {{"template",
                   {{"metadata", {{"annotations", {{kCertificateHashAnnotation, hash}}}}}, {"spec", patchSpec}}}}}};
  }

  auto declaration = lookup_("emqxdeployments", emqx.namespace_, emqx.owner);
  json podTemplate = declaration ? (*declaration)["spec"].value("podTemplate", json()) : json();
  if (!podTemplate.is_object())
    return makeError("spec.podTemplate: required in a cluster to build " + what +
                     "; give a pod template with the EMQX container, or spec.deploymentName to patch a Deployment");
  json selector = {{"app.kubernetes.io/name", "emqx"}, {"app.kubernetes.io/instance", emqx.owner}};
  json& metadata = podTemplate["metadata"];
  if (!metadata.is_object()) metadata = json::object();
  for (const auto& [key, value] : selector.items()) metadata["labels"][key] = value;
  metadata["annotations"][kCertificateHashAnnotation] = hash;
  json& podSpec = podTemplate["spec"];
  json* container = podSpec.is_object() ? emqxContainer(podSpec) : nullptr;
  if (!container) return makeError("spec.podTemplate.spec.containers: give the EMQX container");
  addCertificateAndEnv(podSpec, *container, emqx, configMap);
  auto owner = ownerReference("emqxdeployments", "EmqxDeployment", emqx.namespace_, emqx.owner);
  if (!owner) return owner.error();
  return json{{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata",
               {{"name", emqx.deployment},
                {"namespace", emqx.namespace_},
                {"labels", labels(kEmqxDeploymentLabel, emqx.owner)},
                {"ownerReferences", json::array({*owner})}}},
              {"spec", {{"replicas", 1}, {"selector", {{"matchLabels", selector}}}, {"template", podTemplate}}}};
}

Result<std::map<std::string, std::string>> ClusterOutput::publishEmqxEnv(const EmqxOutput& emqx) {
  auto owner = ownerReference("emqxdeployments", "EmqxDeployment", emqx.namespace_, emqx.owner);
  if (!owner) return owner.error();
  std::string name = emqx.deployment + "-emqx-env";
  json data = json::object();
  for (const auto& var : emqx.env) data[var.name] = var.value;
  json configMap = {{"apiVersion", "v1"},
                    {"kind", "ConfigMap"},
                    {"metadata",
                     {{"name", name},
                      {"namespace", emqx.namespace_},
                      {"labels", labels(kEmqxDeploymentLabel, emqx.owner)},
                      {"ownerReferences", json::array({*owner})}}},
                    {"data", data}};
  if (auto applied = applyIfChanged(configMaps(emqx.namespace_, name), configMap); !applied) return applied.error();

  auto hash = certificateHash(emqx.namespace_, emqx.secretName);
  if (!hash) return hash.error();
  auto deployment = deploymentFor(emqx, name, *hash);
  if (!deployment) return deployment.error();
  if (auto applied = applyIfChanged(deployments(emqx.namespace_, emqx.deployment), *deployment); !applied)
    return applied.error();
  return std::map<std::string, std::string>{
      {"configMap", name}, {"certificateHash", *hash}, {"deployment", emqx.deployment}};
}

}  // namespace revoca::kubernetes
