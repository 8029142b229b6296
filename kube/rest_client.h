#pragma once
// The ApiClient over HTTPS (cpprestsdk underneath; its types stay in
// rest_client.cc). TLS is always verified: a config with
// insecureSkipTlsVerify is refused, not honoured.
#include <memory>

#include "core/result.h"
#include "kube/api_client.h"
#include "kube/kubeconfig.h"

namespace revoca::kube {

// Fails when the config cannot work: no https server, unreadable PEM, a
// client key that does not match its certificate, insecureSkipTlsVerify.
Result<std::unique_ptr<ApiClient>> makeRestClient(const ConnectionConfig& config);

}  // namespace revoca::kube
