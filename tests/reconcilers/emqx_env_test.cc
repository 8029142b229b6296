#include "reconcilers/emqx_env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>

namespace revoca {
namespace {

using ::testing::HasSubstr;

// The env block that configures EMQX 5 by hand for this listener (the
// configuration revoca renders in its place, docs/emqx.md step 4), verbatim.
constexpr const char* kHandWrittenEnv = R"(
EMQX_LISTENERS__SSL__DEFAULT__BIND: "0.0.0.0:8883"
EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__CERTFILE: "/etc/emqx-certs/cert.pem"
EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__KEYFILE: "/etc/emqx-certs/cert.key"
EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__CACERTFILE: "/etc/emqx-certs/ca-cert.pem"
EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__VERIFY: "verify_peer"
EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__FAIL_IF_NO_PEER_CERT: "true"
EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__ENABLE_CRL_CHECK: "true"
EMQX_CRL_CACHE__REFRESH_INTERVAL: "5m"
EMQX_CRL_CACHE__HTTP_TIMEOUT: "15s"
EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__ENABLE_OCSP_STAPLING: "true"
EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__ISSUER_PEM: "/etc/emqx-certs/ca-cert.pem"
EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__RESPONDER_URL: "http://api.internal:4664/ocsp/<tenant-uuid>/mqtt-ca"
EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__REFRESH_INTERVAL: "5m"
EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__REFRESH_HTTP_TIMEOUT: "15s"
)";

const std::string kUuid = "5a3e0c1d-7f2b-4c9e-8d41-0b6a2f1cab12";
const std::string kCaOcspUrl = "http://api.internal:4664/ocsp/" + kUuid + "/mqtt-ca";

// The hand-written values as the env must carry them: the YAML quotes are YAML's;
// EMQX parses the value itself as HOCON, so ':' or '/' need HOCON quotes, and
// EMQX appends base64(request) to the responder URL, so it ends with '/'.
std::map<std::string, std::string> handWrittenEnv() {
  std::map<std::string, std::string> env;
  std::istringstream in(kHandWrittenEnv);
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(": \"");
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 3, line.size() - colon - 4);
    if (name.ends_with("RESPONDER_URL")) {
      value.replace(value.find("<tenant-uuid>"), 13, kUuid);
      value += "/";
    }
    if (value.find_first_of(":/") != std::string::npos) value = "\"" + value + "\"";
    env[name] = value;
  }
  return env;
}

EmqxDeploymentSpec handWrittenSpec() {
  EmqxDeploymentSpec spec;  // defaults are the hand-written listener, bind and mount path
  spec.vault = "mqtt-vault";
  spec.secret = "server-cert";
  spec.crl.enabled = true;
  spec.crl.refreshInterval = Seconds(300);
  spec.crl.httpTimeout = Seconds(15);
  spec.ocspStapling.enabled = true;
  spec.ocspStapling.refreshInterval = Seconds(300);
  spec.ocspStapling.refreshHttpTimeout = Seconds(15);
  return spec;
}

std::map<std::string, std::string> asMap(const std::vector<EnvVar>& env) {
  std::map<std::string, std::string> map;
  for (const auto& var : env) {
    EXPECT_TRUE(map.emplace(var.name, var.value).second) << "duplicate " << var.name;
  }
  return map;
}

std::vector<EnvVar> render(const EmqxDeploymentSpec& spec, const std::string& caOcspUrl = kCaOcspUrl) {
  auto env = renderEmqxEnv(EmqxRenderInput{&spec, caOcspUrl});
  EXPECT_TRUE(env.ok()) << (env.ok() ? "" : env.error().message);
  return env.ok() ? *env : std::vector<EnvVar>{};
}

TEST(EmqxEnv, HandWrittenEnvironmentNamesAndValues) {
  auto expected = handWrittenEnv();
  ASSERT_EQ(expected.size(), 14u);
  EXPECT_EQ(asMap(render(handWrittenSpec())), expected);
}

TEST(EmqxEnv, QuotesWhatHoconWouldMisreadAndLeavesWordsBare) {
  auto env = asMap(render(handWrittenSpec()));
  EXPECT_EQ(env["EMQX_LISTENERS__SSL__DEFAULT__BIND"], "\"0.0.0.0:8883\"");
  EXPECT_EQ(env["EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__CERTFILE"], "\"/etc/emqx-certs/cert.pem\"");
  EXPECT_EQ(env["EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__RESPONDER_URL"],
            "\"http://api.internal:4664/ocsp/" + kUuid + "/mqtt-ca/\"");
  EXPECT_EQ(env["EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__VERIFY"], "verify_peer");
  EXPECT_EQ(env["EMQX_CRL_CACHE__REFRESH_INTERVAL"], "5m");
}

TEST(EmqxEnv, CrlCacheIsTopLevelNotPerListener) {
  for (const auto& var : render(handWrittenSpec())) {
    if (var.name.find("CRL_CACHE") == std::string::npos) continue;
    EXPECT_EQ(var.name.rfind("EMQX_CRL_CACHE__", 0), 0u) << var.name;
  }
}

TEST(EmqxEnv, ListenerNameIsUpperCasedInEveryListenerVariable) {
  EmqxDeploymentSpec spec = handWrittenSpec();
  spec.listenerName = "mqtts_2";
  auto env = render(spec);
  ASSERT_FALSE(env.empty());
  for (const auto& var : env) {
    if (var.name.rfind("EMQX_CRL_CACHE__", 0) == 0) continue;
    EXPECT_EQ(var.name.rfind("EMQX_LISTENERS__SSL__MQTTS_2__", 0), 0u) << var.name;
  }
}

