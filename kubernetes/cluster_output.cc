#include "kubernetes/cluster_output.h"

#include <algorithm>
#include <set>

#include "kubeclient/config_files.h"
#include "kubernetes/api_failure.h"
#include "kubernetes/names.h"
#include "pki/digest.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

constexpr char kCertVolume[] = "revoca-certs";
constexpr int kEmqxGroup = 1000;     // EMQX's uid and gid in its image
constexpr int kCertFileMode = 0440;  // root and the pod's fsGroup read; a mode 0400 file would be root's alone

using pki::sha256Hex;

// A member of a JSON object, or null: reads objects that may lack any field.
const json& member(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto found = object.find(key);
  return found == object.end() ? kNull : *found;
}

std::string text(const json& object, const char* key) {
  const json& value = member(object, key);
  return value.is_string() ? value.get<std::string>() : "";
}

std::string describe(const kubeclient::ResourceRef& ref, const std::string& kind) {
  return kind + " " + ref.namespace_ + "/" + ref.name;
}

// A failed request about `ref`; a 403 asks for the verb that failed.
Error apiProblem(const kubeclient::ResourceRef& ref, const std::string& kind, const std::string& verb,
                 const kubeclient::ApiError& error) {
  std::string resource = ref.group.empty() ? ref.plural : ref.plural + "." + ref.group;
  return apiFailure(verb, {describe(ref, kind), resource, ref.namespace_, verb}, error);
}

// Server-side apply creates as well as patches: RBAC checks both verbs.
constexpr char kApplyVerbs[] = "patch and create";

// revoca's output for one owner: revoca's label, the owner's label with its
// name, no state label (revoca's CA keys and ledgers are never outputs) and
// no other controller. The owner's uid may differ: a VaultSecret deleted
// and made again takes its Secret back.
bool isOutputOf(const json& object, const char* ownerLabel, Kind ownerKind, const std::string& ownerName) {
  const json& metadata = member(object, "metadata");
  const json& labels = member(metadata, "labels");
  if (text(labels, kManagedByLabel) != kManagedByValue || text(labels, ownerLabel) != ownerName) return false;
  if (!member(labels, kStateLabel).is_null()) return false;
  const json& owners = member(metadata, "ownerReferences");
  if (owners.is_array())
    for (const auto& owner : owners)
      if (member(owner, "controller") == true &&
          (text(owner, "kind") != kindName(ownerKind) || text(owner, "name") != ownerName))
        return false;
  return true;
}

// Why an existing object of that name is not taken over, and what to do.
Error refusal(const json& existing, const std::string& what, Kind ownerKind, const std::string& ownerName,
              const std::string& fix) {
  const json& labels = member(member(existing, "metadata"), "labels");
  if (text(labels, kManagedByLabel) != kManagedByValue)
    return makeError(what + " exists and is not managed by revoca; " + fix);
  std::string state = text(labels, kStateLabel);
  return makeError(what + " exists and is revoca's " + (state.empty() ? "output for another object" : state + " state") +
                   ", not the output of " + kindName(ownerKind) + " " + ownerName + "; " + fix);
}

// What decides that a Secret or ConfigMap already holds what revoca would
// apply, as one digest: the SHA-256 of each file in its data, its type,
// revoca's two labels and its owners. After a restart or resync, reading
// the object is then enough; a listed Secret is kept as this digest alone
// (listVaultSecretOutputs); and a VaultSecret's Secret is known to be up to
// date from its files' digests, without its key in memory.
pki::Sha256 composedDigest(json fileDigests, const json& type, const json& labels, const char* ownerLabel,
                           const json& ownerReferences) {
  json compared = {{"files", std::move(fileDigests)},
                   {"type", type},
                   {"managedBy", member(labels, kManagedByLabel)},
                   {"owner", member(labels, ownerLabel)},
                   {"ownerReferences", ownerReferences}};
  return pki::sha256(compared.dump());
}

// The digest of an object read or built: `base64` for a Secret's data.
pki::Sha256 outputDigest(const json& object, const char* ownerLabel, bool base64) {
  const json& metadata = member(object, "metadata");
  json files = json::object();
  const json& data = member(object, "data");
  if (data.is_object())
    for (const auto& [name, value] : data.items()) {
      std::string content = value.is_string() ? value.get<std::string>() : value.dump();
      if (base64) {
        auto decoded = kubeclient::decodeBase64(content);
        content = decoded ? std::move(*decoded) : "not base64: " + content;
      }
      files[name] = sha256Hex(content);
    }
  return composedDigest(std::move(files), member(object, "type"), member(metadata, "labels"), ownerLabel,
                        member(metadata, "ownerReferences"));
}

