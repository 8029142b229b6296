#include "reconcilers/emqx_env.h"

#include <algorithm>
#include <cctype>

#include "core/duration.h"

namespace revoca {
namespace {

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
    return c == '-' ? '_' : static_cast<char>(std::toupper(c));
  });
  return text;
}

Error refuse(const std::string& field, const std::string& message) {
  return makeError(field + ": " + message);
}

}  // namespace

std::string hoconValue(const std::string& value) {
  auto control = [](unsigned char c) { return c < 0x20 || c == 0x7F; };
  bool needsQuotes = value.empty() || value.find_first_of(":/\"\\ #,{}[]=$") != std::string::npos ||
                     std::any_of(value.begin(), value.end(), control);
  if (!needsQuotes) return value;
  // Declarations never hold a control character; should one get here, it is
  // escaped, so a value can never end its line of the env file.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string quoted = "\"";
  for (char c : value) {
    if (control(static_cast<unsigned char>(c))) {
      quoted += {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xF], kHex[c & 0xF]};
      continue;
    }
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

Result<std::vector<EnvVar>> renderEmqxEnv(const EmqxRenderInput& input) {
  const EmqxDeploymentSpec& spec = *input.spec;
  bool verifyPeer = spec.verify == "verify_peer";
  if (spec.crl.enabled && !verifyPeer)
    return refuse("spec.crl.enabled", "EMQX checks CRLs only with verify: verify_peer; set spec.verify to verify_peer or disable spec.crl");
  if (spec.failIfNoPeerCert && !verifyPeer)
    return refuse("spec.failIfNoPeerCert", "EMQX accepts fail_if_no_peer_cert only with verify: verify_peer; set spec.verify to verify_peer or set failIfNoPeerCert to false");
  std::string responderUrl = spec.ocspStapling.responderUrl.value_or(input.caOcspUrl);
  if (spec.ocspStapling.enabled && responderUrl.empty())
    return refuse("spec.ocspStapling.responderUrl", "stapling needs an OCSP responder URL; set it, or give the issuing CA spec.ocspResponderUrls");
  // EMQX builds its GET URL as responder_url ++ base64(request).
  if (!responderUrl.empty() && responderUrl.back() != '/') responderUrl += '/';

  std::string prefix = "EMQX_LISTENERS__SSL__" + upper(spec.listenerName) + "__";
  std::string ssl = prefix + "SSL_OPTIONS__";
  std::string dir = spec.certDir;
  if (!dir.empty() && dir.back() == '/') dir.pop_back();
  std::vector<EnvVar> env = {
      {prefix + "BIND", hoconValue(spec.bind)},
      {ssl + "CERTFILE", hoconValue(dir + "/cert.pem")},
      {ssl + "KEYFILE", hoconValue(dir + "/cert.key")},
      {ssl + "CACERTFILE", hoconValue(dir + "/ca-cert.pem")},
      {ssl + "VERIFY", spec.verify},
      {ssl + "FAIL_IF_NO_PEER_CERT", spec.failIfNoPeerCert ? "true" : "false"},
  };
  if (spec.crl.enabled) {
    env.push_back({ssl + "ENABLE_CRL_CHECK", "true"});
    // crl_cache is a top-level EMQX setting, not a listener one.
    env.push_back({"EMQX_CRL_CACHE__REFRESH_INTERVAL", formatDuration(spec.crl.refreshInterval)});
    env.push_back({"EMQX_CRL_CACHE__HTTP_TIMEOUT", formatDuration(spec.crl.httpTimeout)});
  }
  if (spec.ocspStapling.enabled) {
    env.push_back({ssl + "OCSP__ENABLE_OCSP_STAPLING", "true"});
    env.push_back({ssl + "OCSP__ISSUER_PEM", hoconValue(dir + "/ca-cert.pem")});
    env.push_back({ssl + "OCSP__RESPONDER_URL", hoconValue(responderUrl)});
    env.push_back({ssl + "OCSP__REFRESH_INTERVAL", formatDuration(spec.ocspStapling.refreshInterval)});
    env.push_back({ssl + "OCSP__REFRESH_HTTP_TIMEOUT", formatDuration(spec.ocspStapling.refreshHttpTimeout)});
  }
  return env;
}

std::string formatEnvFile(const std::vector<EnvVar>& env) {
  std::string text =
      "# EMQX environment rendered by revoca. Values are HOCON, taken verbatim:\n"
      "# use with `docker run --env-file` (a shell would strip the quotes).\n";
  for (const auto& var : env) text += var.name + "=" + var.value + "\n";
  return text;
}

}  // namespace revoca
