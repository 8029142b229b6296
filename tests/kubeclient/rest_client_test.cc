// makeRestClient's refusals and a failure to connect, without a server
// (the rest runs against a real kube-apiserver: *_integration_test.cc).
#include "kubeclient/rest_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace revoca::kubeclient {
namespace {

using ::testing::HasSubstr;

TEST(RestClient, RefusesToSkipTlsVerification) {
  ConnectionConfig config;
  config.server = "https://127.0.0.1:6443";
  config.insecureSkipTlsVerify = true;
  config.origin = "kubeconfig /k, cluster \"c\"";
  auto client = makeRestClient(config);
  ASSERT_FALSE(client);
  EXPECT_THAT(client.error().message, HasSubstr("kubeconfig /k, cluster \"c\" sets insecure-skip-tls-verify"));
}

TEST(RestClient, RefusesPlainHttp) {
  ConnectionConfig config;
  config.server = "http://127.0.0.1:8080";
  auto client = makeRestClient(config);
  ASSERT_FALSE(client);
  EXPECT_THAT(client.error().message, HasSubstr("only talks to the apiserver over https://"));
}

TEST(RestClient, ExplainsThatItCannotReachAnIpv6Literal) {
  ConnectionConfig config;
  config.server = "https://[fd00:10:96::1]:443";
  auto client = makeRestClient(config);
  ASSERT_FALSE(client);
  EXPECT_THAT(client.error().message, HasSubstr("cannot connect to an IPv6 address literal"));
}

TEST(RestClient, RefusesMaterialThatIsNotPem) {
  ConnectionConfig config;
  config.server = "https://127.0.0.1:6443";
  config.caPem = "not a certificate";
  EXPECT_THAT(makeRestClient(config).error().message, HasSubstr("the certificate authority is not PEM"));
  config.caPem = "";
  config.clientCertPem = "not a certificate";
  config.clientKeyPem = "not a key";
  EXPECT_THAT(makeRestClient(config).error().message, HasSubstr("the client certificate is not a PEM"));
}

TEST(RestClient, AnUnreachableServerIsStatusZeroWithTheCause) {
  ConnectionConfig config;
  config.server = "https://127.0.0.1:1";  // nothing listens on port 1
  auto client = makeRestClient(config);
  ASSERT_TRUE(client) << client.error().message;
  auto got = (*client)->get({"", "v1", "configmaps", "ns", "x"});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error.status, 0);
  EXPECT_THAT(got.error.message, HasSubstr("GET https://127.0.0.1:1/api/v1/namespaces/ns/configmaps/x: "));
  ApiError watched = (*client)->watch({"", "v1", "configmaps", "ns", ""}, {}, [](const WatchEvent&) { return true; });
  EXPECT_EQ(watched.status, 0);
  EXPECT_FALSE(watched.ok());
}

// A partition that drops packets: the connection opens (the kernel accepts
// into the backlog) and nothing ever answers, not even the TLS handshake.
TEST(RestClient, AServerThatNeverAnswersFailsAfterTheRequestTimeout) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);

  ConnectionConfig config;
  config.server = "https://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  config.requestTimeout = std::chrono::seconds(1);
  auto client = makeRestClient(config);
  ASSERT_TRUE(client) << client.error().message;
  auto started = std::chrono::steady_clock::now();
  auto got = (*client)->get({"", "v1", "configmaps", "ns", "x"});
  EXPECT_EQ(got.error.status, 0);
  EXPECT_THAT(got.error.message, HasSubstr("no answer within 1 s"));
  ApiError watched = (*client)->watch({"", "v1", "configmaps", "ns", ""}, {}, [](const WatchEvent&) { return true; });
  EXPECT_EQ(watched.status, 0);
  EXPECT_THAT(watched.message, HasSubstr("no answer within 1 s"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  ::close(listener);
}

// Only a certificate that does not verify stops revoca at start (e2e:
// test_security_cluster.py); an apiserver not up yet is the informers' to retry.
TEST(ApiserverCertificateCheck, AnUnreachableServerIsNotAnError) {
  ConnectionConfig config;
  config.server = "https://127.0.0.1:1";
  EXPECT_TRUE(checkApiserverCertificate(config, std::chrono::seconds(5)));
}

}  // namespace
}  // namespace revoca::kubeclient
