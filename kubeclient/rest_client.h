#pragma once
// The ApiClient over HTTPS (cpprestsdk underneath; its types stay in
// rest_client.cc). TLS is always verified: a config with
// insecureSkipTlsVerify is refused, not honoured.
#include <chrono>
#include <memory>

#include "core/result.h"
#include "kubeclient/api_client.h"
#include "kubeclient/kubeconfig.h"

namespace revoca::kubeclient {

// Fails when the config cannot work: no https server, unreadable PEM, a
// client key that does not match its certificate, insecureSkipTlsVerify.
Result<std::unique_ptr<ApiClient>> makeRestClient(const ConnectionConfig& config);

// One TLS handshake with the apiserver, verified as every request is (the
// CA, and the server's name or address in its certificate), to say at start
// why nothing will work: an error naming the config and its CA when the
// certificate does not verify, which retrying cannot fix. An apiserver that
// cannot be reached (or no answer within `timeout`) is not an error here.
Result<void> checkApiserverCertificate(const ConnectionConfig& config,
                                       std::chrono::seconds timeout = std::chrono::seconds(10));

}  // namespace revoca::kubeclient
