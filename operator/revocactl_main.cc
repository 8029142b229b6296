// revocactl: issues and revokes certificates, fetches a CA's certificate and
// CRL, and shows status (docs/overview.md, "revocactl"), against a standalone
// instance through its admin socket (STATE/admin.sock), or against a cluster
// through its apiserver (--kubeconfig).
#include <cstdlib>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "kubeclient/kubeconfig.h"
#include "kubeclient/rest_client.h"
#include "kubernetes/cluster_commands.h"
#include "operator/flags.h"
#include "operator/status_screen.h"
#include "standalone/admin_server.h"

namespace {

constexpr const char* kUsage = R"(usage: revocactl --state DIR [--namespace NS] VERB [flags]
       revocactl --kubeconfig FILE [--context NAME] [--namespace NS] VERB [flags]

verbs:
  get-tenant-uuid
  issue-cert  --ca C --host H [--ttl 1d] [--cert-type client|server]
  revoke-cert --ca C [--reason keyCompromise] SERIAL
  get-crl     --ca C [--version N]
  get-ca-cert --ca C
  status      [KIND/NAME [--output text|json]]   e.g. status vaultsecret/server-cert

--state defaults to $REVOCA_STATE. Without --state or $REVOCA_STATE, revocactl
talks to the cluster of --kubeconfig, $KUBECONFIG or ~/.kube/config.
--namespace defaults to the kubeconfig context's namespace, else "default".
Output is JSON on stdout (status KIND/NAME: one screen of text unless
--output json); errors are one line on stderr and a non-zero exit.
)";

int fail(const std::string& message) {
  std::cerr << "revocactl: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  revoca::Flags flags(argc - 1, argv + 1);
  if (flags.has("--help") || argc < 2) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const char* environmentState = std::getenv("REVOCA_STATE");
  std::string kubeconfig = flags.take("--kubeconfig");
  std::string context = flags.take("--context");
  bool cluster = !kubeconfig.empty() || !context.empty();
  std::string state = flags.take("--state", environmentState && !cluster ? environmentState : "");
  bool namespaceGiven = flags.has("--namespace");
  nlohmann::json request = {{"namespace", flags.take("--namespace", "default")}};
  auto& positional = flags.positional();
  if (positional.empty()) return fail("name a verb: get-tenant-uuid, issue-cert, revoke-cert, get-crl, get-ca-cert or status");
  std::string verb = positional.front();
  request["verb"] = verb;
  if (flags.has("--ca")) request["ca"] = flags.take("--ca");
  if (verb == "issue-cert") {
    request["host"] = flags.take("--host");
    request["ttl"] = flags.take("--ttl", "1d");
    request["certType"] = flags.take("--cert-type", "client");
  } else if (verb == "revoke-cert") {
    request["reason"] = flags.take("--reason", "unspecified");
    if (positional.size() != 2) return fail("revoke-cert takes one SERIAL (hex), e.g. revocactl revoke-cert --ca mqtt-ca 4F0A...");
    request["serial"] = positional[1];
  } else if (verb == "status" && positional.size() > 2) {
    return fail("status takes at most one KIND/NAME, e.g. revocactl status vaultsecret/server-cert");
  } else if (verb == "status" && positional.size() == 2) {
    std::string error;
    auto object = revoca::parseObjectName(positional[1], error);
    if (!object) return fail(error);
    request["kind"] = revoca::kindName(object->kind);
    request["name"] = object->name;
  } else if (verb == "get-crl" && flags.has("--version")) {
    try {
      request["version"] = std::stoi(flags.take("--version"));
    } catch (...) {
      return fail("--version must be a number, e.g. --version 2");
    }
  }
  std::string output = flags.take("--output", "text");
  if (!flags.finish(kUsage)) return 2;
  if (output != "text" && output != "json") return fail("--output takes text or json");
  if (!state.empty() && cluster) return fail("give --state (standalone) or --kubeconfig (cluster), not both");

  nlohmann::json result;
  if (!state.empty()) {
    auto answer = revoca::callAdminSocket(state + "/admin.sock", request);
    if (!answer) return fail(answer.error().message);
    result = *answer;
  } else {
    auto config = revoca::kubeclient::loadKubeconfig(kubeconfig, context);
    if (!config)
      return fail(config.error().message +
                  " (give --state DIR for a standalone instance, or --kubeconfig FILE for a cluster)");
    // Like kubectl: without --namespace, the context's namespace.
    if (!namespaceGiven && !config->namespace_.empty()) request["namespace"] = config->namespace_;
    auto client = revoca::kubeclient::makeRestClient(*config);
    if (!client) return fail(client.error().message);
    revoca::SystemClock clock;
    result = revoca::kubernetes::runClusterCommand(**client, clock, request);
  }
  const nlohmann::json* answer = &result;
  if (!answer->value("ok", false)) return fail(answer->value("error", std::string("revoca refused the request")));
  if (request.contains("kind")) {
    nlohmann::json entry = (*answer)["result"];
    revoca::addOcspCheck(entry);
    std::cout << (output == "json" ? entry.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n" : revoca::renderStatusScreen(entry));
    return 0;
  }
  std::cout << (*answer)["result"].dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}