json labels(const char* ownerLabel, const std::string& ownerName) {
  return {{kManagedByLabel, kManagedByValue}, {ownerLabel, ownerName}};
}

// Replaces the entry named `name` of a list of objects, or appends it.
void upsertNamed(json& list, const json& entry) {
  if (!list.is_array()) list = json::array();
  for (auto& item : list)
    if (text(item, "name") == text(entry, "name")) {
      item = entry;
      return;
    }
  list.push_back(entry);
}

// The EMQX container: the one named emqx, else the first.
json* emqxContainer(json& podSpec) {
  if (!podSpec.is_object() || !podSpec.contains("containers") || !podSpec["containers"].is_array() ||
      podSpec["containers"].empty())
    return nullptr;
  for (auto& container : podSpec["containers"])
    if (text(container, "name") == "emqx") return &container;
  return &podSpec["containers"][0];
}

json certificateVolume(const EmqxOutput& emqx) {
  return {{"name", kCertVolume}, {"secret", {{"secretName", emqx.secretName}, {"defaultMode", kCertFileMode}}}};
}

json certificateMount(const EmqxOutput& emqx) {
  return {{"name", kCertVolume}, {"mountPath", emqx.certDir}, {"readOnly", true}};
}

// envFrom is an atomic list: whoever applies it applies all of it, so the
// entries already there stay and revoca's is added once.
json withConfigMapRef(const json& envFrom, const std::string& configMap) {
  json list = envFrom.is_array() ? envFrom : json::array();
  json reference = {{"configMapRef", {{"name", configMap}}}};
  bool present = std::any_of(list.begin(), list.end(), [&](const json& entry) {
    return text(member(entry, "configMapRef"), "name") == configMap;
  });
  if (!present) list.push_back(reference);
  return list;
}

// On a Deployment someone else owns, one `env` entry per variable, each
// from the ConfigMap: `env` is a list keyed by name, so server-side apply
// gives revoca only its own entries. (envFrom is an atomic list: applying
// it would take the user's envFrom entries over, and their next apply from
// Git would conflict or drop revoca's entry.)
json configMapEnv(const EmqxOutput& emqx, const std::string& configMap) {
  json env = json::array();
  for (const auto& var : emqx.env)
    env.push_back({{"name", var.name}, {"valueFrom", {{"configMapKeyRef", {{"name", configMap}, {"key", var.name}}}}}});
  return env;
}

// The managers that own the pod's fsGroup on a Deployment, from its managedFields.
std::set<std::string> fsGroupManagers(const json& deployment) {
  static const json::json_pointer kFsGroup("/fieldsV1/f:spec/f:template/f:spec/f:securityContext/f:fsGroup");
  std::set<std::string> managers;
  const json& entries = member(member(deployment, "metadata"), "managedFields");
  if (!entries.is_array()) return managers;
  for (const auto& entry : entries)
    if (entry.is_object() && entry.contains(kFsGroup))
      managers.insert(text(entry, "manager") + (text(entry, "operation") == "Apply" ? "" : " (update)"));
  return managers;
}

}  // namespace

namespace {
pki::Sha256 certificateFilesDigest(const std::string& certPem, const std::string& caCertPem) {
  return pki::sha256(certPem + "\n--\n" + caCertPem);
}
// What the pod template carries: half the digest is plenty to tell two chains apart.
std::string certificateHashText(const pki::Sha256& digest) { return digest.hex().substr(0, 32); }
}  // namespace

std::string certificateFilesHash(const std::string& certPem, const std::string& caCertPem) {
  return certificateHashText(certificateFilesDigest(certPem, caCertPem));
}

std::string emqxEnvHash(const std::vector<EnvVar>& env) {
  std::string lines;
  for (const auto& var : env) lines += var.name + "=" + var.value + "\n";
  return certificateHashText(pki::sha256(lines));
}

nlohmann::json podTemplateAnnotations(RotationPolicy rotation, const std::string& envHash,
                                      const std::string& certificateHash) {
  json annotations = {{kEnvHashAnnotation, envHash}};
  // Server-side apply drops what revoca's manager no longer sets: a template
  // that carried the certificate's hash before loses it, in one rollout.
  if (rotation == RotationPolicy::Restart) annotations[kCertificateHashAnnotation] = certificateHash;
  return annotations;
}

