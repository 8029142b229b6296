#include "kubernetes/api_failure.h"

namespace revoca::kubernetes {

Error apiFailure(const std::string& verb, const ApiTarget& target, const kubeclient::ApiError& error) {
  std::string cannot = "cannot " + verb + " " + target.what + ": ";
  switch (error.status) {
    case 0:
      return makeError(cannot + "the apiserver did not answer (" + error.message + "); revoca tries again");
    case 401:
      return makeError(cannot + "the apiserver refused revoca's credentials (" + error.message +
                       "); check its ServiceAccount token or kubeconfig");
    case 403:
      // The apiserver's own text names the user and the verb it refused.
      return makeError("revoca's ServiceAccount may not " + verb + " " + target.resource + " in namespace " +
                       target.namespace_ + " (" + target.what + "): " + error.message + "; grant it " +
                       target.grant + " on " + target.resource +
                       " in its Role or ClusterRole (the helm chart's templates/rbac.yaml has them)");
    case 404:
      return makeError(cannot + "it or namespace " + target.namespace_ + " does not exist (" + error.message + ")");
    case 409:
      return makeError(cannot + "another writer keeps changing it (" + error.message + "); revoca tries again");
    case 422:
      return makeError(cannot + "the apiserver refused it as invalid (" + error.message + ")");
    default:
      return makeError(cannot + error.message);
  }
}

}  // namespace revoca::kubernetes
