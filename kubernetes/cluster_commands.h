#pragma once
// revocactl against a cluster (--kubeconfig): the same verbs as against a
// standalone instance, run in revocactl's own process with the API as the
// only channel. It reads the CA's state Secrets, never takes a CRL number
// and never rotates a CA (the leader does); issue-cert appends the new
// serial to the CA's ledger, which the leader reads back within seconds;
// revoke-cert creates a CertificateRevocation and waits for revoca to
// confirm it, so the revocation is declared, visible and kept in Git-style
// history like any other object.
#include <chrono>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "kubeclient/api_client.h"

namespace revoca::kubernetes {

struct ClusterCommandOptions {
  std::chrono::seconds confirmTimeout{15};  // revoke-cert: how long to wait for Ready
};

// {"verb": ..., "namespace": ..., "ca": ..., ...} as revocactl builds it;
// answers {"ok": true, "result": ...} or {"ok": false, "error": "..."}.
nlohmann::json runClusterCommand(kubeclient::ApiClient& api, const Clock& clock, const nlohmann::json& request,
                                 const ClusterCommandOptions& options = {});

}  // namespace revoca::kubernetes