std::optional<pki::Sha256> ClusterOutput::recall(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto known = applied_.find(key);
  if (known == applied_.end()) return std::nullopt;
  return known->second;
}

void ClusterOutput::remember(const std::string& key, const pki::Sha256& hash) {
  std::lock_guard lock(mutex_);
  applied_[key] = hash;
}

Result<void> ClusterOutput::applyOwned(const Owned& owned, const json& object) {
  pki::Sha256 digest =
      owned.dataOnly ? outputDigest(object, owned.ownerLabel, owned.kind == "Secret") : pki::sha256(object.dump());
  return applyOwned(owned, digest, [&]() -> Result<json> { return object; });
}

Result<void> ClusterOutput::applyOwned(const Owned& owned, const pki::Sha256& digest,
                                       const std::function<Result<json>()>& build) {
  std::string path = owned.ref.path();
  auto last = recall(path);
  if (last == digest) return {};
  std::string what = describe(owned.ref, owned.kind);
  // The first time since a start or a resync: is the name free, or ours already?
  bool listedOurs = false;
  if (!last && owned.kind == "Secret" && std::string(owned.ownerLabel) == kVaultSecretLabel) {
    listVaultSecretOutputs(owned.ref.namespace_);
    std::lock_guard lock(mutex_);
    if (auto known = existingSecrets_.find(path); known != existingSecrets_.end()) {
      listedOurs = true;
      bool upToDate = known->second == digest;
      existingSecrets_.erase(known);  // read once: from now on applied_ knows it
      if (upToDate) {
        applied_[path] = digest;
        return {};
      }
    }
  }
  if (!last && !listedOurs) {
    auto existing = api_.get(owned.ref);
    if (existing.ok()) {
      if (!isOutputOf(*existing.value, owned.ownerLabel, owned.ownerKind, owned.ownerName))
        return refusal(*existing.value, what, owned.ownerKind, owned.ownerName, owned.fix);
      if (owned.dataOnly && outputDigest(*existing.value, owned.ownerLabel, owned.kind == "Secret") == digest) {
        remember(path, digest);
        return {};
      }
    } else if (existing.error.status != 404) {
      return apiProblem(owned.ref, owned.kind, "get", existing.error);
    }
  }
  auto object = build();
  if (!object) return object.error();
  auto applied = api_.apply(owned.ref, *object, kFieldManager);
  if (!applied.ok()) {
    if (applied.error.status == 422 && owned.kind == "Deployment")
      return makeError(what + " built from spec.podTemplate of EmqxDeployment " + owned.ref.namespace_ + "/" +
                       owned.ownerName + " is invalid: " + applied.error.message + "; fix spec.podTemplate");
    return apiProblem(owned.ref, owned.kind, kApplyVerbs, applied.error);
  }
  remember(path, digest);
  return {};
}

void ClusterOutput::listVaultSecretOutputs(const std::string& namespace_) {
  // Held through the list: the other workers of the pass wait for it rather
  // than read each Secret meanwhile.
  std::lock_guard listing(listingMutex_);
  {
    std::lock_guard lock(mutex_);
    if (!listedSecrets_.insert(namespace_).second) return;
  }
  kubeclient::ListOptions options;
  // Not the records (revoca-vs-*, labelled with their VaultSecret too): as
  // many Secrets again, each with a certificate and a key, and never outputs.
  options.labelSelector = std::string(kManagedSelector) + "," + kVaultSecretLabel + ",!" + kStateLabel;
  options.limit = kSecretListLimit;
  std::map<std::string, pki::Sha256> found;
  // Each Secret is reduced to its digest as it arrives.
  options.transform = [&](json& item) {
    std::string owner = text(member(member(item, "metadata"), "labels"), kVaultSecretLabel);
    std::string name = text(member(item, "metadata"), "name");
    if (!owner.empty() && name == owner && isOutputOf(item, kVaultSecretLabel, Kind::VaultSecret, owner))
      found[secrets(namespace_, name).path()] = outputDigest(item, kVaultSecretLabel, true);
    item = nullptr;
  };
  // A failure only costs the reads one by one.
  if (!api_.list(secrets(namespace_), options).ok()) return;
  std::lock_guard lock(mutex_);
  existingSecrets_.merge(found);
}

