#include "kubeclient/kubeconfig.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/kubeclient/scoped_env.h"
#include "testing/temp_dir.h"

namespace revoca::kubeclient {
namespace {

using ::testing::HasSubstr;
using testing::ScopedEnv;
using revoca::testing::TempDir;

// A kubeconfig with one context; `extra` lines go under the user.
std::string kubeconfig(const std::string& cluster, const std::string& user, const std::string& context) {
  return "apiVersion: v1\nkind: Config\n"
         "clusters:\n- name: c\n  cluster:\n" + cluster +
         "users:\n- name: u\n  user:\n" + user +
         "contexts:\n- name: ctx\n  context:\n" + context +
         "current-context: ctx\n";
}

TEST(Kubeconfig, ReadsTheDataFieldsOfTheCurrentContext) {
  TempDir dir;
  auto path = dir.write("config", kubeconfig("    server: https://10.1.2.3:6443/\n    certificate-authority-data: Q0EgUEVN\n",
                                             "    client-certificate-data: Q0VSVCBQRU0=\n    client-key-data: S0VZIFBFTQ==\n",
                                             "    cluster: c\n    user: u\n    namespace: tenant\n"));
  auto config = loadKubeconfig(path);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server, "https://10.1.2.3:6443");  // the trailing slash would double in paths
  EXPECT_EQ(config->caPem, "CA PEM");
  EXPECT_EQ(config->clientCertPem, "CERT PEM");
  EXPECT_EQ(config->clientKeyPem, "KEY PEM");
  EXPECT_EQ(config->namespace_, "tenant");
  EXPECT_FALSE(config->insecureSkipTlsVerify);
  // Messages about the apiserver's certificate name where it was configured.
  EXPECT_EQ(config->origin, "kubeconfig " + path + ", cluster \"c\"");
  EXPECT_EQ(config->trustOrigin, "its certificate-authority-data");
}

TEST(Kubeconfig, ReadsFilesRelativeToTheKubeconfigsDirectory) {
  TempDir dir;
  dir.write("pki/ca.crt", "CA FILE");
  dir.write("pki/admin.crt", "CERT FILE");
  dir.write("pki/admin.key", "KEY FILE");
  auto path = dir.write("sub/config", kubeconfig("    server: https://h:6443\n    certificate-authority: ../pki/ca.crt\n",
                                                 "    client-certificate: ../pki/admin.crt\n    client-key: " +
                                                     dir.path() + "/pki/admin.key\n",
                                                 "    cluster: c\n    user: u\n"));
  auto config = loadKubeconfig(path);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->caPem, "CA FILE");
  EXPECT_EQ(config->clientCertPem, "CERT FILE");
  EXPECT_EQ(config->clientKeyPem, "KEY FILE");
  EXPECT_EQ(config->namespace_, "default");
  EXPECT_EQ(config->trustOrigin, "its certificate-authority " + dir.path() + "/sub/../pki/ca.crt");
}

TEST(Kubeconfig, KeepsATokenFileToRereadIt) {
  TempDir dir;
  dir.write("token", "  secret-token\n");
  auto path = dir.write("config", kubeconfig("    server: https://h\n", "    tokenFile: token\n",
                                             "    cluster: c\n    user: u\n"));
  auto config = loadKubeconfig(path);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->bearerTokenFile, dir.path() + "/token");
  EXPECT_EQ(config->bearerToken, "secret-token");
  EXPECT_EQ(config->trustOrigin, "the system's trusted roots (it sets no certificate-authority)");
}

TEST(Kubeconfig, ReadsTokenAndInsecureFlag) {
  TempDir dir;
  auto path = dir.write("config", kubeconfig("    server: https://h\n    insecure-skip-tls-verify: true\n",
                                             "    token: abc\n", "    cluster: c\n    user: u\n"));
  auto config = loadKubeconfig(path);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->bearerToken, "abc");
  EXPECT_TRUE(config->insecureSkipTlsVerify);  // makeRestClient refuses it
}

TEST(Kubeconfig, AChosenContextWinsOverCurrentContext) {
  TempDir dir;
  auto path = dir.write("config",
                        "clusters:\n"
                        "- {name: a, cluster: {server: 'https://a'}}\n"
                        "- {name: b, cluster: {server: 'https://b'}}\n"
                        "contexts:\n"
                        "- {name: one, context: {cluster: a}}\n"
                        "- {name: two, context: {cluster: b, namespace: ns2}}\n"
                        "current-context: one\n");
  auto current = loadKubeconfig(path);
  ASSERT_TRUE(current) << current.error().message;
  EXPECT_EQ(current->server, "https://a");
  auto chosen = loadKubeconfig(path, "two");
  ASSERT_TRUE(chosen) << chosen.error().message;
  EXPECT_EQ(chosen->server, "https://b");
  EXPECT_EQ(chosen->namespace_, "ns2");
}

TEST(Kubeconfig, MergesTheKubeconfigListFirstFileWins) {
  TempDir dir;
  // first: current-context and the user; second: a cluster of the same name
  // as the first's (ignored), the context, and a current-context (ignored).
  auto first = dir.write("first",
                         "clusters:\n- {name: c, cluster: {server: 'https://first'}}\n"
                         "users:\n- {name: u, user: {token: first-token}}\n"
                         "current-context: shared\n");
  auto second = dir.write("second",
                          "clusters:\n- {name: c, cluster: {server: 'https://second'}}\n"
                          "users:\n- {name: u, user: {token: second-token}}\n"
                          "contexts:\n- {name: shared, context: {cluster: c, user: u, namespace: from-second}}\n"
                          "- {name: other, context: {cluster: c}}\n"
                          "current-context: other\n");
  ScopedEnv list("KUBECONFIG", first + ":" + dir.path() + "/missing:" + second);
  auto config = loadKubeconfig("");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server, "https://first");
  EXPECT_EQ(config->bearerToken, "first-token");
  EXPECT_EQ(config->namespace_, "from-second");
}

