#pragma once
// The names, labels and resources revoca uses in a cluster, in one place.
#include <string>

#include "declarations/kind.h"
#include "kubeclient/api_client.h"

namespace revoca::kubernetes {

inline constexpr char kFieldManager[] = "revoca";
inline constexpr char kGroup[] = "revoca.io";
inline constexpr char kVersion[] = "v1alpha1";

// Every object revoca creates carries this label; revoca watches and lists
// only Secrets with it, never every Secret in the cluster.
inline constexpr char kManagedByLabel[] = "app.kubernetes.io/managed-by";
inline constexpr char kManagedByValue[] = "revoca";
inline constexpr char kManagedSelector[] = "app.kubernetes.io/managed-by=revoca";
// Revoca's Secrets with certificates and keys (records, outputs) are listed
// in one answer, read as it arrives (kubeclient::ListOptions): the
// apiserver serves it from its cache in one pass, where pages of 100 cost
// it several times the CPU (10,000 records among 50,000 Secrets: some 1 to
// 2 s against 0.2 s), each page walking the namespace's Secrets again.
inline constexpr int kSecretListLimit = 0;
// What a state Secret holds: "ca", "ledger", "revocations", "first-crls", "vaultsecret".
inline constexpr char kStateLabel[] = "revoca.io/state";
inline constexpr char kCaLabel[] = "revoca.io/ca";
inline constexpr char kVaultSecretLabel[] = "revoca.io/vaultsecret";
inline constexpr char kEmqxDeploymentLabel[] = "revoca.io/emqxdeployment";
// On a Deployment's pod template, with rotation policy restart only: a new
// certificate rolls the pods.
inline constexpr char kCertificateHashAnnotation[] = "revoca.io/certificate-hash";
// On a Deployment's pod template: EMQX reads its environment only when it
// starts, so a change to it (and only that) rolls the pods.
inline constexpr char kEnvHashAnnotation[] = "revoca.io/env-hash";

inline kubeclient::ResourceRef secrets(const std::string& ns, const std::string& name = "") {
  return {"", "v1", "secrets", ns, name};
}
inline kubeclient::ResourceRef configMaps(const std::string& ns, const std::string& name = "") {
  return {"", "v1", "configmaps", ns, name};
}
inline kubeclient::ResourceRef deployments(const std::string& ns, const std::string& name = "") {
  return {"apps", "v1", "deployments", ns, name};
}
inline kubeclient::ResourceRef leases(const std::string& ns, const std::string& name = "") {
  return {"coordination.k8s.io", "v1", "leases", ns, name};
}
inline kubeclient::ResourceRef events(const std::string& ns) { return {"", "v1", "events", ns, ""}; }
inline kubeclient::ResourceRef namespaces(const std::string& name = "") { return {"", "v1", "namespaces", "", name}; }

// The objects of one of revoca's own kinds.
inline kubeclient::ResourceRef revocaObjects(Kind kind, const std::string& ns = "", const std::string& name = "") {
  return {kGroup, kVersion, kindPlural(kind), ns, name};
}

}  // namespace revoca::kubernetes