TEST(EmqxEnv, ExplicitResponderUrlWinsAndGetsOneTrailingSlash) {
  EmqxDeploymentSpec spec = handWrittenSpec();
  spec.ocspStapling.responderUrl = "http://ocsp.example:8080/ocsp/t/ca";
  EXPECT_EQ(asMap(render(spec))["EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__RESPONDER_URL"],
            "\"http://ocsp.example:8080/ocsp/t/ca/\"");
  spec.ocspStapling.responderUrl = "http://ocsp.example:8080/ocsp/t/ca/";
  EXPECT_EQ(asMap(render(spec, ""))["EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__RESPONDER_URL"],
            "\"http://ocsp.example:8080/ocsp/t/ca/\"");
}

TEST(EmqxEnv, LeavesOutTheBlocksThatAreDisabled) {
  EmqxDeploymentSpec spec = handWrittenSpec();
  spec.crl.enabled = false;
  auto onlyOcsp = asMap(render(spec));
  EXPECT_EQ(onlyOcsp.count("EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__ENABLE_CRL_CHECK"), 0u);
  EXPECT_EQ(onlyOcsp.count("EMQX_CRL_CACHE__REFRESH_INTERVAL"), 0u);
  EXPECT_EQ(onlyOcsp.count("EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__ENABLE_OCSP_STAPLING"), 1u);

  spec = handWrittenSpec();
  spec.ocspStapling.enabled = false;
  auto onlyCrl = asMap(render(spec, ""));  // no OCSP URL needed without stapling
  EXPECT_EQ(onlyCrl.size(), 9u);
  for (const auto& [name, value] : onlyCrl) EXPECT_EQ(name.find("OCSP"), std::string::npos) << name;
}

TEST(EmqxEnv, FormatsOtherDurationsAndMountDirectory) {
  EmqxDeploymentSpec spec = handWrittenSpec();
  spec.crl.refreshInterval = Seconds(5);
  spec.crl.httpTimeout = Seconds(90);
  spec.ocspStapling.refreshInterval = Seconds(3600);
  spec.certDir = "/certs/";
  auto env = asMap(render(spec));
  EXPECT_EQ(env["EMQX_CRL_CACHE__REFRESH_INTERVAL"], "5s");
  EXPECT_EQ(env["EMQX_CRL_CACHE__HTTP_TIMEOUT"], "1m30s");
  EXPECT_EQ(env["EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__REFRESH_INTERVAL"], "1h");
  EXPECT_EQ(env["EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__KEYFILE"], "\"/certs/cert.key\"");
}

TEST(EmqxEnv, VerifyNoneIsFineWithoutCrlAndPeerCertRequirement) {
  EmqxDeploymentSpec spec = handWrittenSpec();
  spec.verify = "verify_none";
  spec.crl.enabled = false;
  spec.failIfNoPeerCert = false;
  auto env = asMap(render(spec));
  EXPECT_EQ(env["EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__VERIFY"], "verify_none");
  EXPECT_EQ(env["EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__FAIL_IF_NO_PEER_CERT"], "false");
}

std::string refusal(const EmqxDeploymentSpec& spec, const std::string& caOcspUrl = kCaOcspUrl) {
  auto env = renderEmqxEnv(EmqxRenderInput{&spec, caOcspUrl});
  EXPECT_FALSE(env.ok());
  return env.ok() ? "" : env.error().message;
}

TEST(EmqxEnvRefusal, CrlCheckWithoutVerifyPeer) {
  EmqxDeploymentSpec spec = handWrittenSpec();
  spec.verify = "verify_none";
  spec.failIfNoPeerCert = false;
  std::string message = refusal(spec);
  EXPECT_EQ(message.rfind("spec.crl.enabled: ", 0), 0u) << message;
  EXPECT_THAT(message, HasSubstr("verify_peer"));
}

TEST(EmqxEnvRefusal, FailIfNoPeerCertWithoutVerifyPeer) {
  EmqxDeploymentSpec spec = handWrittenSpec();
  spec.verify = "verify_none";
  spec.crl.enabled = false;
  std::string message = refusal(spec);
  EXPECT_EQ(message.rfind("spec.failIfNoPeerCert: ", 0), 0u) << message;
  EXPECT_THAT(message, HasSubstr("verify_peer"));
}

TEST(EmqxEnvRefusal, StaplingWithoutAnyResponderUrl) {
  EmqxDeploymentSpec spec = handWrittenSpec();
  std::string message = refusal(spec, "");
  EXPECT_EQ(message.rfind("spec.ocspStapling.responderUrl: ", 0), 0u) << message;
  EXPECT_THAT(message, HasSubstr("ocspResponderUrls"));
  spec.ocspStapling.responderUrl = "";
  EXPECT_THAT(refusal(spec, ""), HasSubstr("spec.ocspStapling.responderUrl"));
}

TEST(HoconValue, QuotesAndEscapes) {
  EXPECT_EQ(hoconValue("verify_peer"), "verify_peer");
  EXPECT_EQ(hoconValue("5m"), "5m");
  EXPECT_EQ(hoconValue("a:b"), "\"a:b\"");
  EXPECT_EQ(hoconValue("/etc/x"), "\"/etc/x\"");
  EXPECT_EQ(hoconValue(""), "\"\"");
  EXPECT_EQ(hoconValue("say \"hi\"\\"), "\"say \\\"hi\\\"\\\\\"");
  EXPECT_EQ(hoconValue("a#b"), "\"a#b\"");
}

TEST(EnvFile, OneNameValueLineEachAfterAComment) {
  std::string text = formatEnvFile({{"A", "1"}, {"B", "\"x:y\""}});
  EXPECT_THAT(text, HasSubstr("\nA=1\nB=\"x:y\"\n"));
  EXPECT_EQ(text.front(), '#');
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace revoca
