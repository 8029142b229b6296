#pragma once
// Kubernetes mode: revoca as an operator. Informers feed the declarations
// of the cluster to one controller per kind (controllers.h), which runs the
// reconcile of one object the standalone mode's pass runs; state lives in
// Secrets; the replica holding the Lease reconciles and writes, every
// replica serves the responder from the state the leader wrote.
#include <chrono>
#include <string>
#include <vector>

namespace revoca {

struct KubernetesOptions {
  std::string kubeconfig;       // "" : in-cluster when KUBERNETES_SERVICE_HOST is set, else $KUBECONFIG, ~/.kube/config
  std::string context;          // kubeconfig context, "" for the current one
  std::vector<std::string> watchNamespaces;  // empty: every namespace
  std::string listen = "0.0.0.0:4664";
  int responderThreads = 2;
  bool leaderElection = true;
  std::string leaseNamespace;   // "" : the config's namespace (POD_NAMESPACE in a pod), else "default"
  std::string leaseName = "revoca-leader";
  std::string identity;         // "" : hostname + random suffix
  std::chrono::seconds leaseDuration{15};
  std::chrono::seconds renewDeadline{10};
  std::chrono::seconds retryPeriod{2};
  // How often every output and status is applied again (puts back what someone deleted).
  std::chrono::seconds resyncPeriod{300};
  // From the first SIGTERM or SIGINT, how long /readyz fails while the
  // responder still answers, before the process stops (core/shutdown.h):
  // the time the Service's endpoints take to drop a terminating pod. 0 stops at once.
  std::chrono::seconds shutdownDelay{5};
};

// Runs until SIGINT or SIGTERM, then drains for shutdownDelay. Returns the process exit code.
int runKubernetes(const KubernetesOptions& options);

}  // namespace revoca
