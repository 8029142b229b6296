#pragma once
// OutputSink in a cluster: what the standalone mode writes to
// OUTPUT/<namespace>/<deployment>/ becomes objects in the namespace:
//
//   Secret <vaultsecret>            cert.pem, cert.key, ca-cert.pem; owned by the VaultSecret
//   ConfigMap <ca>-ca               ca-cert.pem of a CA's distribute.deployments; owned by the CA
//   ConfigMap <deployment>-emqx-env the EMQX environment, for envFrom; owned by the EmqxDeployment
//   Deployment <deployment>         owned (built from spec.podTemplate) or patched (spec.deploymentName):
//                                   the certificate volume (readable by EMQX's uid 1000 through
//                                   fsGroup), its mount at certDir, envFrom the ConfigMap, and a
//                                   pod-template annotation with the certificate's hash, so a
//                                   new certificate rolls the pods.
//
// All writes are server-side apply with field manager revoca: on a patched
// Deployment, only the fields revoca sets are revoca's. What was applied
// is remembered by hash, so a pass that changes nothing sends nothing.
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "kube/api_client.h"
#include "reconcilers/ports.h"

namespace revoca::kubernetes {

// One of revoca's objects as the informer last saw it: plural ("vaultsecrets"), namespace, name.
using ObjectLookup =
    std::function<std::optional<nlohmann::json>(const std::string&, const std::string&, const std::string&)>;

class ClusterOutput final : public OutputSink {
 public:
  ClusterOutput(kube::ApiClient& api, ObjectLookup lookup) : api_(api), lookup_(std::move(lookup)) {}

  Result<void> publishSecret(const std::string& namespace_, const std::string& deployment,
                             const SecretFiles& files) override;
  Result<void> publishCaBundle(const std::string& namespace_, const std::string& deployment,
                               const std::string& caName, const std::string& pem) override;
  Result<std::map<std::string, std::string>> publishEmqxEnv(const EmqxOutput& emqx) override;
  // Forgets what it applied, so the next pass applies everything again:
  // puts back an output someone deleted or edited (the periodic resync).
  void forget() {
    std::lock_guard lock(mutex_);
    applied_.clear();
    certificateHash_.clear();
  }

 private:
  // Applies `object` unless the same content was applied before.
  Result<void> applyIfChanged(const kube::ResourceRef& ref, const nlohmann::json& object);
  Result<nlohmann::json> ownerReference(const std::string& plural, const std::string& kind,
                                        const std::string& namespace_, const std::string& name);
  Result<std::string> certificateHash(const std::string& namespace_, const std::string& secretName);
  Result<nlohmann::json> deploymentFor(const EmqxOutput& emqx, const std::string& configMap, const std::string& hash);

  kube::ApiClient& api_;
  ObjectLookup lookup_;
  std::mutex mutex_;
  std::map<std::string, std::string> applied_;          // object path -> hash of what was applied
  std::map<std::string, std::string> certificateHash_;  // "ns/secret" -> hash of its certificate files
};

// The hash on the pod template: of the certificate chain and the trust bundle, not the key.
std::string certificateFilesHash(const std::string& certPem, const std::string& caCertPem);

}  // namespace revoca::kubernetes
