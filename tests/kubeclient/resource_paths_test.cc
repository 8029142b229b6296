#include "kubeclient/resource_paths.h"

#include <gtest/gtest.h>

#include "kubeclient/api_client.h"

namespace revoca::kubeclient {
namespace {

TEST(ResourcePaths, CoreGroupLivesUnderApi) {
  EXPECT_EQ((ResourceRef{"", "v1", "secrets", "ns", "tls"}).path(), "/api/v1/namespaces/ns/secrets/tls");
  EXPECT_EQ((ResourceRef{"", "v1", "secrets", "ns", ""}).path(), "/api/v1/namespaces/ns/secrets");
  EXPECT_EQ((ResourceRef{"", "v1", "secrets", "", ""}).path(), "/api/v1/secrets");  // all namespaces
  EXPECT_EQ((ResourceRef{"", "v1", "namespaces", "", "ns"}).path(), "/api/v1/namespaces/ns");
  EXPECT_EQ((ResourceRef{"", "v1", "serviceaccounts", "ns", "sa", "token"}).path(),
            "/api/v1/namespaces/ns/serviceaccounts/sa/token");
}

TEST(ResourcePaths, OtherGroupsLiveUnderApis) {
  EXPECT_EQ((ResourceRef{"revoca.io", "v1alpha1", "vaultsecrets", "ns", "name"}).path(),
            "/apis/revoca.io/v1alpha1/namespaces/ns/vaultsecrets/name");
  EXPECT_EQ((ResourceRef{"apiextensions.k8s.io", "v1", "customresourcedefinitions", "", "a.b.c"}).path(),
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/a.b.c");
}

TEST(ResourcePaths, EscapesNames) {
  EXPECT_EQ((ResourceRef{"", "v1", "configmaps", "ns", "a/b?c d%"}).path(),
            "/api/v1/namespaces/ns/configmaps/a%2Fb%3Fc%20d%25");
  EXPECT_EQ(escapeUrlComponent("app in (a,b),tier!=x"), "app%20in%20%28a%2Cb%29%2Ctier%21%3Dx");
  EXPECT_EQ(escapeUrlComponent("Az09-._~"), "Az09-._~");
}

TEST(ResourcePaths, QueryStringsSkipEmptyValues) {
  EXPECT_EQ(queryString({}), "");
  EXPECT_EQ(queryString({{"limit", ""}}), "");
  EXPECT_EQ(queryString({{"watch", "1"}, {"continue", ""}, {"labelSelector", "a=b"}}), "?watch=1&labelSelector=a%3Db");
}

TEST(ResourcePaths, KeysAreNamespaceSlashName) {
  EXPECT_EQ(objectKey({{"metadata", {{"namespace", "ns"}, {"name", "n"}}}}), "ns/n");
  EXPECT_EQ(objectKey({{"metadata", {{"name", "cluster-scoped"}}}}), "cluster-scoped");
  EXPECT_EQ(objectKey({{"metadata", 3}}), "");
  EXPECT_EQ(objectKey(nlohmann::json::array()), "");
  EXPECT_EQ(metadataString({{"metadata", {{"resourceVersion", "42"}}}}, "resourceVersion"), "42");
  EXPECT_EQ(metadataString({{"metadata", {{"resourceVersion", 42}}}}, "resourceVersion"), "");
}

}  // namespace
}  // namespace revoca::kubeclient
