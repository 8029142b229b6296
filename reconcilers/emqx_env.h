#pragma once
// The EMQX 5 environment for one TLS listener with CRL checks and OCSP
// stapling (docs/emqx.md, step 4). EMQX maps EMQX_A__B__C to the HOCON path
// a.b.c and parses each value as HOCON, so strings holding ':' or '/' are
// quoted ("//" would otherwise start a HOCON comment).
#include <string>
#include <vector>

#include "core/result.h"
#include "declarations/types.h"
#include "ports/outputs.h"

namespace revoca {

struct EmqxRenderInput {
  const EmqxDeploymentSpec* spec = nullptr;
  std::string caOcspUrl;  // the CA's rendered OCSP URL, "" when it has none
};

// Refuses, with the field and the fix, what EMQX itself would refuse:
// CRL checks or fail_if_no_peer_cert without verify_peer, stapling without a
// responder URL. The issuer PEM and certificate file always come from the
// mounted secret, so they are never missing.
Result<std::vector<EnvVar>> renderEmqxEnv(const EmqxRenderInput& input);

// HOCON quoting for a value: "a:b" -> "\"a:b\"", plain words stay bare.
std::string hoconValue(const std::string& value);

// The emqx.env text: a `docker run --env-file` file (values taken verbatim).
std::string formatEnvFile(const std::vector<EnvVar>& env);

}  // namespace revoca
