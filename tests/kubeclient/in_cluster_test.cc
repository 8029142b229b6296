#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "kubeclient/kubeconfig.h"
#include "tests/kubeclient/scoped_env.h"
#include "testing/temp_dir.h"

namespace revoca::kubeclient {
namespace {

using ::testing::HasSubstr;
using testing::ScopedEnv;
using revoca::testing::TempDir;

class InClusterConfig : public ::testing::Test {
 protected:
  InClusterConfig() {
    dir_.write("token", "projected-token\n");
    dir_.write("ca.crt", "CLUSTER CA");
    dir_.write("namespace", "revoca-system");
  }
  TempDir dir_;
  ScopedEnv podNamespace_{"POD_NAMESPACE", std::nullopt};
};

TEST_F(InClusterConfig, ReadsTheServiceAccount) {
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto config = loadInClusterConfig(dir_.path());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->bearerToken, "projected-token");
  EXPECT_EQ(config->bearerTokenFile, dir_.path() + "/token");  // re-read as the kubelet rotates it
  EXPECT_EQ(config->caPem, "CLUSTER CA");
  EXPECT_EQ(config->namespace_, "revoca-system");
  EXPECT_EQ(config->trustOrigin, "the service account's CA " + dir_.path() + "/ca.crt");
}

TEST_F(InClusterConfig, BracketsAnIpv6Host) {
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00:10:96::1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");
  auto config = loadInClusterConfig(dir_.path());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server, "https://[fd00:10:96::1]:6443");
}

TEST_F(InClusterConfig, PodNamespaceWinsAndDefaultIsTheFallback) {
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  {
    ScopedEnv ns("POD_NAMESPACE", "from-downward-api");
    EXPECT_EQ(loadInClusterConfig(dir_.path())->namespace_, "from-downward-api");
  }
  std::filesystem::remove(dir_.path() + "/namespace");
  EXPECT_EQ(loadInClusterConfig(dir_.path())->namespace_, "default");
}

TEST_F(InClusterConfig, ExplainsWhatIsMissing) {
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", std::nullopt);
    ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
    auto config = loadInClusterConfig(dir_.path());
    ASSERT_FALSE(config);
    EXPECT_THAT(config.error().message, HasSubstr("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"));
  }
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  std::filesystem::remove(dir_.path() + "/ca.crt");
  EXPECT_THAT(loadInClusterConfig(dir_.path()).error().message,
              HasSubstr("cluster CA: cannot read " + dir_.path() + "/ca.crt"));
  std::filesystem::remove(dir_.path() + "/token");
  EXPECT_THAT(loadInClusterConfig(dir_.path()).error().message,
              HasSubstr("service account token: cannot read " + dir_.path() + "/token"));
}

}  // namespace
}  // namespace revoca::kubeclient
