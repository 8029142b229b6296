// The in-cluster configuration, as client-go's rest.InClusterConfig builds it:
// the apiserver from the kubernetes Service's environment variables, the
// service account's projected token, CA and namespace from their files.
#include <cstdlib>

#include "kubeclient/config_files.h"
#include "kubeclient/kubeconfig.h"

namespace revoca::kubeclient {

Result<ConnectionConfig> loadInClusterConfig(const std::string& serviceAccountDir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    return makeError("not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                     "are not set (use --kubeconfig outside a cluster)");
  ConnectionConfig config;
  std::string hostPart(host);
  // An IPv6 literal needs brackets, or its colons read as the port separator.
  if (hostPart.find(':') != std::string::npos && hostPart.front() != '[') hostPart = "[" + hostPart + "]";
  config.server = "https://" + hostPart + ":" + port;

  // The token is kept as a file: the kubelet rotates projected tokens (hourly)
  // and the client re-reads it; reading it now makes a missing mount fail early.
  config.bearerTokenFile = serviceAccountDir + "/token";
  auto token = readTextFile(config.bearerTokenFile);
  if (!token) return makeError("in-cluster configuration: service account token: " + token.error().message);
  config.bearerToken = trimSpace(*token);
  if (config.bearerToken.empty())
    return makeError("in-cluster configuration: service account token " + config.bearerTokenFile + " is empty");

  auto ca = readTextFile(serviceAccountDir + "/ca.crt");
  if (!ca) return makeError("in-cluster configuration: cluster CA: " + ca.error().message);
  config.caPem = std::move(*ca);
  config.origin = "the in-cluster configuration (KUBERNETES_SERVICE_HOST)";
  config.trustOrigin = "the service account's CA " + serviceAccountDir + "/ca.crt";

  // POD_NAMESPACE (from the downward API) wins over the file, as in clientcmd.
  const char* podNamespace = std::getenv("POD_NAMESPACE");
  if (podNamespace && *podNamespace) {
    config.namespace_ = podNamespace;
  } else if (auto ns = readTextFile(serviceAccountDir + "/namespace"); ns && !trimSpace(*ns).empty()) {
    config.namespace_ = trimSpace(*ns);
  } else {
    config.namespace_ = "default";
  }
  return config;
}

}  // namespace revoca::kubeclient