Result<json> ClusterOutput::revocaObject(Kind kind, const std::string& namespace_, const std::string& name) {
  if (auto cached = lookup_(kind, namespace_, name)) return std::move(*cached);
  auto ref = revocaObjects(kind, namespace_, name);
  auto fetched = api_.get(ref);
  if (!fetched.ok()) {
    if (fetched.error.status == 404)
      return makeError(describe(ref, kindName(kind)) + " does not exist (deleted meanwhile?)");
    return apiProblem(ref, kindName(kind), "get", fetched.error);
  }
  return std::move(*fetched.value);
}

Result<json> ClusterOutput::ownerReference(Kind kind, const std::string& namespace_, const std::string& name) {
  auto owner = revocaObject(kind, namespace_, name);
  if (!owner) return owner.error();
  std::string uid = text(member(*owner, "metadata"), "uid");
  if (uid.empty())
    return makeError(kindName(kind) + " " + namespace_ + "/" + name + " has no metadata.uid; revoca tries again");
  return json{{"apiVersion", std::string(kGroup) + "/" + kVersion},
              {"kind", kindName(kind)},
              {"name", name},
              {"uid", uid},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

Result<std::optional<KeyFileAccess>> ClusterOutput::publishSecret(const std::string& namespace_,
                                                                  const std::string& deployment,
                                                                  const SecretFiles& files) {
  auto owner = ownerReference(Kind::VaultSecret, namespace_, files.secretName);
  if (!owner) return owner.error();
  json labelled = labels(kVaultSecretLabel, files.secretName);
  json owners = json::array({*owner});
  // Known up to date from the files' digests: the PEMs are read (from the
  // state store, when it kept them out of memory) only to write it.
  pki::Sha256 digest = composedDigest({{"cert.pem", files.certSha256().hex()},
                                       {"cert.key", files.keySha256().hex()},
                                       {"ca-cert.pem", sha256Hex(files.caCertPem)}},
                                      "Opaque", labelled, kVaultSecretLabel, owners);
  std::optional<pki::Sha256> certificateHash;
  auto build = [&]() -> Result<json> {
    auto pems = files.pems();
    if (!pems) return pems.error();
    certificateHash = certificateFilesDigest(pems->certPem, files.caCertPem);
    return json{{"apiVersion", "v1"},
                {"kind", "Secret"},
                {"type", "Opaque"},
                {"metadata",
                 {{"name", files.secretName},
                  {"namespace", namespace_},
                  {"labels", std::move(labelled)},
                  {"ownerReferences", std::move(owners)}}},
                {"data",
                 {{"cert.pem", kubeclient::encodeBase64(pems->certPem)},
                  {"cert.key", kubeclient::encodeBase64(pems->keyPem)},
                  {"ca-cert.pem", kubeclient::encodeBase64(files.caCertPem)}}}};
  };
  Owned owned{secrets(namespace_, files.secretName), "Secret", kVaultSecretLabel, Kind::VaultSecret, files.secretName,
              "delete it or rename the VaultSecret", true};
  if (auto applied = applyOwned(owned, digest, build); !applied) return applied.error();
  // Unchanged, it was not built: certificateHash() reads the Secret once
  // if an EmqxDeployment asks.
  if (certificateHash) {
    std::lock_guard lock(mutex_);
    certificateHash_[namespace_ + "/" + files.secretName] = *certificateHash;
  }
  // A Secret has no file owner or mode: the volume that mounts it sets them.
  return std::optional<KeyFileAccess>{};
}

Result<void> ClusterOutput::publishCaBundle(const std::string& namespace_, const std::string& deployment,
                                            const std::string& caName, const std::string& pem) {
  auto owner = ownerReference(Kind::CertificateAuthority, namespace_, caName);
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
  Owned owned{configMaps(namespace_, name), "ConfigMap", kCaLabel, Kind::CertificateAuthority, caName,
              "delete it or rename the CertificateAuthority", true};
  return applyOwned(owned, configMap);
}

Result<std::string> ClusterOutput::certificateHash(const std::string& namespace_, const std::string& secretName) {
  {
    std::lock_guard lock(mutex_);
    if (auto known = certificateHash_.find(namespace_ + "/" + secretName); known != certificateHash_.end())
      return certificateHashText(known->second);
  }
  // Not published by this process yet (a restart): what is in the cluster.
  auto ref = secrets(namespace_, secretName);
  std::string what = describe(ref, "Secret");
  auto secret = api_.get(ref);
  if (!secret.ok()) {
    if (secret.error.status == 404)
      return makeError(what + " does not exist yet; revoca writes it when VaultSecret " + secretName +
                       " is Ready (see its status)");
    return apiProblem(ref, "Secret", "get", secret.error);
  }
  if (!isOutputOf(*secret.value, kVaultSecretLabel, Kind::VaultSecret, secretName))
    return makeError(what + " is not revoca's output for VaultSecret " + secretName + "; see the VaultSecret's status");
  const json& data = member(*secret.value, "data");
  auto cert = kubeclient::decodeBase64(text(data, "cert.pem"));
  auto bundle = kubeclient::decodeBase64(text(data, "ca-cert.pem"));
  if (!cert || !bundle || cert->empty())
    return makeError(what + " holds no certificate yet; revoca writes it when VaultSecret " + secretName + " is Ready");
  pki::Sha256 digest = certificateFilesDigest(*cert, *bundle);
  std::lock_guard lock(mutex_);
  certificateHash_[namespace_ + "/" + secretName] = digest;
  return certificateHashText(digest);
}

Result<json> ClusterOutput::ownedDeployment(const EmqxOutput& emqx, const std::string& configMap,
                                            const json& annotations) {
  std::string owner = "EmqxDeployment " + emqx.namespace_ + "/" + emqx.owner;
  auto declaration = revocaObject(Kind::EmqxDeployment, emqx.namespace_, emqx.owner);
  if (!declaration) return declaration.error();
  json podTemplate = member(member(*declaration, "spec"), "podTemplate");
  if (!podTemplate.is_object())
    return makeError(owner + ": give spec.podTemplate (a pod template with the EMQX container) for revoca to own " +
                     "Deployment " + emqx.deployment + ", or spec.deploymentName to patch a Deployment you have");
  json* container = emqxContainer(podTemplate["spec"]);
  if (!container)
    return makeError(owner + ": spec.podTemplate.spec.containers is empty; give the EMQX container (name: emqx)");

  json selector = {{"app.kubernetes.io/name", "emqx"}, {"app.kubernetes.io/instance", emqx.owner}};
  json& metadata = podTemplate["metadata"];
  if (!metadata.is_object()) metadata = json::object();
  if (!metadata["labels"].is_object()) metadata["labels"] = json::object();
  metadata["labels"].update(selector);
  if (!metadata["annotations"].is_object()) metadata["annotations"] = json::object();
  metadata["annotations"].update(annotations);

  upsertNamed((*container)["volumeMounts"], certificateMount(emqx));
  (*container)["envFrom"] = withConfigMapRef(member(*container, "envFrom"), configMap);
  json& podSpec = podTemplate["spec"];
  upsertNamed(podSpec["volumes"], certificateVolume(emqx));
  if (!podSpec["securityContext"].is_object()) podSpec["securityContext"] = json::object();
  if (!podSpec["securityContext"].contains("fsGroup")) podSpec["securityContext"]["fsGroup"] = kEmqxGroup;

  auto reference = ownerReference(Kind::EmqxDeployment, emqx.namespace_, emqx.owner);
  if (!reference) return reference.error();
  // No spec.replicas: the apiserver's default is 1, and `kubectl scale` or an
  // autoscaler is not undone by the next certificate.
  return json{{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata",
               {{"name", emqx.deployment},
                {"namespace", emqx.namespace_},
                {"labels", labels(kEmqxDeploymentLabel, emqx.owner)},
                {"ownerReferences", json::array({*reference})}}},
              {"spec", {{"selector", {{"matchLabels", selector}}}, {"template", podTemplate}}}};
}

Result<std::int64_t> ClusterOutput::patchDeployment(const EmqxOutput& emqx, const std::string& configMap,
                                                    const json& annotations) {
  auto ref = deployments(emqx.namespace_, emqx.deployment);
  std::string key = "patch " + ref.path();
  pki::Sha256 inputs = pki::sha256(json::array({emqx.secretName, emqx.certDir, configMap, annotations, kCertFileMode,
                                              kEmqxGroup, configMapEnv(emqx, configMap)})
                                     .dump());
  if (recall(key) == inputs) {
    std::lock_guard lock(mutex_);
    auto known = podFsGroup_.find(key);
    return known == podFsGroup_.end() ? std::int64_t{kEmqxGroup} : known->second;
  }

  std::string what = describe(ref, "Deployment");
  auto existing = api_.get(ref);
  if (!existing.ok()) {
    if (existing.error.status == 404)
      return makeError("spec.deploymentName: " + what + " does not exist; create it or fix the name");
    return apiProblem(ref, "Deployment", "get", existing.error);
  }
  json podSpec = member(member(member(*existing.value, "spec"), "template"), "spec");
  json* found = emqxContainer(podSpec);
  if (!found) return makeError("spec.deploymentName: " + what + " has no containers to mount the certificate in");

  // Only revoca's fields; the user keeps owning the rest. Lists merge by
  // their keys: containers and volumes by name, volumeMounts by mountPath.
  json container = {{"name", text(*found, "name")},
                    {"volumeMounts", json::array({certificateMount(emqx)})},
                    {"env", configMapEnv(emqx, configMap)}};
  json patchSpec = {{"containers", json::array({container})}, {"volumes", json::array({certificateVolume(emqx)})}};
  // An fsGroup someone else set stays theirs: any fsGroup lets EMQX read the
  // 0440 files through its supplementary group.
  auto managers = fsGroupManagers(*existing.value);
  bool onlyRevocas = managers.size() == 1 && *managers.begin() == kFieldManager;
  const json& theirs = member(member(podSpec, "securityContext"), "fsGroup");
  std::int64_t fsGroup = kEmqxGroup;
  if (theirs.is_null() || onlyRevocas)
    patchSpec["securityContext"] = {{"fsGroup", kEmqxGroup}};
  else if (theirs.is_number_integer())
    fsGroup = theirs.get<std::int64_t>();
  json patch = {{"apiVersion", "apps/v1"},
                {"kind", "Deployment"},
                {"metadata", {{"name", emqx.deployment}, {"namespace", emqx.namespace_}}},
                {"spec",
                 {{"template",
                   {{"metadata", {{"annotations", annotations}}}, {"spec", patchSpec}}}}}};
  auto applied = api_.apply(ref, patch, kFieldManager);
  if (!applied.ok()) return apiProblem(ref, "Deployment", "patch", applied.error);
  remember(key, inputs);
  std::lock_guard lock(mutex_);
  podFsGroup_[key] = fsGroup;
  return fsGroup;
}

Result<EmqxEnvFacts> ClusterOutput::publishEmqxEnv(const EmqxOutput& emqx) {
  auto owner = ownerReference(Kind::EmqxDeployment, emqx.namespace_, emqx.owner);
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
  std::string renameFix = "delete it, or rename the EmqxDeployment (or its spec.deploymentName)";
  Owned ownedMap{configMaps(emqx.namespace_, name), "ConfigMap", kEmqxDeploymentLabel, Kind::EmqxDeployment, emqx.owner,
                 renameFix, true};
  if (auto applied = applyOwned(ownedMap, configMap); !applied) return applied.error();

  auto hash = certificateHash(emqx.namespace_, emqx.secretName);
  if (!hash) return hash.error();
  std::string envHash = emqxEnvHash(emqx.env);
  json annotations = podTemplateAnnotations(emqx.rotation, envHash, *hash);
  std::int64_t fsGroup = kEmqxGroup;
  if (emqx.patchExisting) {
    auto patched = patchDeployment(emqx, name, annotations);
    if (!patched) return patched.error();
    fsGroup = *patched;
  } else {
    auto deployment = ownedDeployment(emqx, name, annotations);
    if (!deployment) return deployment.error();
    const json& podSpec = member(member(member(*deployment, "spec"), "template"), "spec");
    const json& given = member(member(podSpec, "securityContext"), "fsGroup");
    if (given.is_number_integer()) fsGroup = given.get<std::int64_t>();
    Owned ownedDeployment{deployments(emqx.namespace_, emqx.deployment), "Deployment", kEmqxDeploymentLabel,
                          Kind::EmqxDeployment, emqx.owner,
                          "delete it, or give spec.deploymentName: " + emqx.deployment +
                              " instead of spec.podTemplate for revoca to patch it",
                          false};
    if (auto applied = applyOwned(ownedDeployment, *deployment); !applied) return applied.error();
  }
  // Secret volume files are root's, in the pod's fsGroup (kubelet sets the
  // group), with the volume's mode: EMQX reads them through its group.
  EmqxEnvFacts facts;
  facts.rollout = EmqxRollout{name, *hash, envHash, emqx.rotation};
  facts.keyFile = KeyFileAccess{0, fsGroup, static_cast<unsigned>(kCertFileMode)};
  return facts;
}

}  // namespace revoca::kubernetes
