// revocactl: the seed's `supctl strongbox` verbs against a standalone
// instance, through its admin socket (STATE/admin.sock).
#include <cstdlib>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "operator/flags.h"
#include "standalone/admin_server.h"

namespace {

constexpr const char* kUsage = R"(usage: revocactl --state DIR [--namespace NS] VERB [flags]

verbs:
  get-tenant-uuid
  issue-cert  --ca C --host H [--ttl 1d] [--cert-type client|server]
  revoke-cert --ca C [--reason keyCompromise] SERIAL
  get-crl     --ca C [--version N]
  get-ca-cert --ca C
  status

--state defaults to $REVOCA_STATE; --namespace defaults to "default".
Output is JSON on stdout; errors are one line on stderr and a non-zero exit.
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
  std::string state = flags.take("--state", environmentState ? environmentState : "");
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
  } else if (verb == "get-crl" && flags.has("--version")) {
    try {
      request["version"] = std::stoi(flags.take("--version"));
    } catch (...) {
      return fail("--version must be a number, e.g. --version 2");
    }
  }
  if (!flags.finish(kUsage)) return 2;
  if (state.empty()) return fail("--state DIR is required (or set REVOCA_STATE): the state directory of revoca standalone");

  auto answer = revoca::callAdminSocket(state + "/admin.sock", request);
  if (!answer) return fail(answer.error().message);
  if (!answer->value("ok", false)) return fail(answer->value("error", std::string("revoca refused the request")));
  std::cout << (*answer)["result"].dump(2) << "\n";
  return 0;
}
