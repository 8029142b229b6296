#pragma once
// OutputSink in a cluster: what the standalone mode writes to
// OUTPUT/<namespace>/<deployment>/ becomes objects in the namespace:
//
//   Secret <vaultsecret>            cert.pem, cert.key, ca-cert.pem; owned by the VaultSecret
//   ConfigMap <ca>-ca               ca-cert.pem of a CA's distribute.deployments; owned by the CA
//   ConfigMap <deployment>-emqx-env the EMQX environment; owned by the EmqxDeployment
//   Deployment <deployment>         owned (built from spec.podTemplate) or patched (spec.deploymentName):
//                                   the certificate volume (mode 0440, readable by EMQX's uid 1000
//                                   through fsGroup), its mount at certDir, the ConfigMap as envFrom
//                                   (owned) or one env entry per variable (patched: env is keyed by
//                                   name, envFrom is atomic and would take the user's entries over),
//                                   and a pod-template annotation with the certificate's hash, so
//                                   a new certificate rolls the pods.
//
// All writes are server-side apply with field manager revoca: on a patched
// Deployment only the fields revoca sets are revoca's, and the user keeps
// applying theirs. An object of the same name that is not revoca's output
// for the same owner (someone's Secret, revoca's own state Secrets) is
// refused, never taken over.
//
// What was applied is remembered by hash, so a pass that changes nothing
// sends nothing; a VaultSecret's Secret by its files' digests, so its key
// need not be in memory to know it is up to date. The first publish of an
// object after a start or forget() reads it once (is the name free or
// ours?) and, for Secrets and ConfigMaps already up to date, writes nothing. VaultSecrets' Secrets are
// read a namespace at a time, by label, in one list: a start with 10,000 of
// them costs one request rather than 10,000.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "kubeclient/api_client.h"
#include "ports/outputs.h"

namespace revoca::kubernetes {

// One of revoca's objects as the informer last saw it: kind, namespace, name
// -> the object as the apiserver returned it, or nullopt when it is not
// cached (ClusterOutput then asks the apiserver).
using ObjectLookup = std::function<std::optional<nlohmann::json>(Kind, const std::string&, const std::string&)>;

class ClusterOutput final : public OutputSink {
 public:
  ClusterOutput(kubeclient::ApiClient& api, ObjectLookup lookup) : api_(api), lookup_(std::move(lookup)) {}

  // No key file access: a Secret has no file owner or mode (the volume mounting it sets them).
  Result<std::optional<KeyFileAccess>> publishSecret(const std::string& namespace_, const std::string& deployment,
                                                     const SecretFiles& files) override;
  Result<void> publishCaBundle(const std::string& namespace_, const std::string& deployment,
                               const std::string& caName, const std::string& pem) override;
  // The rollout, and the owner (root, the pod's fsGroup) and mode (0440)
  // of the mounted files.
  Result<EmqxEnvFacts> publishEmqxEnv(const EmqxOutput& emqx) override;
  // Lists the VaultSecret outputs of `namespace_` now, ahead of the
  // reconciles that would list them at their first output (see
  // kubernetes/engine.cc: listed beside the records, not after them).
  void listAhead(const std::string& namespace_) { listVaultSecretOutputs(namespace_); }
  // Forgets what it applied, so the next pass looks at every output again:
  // puts back an output someone deleted or edited (the periodic resync).
  void forget() {
    std::lock_guard lock(mutex_);
    applied_.clear();
    podFsGroup_.clear();
    certificateHash_.clear();
    listedSecrets_.clear();
    existingSecrets_.clear();
  }

 private:
  // An object revoca owns outright, and who it belongs to.
  struct Owned {
    kubeclient::ResourceRef ref;
    std::string kind;        // "Secret", "ConfigMap", "Deployment"
    const char* ownerLabel;  // kVaultSecretLabel, kCaLabel, kEmqxDeploymentLabel: its value is ownerName
    Kind ownerKind;
    std::string ownerName;
    std::string fix;         // what to do when the name is taken: "delete it or rename the VaultSecret"
    bool dataOnly = false;   // Secret, ConfigMap: up to date when data, labels and owner match
  };
  // Server-side applies `object` unless the same content was applied before.
  Result<void> applyOwned(const Owned& owned, const nlohmann::json& object);
  // The same for an object known by its digest (outputDigest's for data
  // only objects), built only when it must be sent.
  Result<void> applyOwned(const Owned& owned, const pki::Sha256& digest,
                          const std::function<Result<nlohmann::json>()>& build);
  // One of revoca's objects, from the lookup or else from the apiserver.
  Result<nlohmann::json> revocaObject(Kind kind, const std::string& namespace_, const std::string& name);
  Result<nlohmann::json> ownerReference(Kind kind, const std::string& namespace_, const std::string& name);
  Result<std::string> certificateHash(const std::string& namespace_, const std::string& secretName);
  // ANNOTATIONS: revoca's on the pod template (podTemplateAnnotations).
  Result<nlohmann::json> ownedDeployment(const EmqxOutput& emqx, const std::string& configMap,
                                         const nlohmann::json& annotations);
  // Returns the fsGroup the pod gets: revoca's, or one someone else set.
  Result<std::int64_t> patchDeployment(const EmqxOutput& emqx, const std::string& configMap,
                                       const nlohmann::json& annotations);
  // The VaultSecret Secrets of a namespace that are revoca's, by path -> the
  // outputDigest() of it; those not listed are read one by one.
  void listVaultSecretOutputs(const std::string& namespace_);
  std::optional<pki::Sha256> recall(const std::string& key);
  void remember(const std::string& key, const pki::Sha256& hash);

  kubeclient::ApiClient& api_;
  ObjectLookup lookup_;
  std::mutex listingMutex_;  // before mutex_, never inside it
  std::mutex mutex_;
  std::map<std::string, pki::Sha256> applied_;          // object path -> hash of what was applied
  std::map<std::string, std::int64_t> podFsGroup_;      // "patch <Deployment path>" -> the fsGroup its pods get
  std::map<std::string, pki::Sha256> certificateHash_;  // "ns/secret" -> digest of its certificate files
  std::set<std::string> listedSecrets_;                 // namespaces listVaultSecretOutputs() has read
  std::map<std::string, pki::Sha256> existingSecrets_;  // path -> outputDigest() of the Secret there
};

// The certificate's hash (status; the pod template with rotation policy
// restart): of the certificate chain and the trust bundle, not the key.
std::string certificateFilesHash(const std::string& certPem, const std::string& caCertPem);
// The environment's hash on the pod template: of every name and value.
std::string emqxEnvHash(const std::vector<EnvVar>& env);
// revoca's annotations on a broker's pod template.
nlohmann::json podTemplateAnnotations(RotationPolicy rotation, const std::string& envHash,
                                      const std::string& certificateHash);

}  // namespace revoca::kubernetes
