#pragma once
// Where the apiserver is and how to prove who we are: a kubeconfig file
// (the KUBECONFIG path list, or --kubeconfig) or the in-cluster service
// account, as client-go's clientcmd and rest.InClusterConfig do.
#include <chrono>
#include <optional>
#include <string>

#include "core/result.h"

namespace revoca::kubeclient {

struct ConnectionConfig {
  std::string server;            // https://host:port, IPv6 hosts in brackets
  std::string caPem;             // empty: system roots
  std::string clientCertPem;     // client certificate auth
  std::string clientKeyPem;      // never logged
  std::string bearerToken;       // token auth; never logged
  std::string bearerTokenFile;   // re-read when it changes (projected tokens rotate)
  std::string namespace_;        // the context's (or the service account's) namespace
  bool insecureSkipTlsVerify = false;  // refused by the client: TLS is always verified
  // How long one request (a watch: until its headers) may go unanswered
  // before it is abandoned and fails with status 0.
  std::chrono::seconds requestTimeout{30};
  // For messages: where the server and its trust came from, e.g.
  // `kubeconfig /x/config, cluster "prod"` and `its certificate-authority /x/ca.crt`.
  std::string origin;
  std::string trustOrigin;
};

// `explicitPath` (from --kubeconfig) wins over $KUBECONFIG (':'-separated,
// first file that sets current-context wins), then ~/.kube/config.
Result<ConnectionConfig> loadKubeconfig(const std::string& explicitPath, const std::string& context = "");

// KUBERNETES_SERVICE_HOST/PORT and /var/run/secrets/kubernetes.io/serviceaccount.
Result<ConnectionConfig> loadInClusterConfig(const std::string& serviceAccountDir =
                                                 "/var/run/secrets/kubernetes.io/serviceaccount");

}  // namespace revoca::kubeclient