TEST(Kubeconfig, AnExplicitPathWinsOverTheList) {
  TempDir dir;
  auto listed = dir.write("listed", kubeconfig("    server: https://listed\n", "", "    cluster: c\n"));
  auto explicitPath = dir.write("explicit", kubeconfig("    server: https://explicit\n", "", "    cluster: c\n"));
  ScopedEnv list("KUBECONFIG", listed);
  auto config = loadKubeconfig(explicitPath);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server, "https://explicit");
}

TEST(Kubeconfig, FallsBackToTheHomeKubeconfig) {
  TempDir dir;
  dir.write(".kube/config", kubeconfig("    server: https://home\n", "", "    cluster: c\n"));
  ScopedEnv list("KUBECONFIG", std::nullopt);
  ScopedEnv home("HOME", dir.path());
  auto config = loadKubeconfig("");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server, "https://home");
}

// The error for `text` as the only kubeconfig.
std::string errorFor(const TempDir& dir, const std::string& text, const std::string& context = "") {
  auto path = dir.write("config", text);
  auto config = loadKubeconfig(path, context);
  return config ? "(no error)" : config.error().message;
}

TEST(Kubeconfig, NamesTheFileAndTheMissingEntry) {
  TempDir dir;
  const std::string file = dir.path() + "/config";
  EXPECT_EQ(errorFor(dir, kubeconfig("    server: https://h\n", "", "    cluster: c\n    user: bar\n")),
            "kubeconfig " + file + ": context \"ctx\" names user \"bar\" which is not defined");
  EXPECT_EQ(errorFor(dir, kubeconfig("    server: https://h\n", "", "    cluster: nope\n")),
            "kubeconfig " + file + ": context \"ctx\" names cluster \"nope\" which is not defined");
  EXPECT_EQ(errorFor(dir, kubeconfig("    server: https://h\n", "", "    cluster: c\n"), "foo"),
            "kubeconfig " + file + ": context \"foo\" is not defined");
  EXPECT_EQ(errorFor(dir, "clusters: []\ncurrent-context: gone\n"),
            "kubeconfig " + file + ": current-context names context \"gone\" which is not defined");
  EXPECT_EQ(errorFor(dir, "clusters: []\n"), "kubeconfig " + file + ": no current-context is set; choose a context");
  EXPECT_EQ(errorFor(dir, kubeconfig("    insecure-skip-tls-verify: false\n", "", "    cluster: c\n")),
            "kubeconfig " + file + ": cluster \"c\" has no server");
}

TEST(Kubeconfig, ExplainsBadCredentials) {
  TempDir dir;
  const std::string ctx = "    cluster: c\n    user: u\n";
  const std::string server = "    server: https://h\n";
  EXPECT_THAT(errorFor(dir, kubeconfig(server + "    certificate-authority: missing.crt\n", "", ctx)),
              HasSubstr("cluster \"c\" certificate-authority: cannot read " + dir.path() + "/missing.crt: No such file"));
  EXPECT_THAT(errorFor(dir, kubeconfig(server + "    certificate-authority: a\n    certificate-authority-data: Q0EgUEVN\n",
                                       "", ctx)),
              HasSubstr("sets both certificate-authority and certificate-authority-data"));
  EXPECT_THAT(errorFor(dir, kubeconfig(server, "    client-key-data: '***'\n", ctx)),
              HasSubstr("user \"u\" has a client-key-data that is not valid base64"));
  EXPECT_THAT(errorFor(dir, kubeconfig(server, "    client-certificate-data: Q0VSVCBQRU0=\n", ctx)),
              HasSubstr("user \"u\" has a client-certificate but no client-key"));
  EXPECT_THAT(errorFor(dir, kubeconfig(server, "    exec: {command: aws}\n", ctx)),
              HasSubstr("user \"u\" uses an exec credential plugin"));
  EXPECT_THAT(errorFor(dir, kubeconfig(server, "    tokenFile: /nonexistent/token\n", ctx)),
              HasSubstr("user \"u\" tokenFile: cannot read /nonexistent/token"));
}

TEST(Kubeconfig, ExplainsUnreadableFiles) {
  TempDir dir;
  auto missing = loadKubeconfig(dir.path() + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("cannot read " + dir.path() + "/nope: No such file"));
  EXPECT_THAT(errorFor(dir, "clusters: [\n"), HasSubstr("kubeconfig " + dir.path() + "/config: not valid YAML"));
  EXPECT_THAT(errorFor(dir, "clusters: {a: b}\n"), HasSubstr("clusters must be a list"));
  EXPECT_THAT(errorFor(dir, "clusters:\n- cluster: {server: x}\n"), HasSubstr("an entry of clusters has no name"));

  ScopedEnv list("KUBECONFIG", dir.path() + "/a:" + dir.path() + "/b");
  auto none = loadKubeconfig("");
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error().message, HasSubstr("none of the files in KUBECONFIG"));
}

}  // namespace
}  // namespace revoca::kubeclient
