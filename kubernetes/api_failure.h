#pragma once
// One message for a failed API request of revoca's, naming the object and
// what to do about it, for every part of the Kubernetes backend. The
// apiserver's messages name fields, never their values, so no key material
// gets here.
#include <string>

#include "core/result.h"
#include "kubeclient/api_client.h"

namespace revoca::kubernetes {

struct ApiTarget {
  std::string what;        // "Secret ns/name"
  std::string resource;    // its RBAC resource: "secrets", "deployments.apps"
  std::string namespace_;
  std::string grant;       // the verbs a 403 asks the Role for
};

Error apiFailure(const std::string& verb, const ApiTarget& target, const kubeclient::ApiError& error);

}  // namespace revoca::kubernetes
