// RestClient against a real kube-apiserver (see cluster_fixture.h).
#include <gmock/gmock.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "kubeclient/resource_paths.h"
#include "testing/cluster_fixture.h"
#include "testing/temp_dir.h"

namespace revoca::kubeclient {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class RestClientIntegration : public testing::ClusterTest {};

TEST_F(RestClientIntegration, CreatesAndGets) {
  auto created = client_->create(configMaps(), configMap("a", {{"k", "v"}}));
  ASSERT_TRUE(created.ok()) << created.error.message;
  EXPECT_FALSE(metadataString(*created.value, "resourceVersion").empty());
  auto got = client_->get(configMaps("a"));
  ASSERT_TRUE(got.ok()) << got.error.message;
  EXPECT_EQ((*got.value)["data"]["k"], "v");
  auto again = client_->create(configMaps(), configMap("a", {}));
  EXPECT_EQ(again.error.status, 409);
  EXPECT_EQ(again.error.reason, "AlreadyExists");
}

TEST_F(RestClientIntegration, AMissingObjectIsNotFound) {
  auto got = client_->get(configMaps("absent"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error.status, 404);
  EXPECT_EQ(got.error.reason, "NotFound");
  EXPECT_EQ(got.error.message, "configmaps \"absent\" not found");
}

TEST_F(RestClientIntegration, ListFollowsContinueTokens) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(client_->create(configMaps(), configMap("cm" + std::to_string(i), {}, {{"app", "paged"}})).ok());
  ASSERT_TRUE(client_->create(configMaps(), configMap("other", {}, {{"app", "else"}})).ok());
  ListOptions options;
  options.labelSelector = "app=paged";
  options.limit = 2;  // three pages
  auto listed = client_->list(configMaps(), options);
  ASSERT_TRUE(listed.ok()) << listed.error.message;
  std::vector<std::string> names;
  for (const auto& item : (*listed.value)["items"]) names.push_back(metadataString(item, "name"));
  EXPECT_EQ(names, (std::vector<std::string>{"cm0", "cm1", "cm2", "cm3", "cm4"}));
  EXPECT_FALSE(metadataString(*listed.value, "resourceVersion").empty());
  EXPECT_EQ(metadataString(*listed.value, "continue"), "");
}

// An answer many times the client's window (BoundedBody), read by a slow
// reader: whole and in order, from one request.
TEST_F(RestClientIntegration, AnUnpagedListLargerThanTheWindowArrivesWholeWhileTheReaderLags) {
  std::string payload(100 * 1024, 'p');
  for (int i = 0; i < 12; ++i)
    ASSERT_TRUE(client_->create(configMaps(), configMap("big" + std::to_string(10 + i), {{"payload", payload}},
                                                         {{"app", "big"}}))
                    .ok());
  for (std::string resourceVersion : {"", "0"}) {
    ListOptions options;
    options.labelSelector = "app=big";
    options.limit = 0;
    options.resourceVersion = resourceVersion;
    std::vector<std::string> names;
    options.transform = [&](json& item) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      names.push_back(metadataString(item, "name"));
      EXPECT_EQ(item["data"]["payload"], payload);
      item = nullptr;
    };
    auto listed = client_->list(configMaps(), options);
    ASSERT_TRUE(listed.ok()) << listed.error.message;
    EXPECT_EQ(names.size(), 12u) << "resourceVersion \"" << resourceVersion << "\"";
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
    EXPECT_FALSE(metadataString(*listed.value, "resourceVersion").empty());
  }
}

TEST_F(RestClientIntegration, AListOfWhatIsNotThereIsTheApiserversError) {
  auto listed = client_->list(ResourceRef{"example.com", "v1", "nothings", "default", ""}, {});
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error.status, 404);
}

TEST_F(RestClientIntegration, UpdateWithAStaleResourceVersionConflicts) {
  auto created = client_->create(configMaps(), configMap("a", {{"n", "1"}}));
  ASSERT_TRUE(created.ok()) << created.error.message;
  json first = *created.value;
  first["data"]["n"] = "2";
  auto updated = client_->update(configMaps("a"), first);
  ASSERT_TRUE(updated.ok()) << updated.error.message;
  json stale = *created.value;  // still the first resourceVersion
  stale["data"]["n"] = "3";
  auto conflict = client_->update(configMaps("a"), stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error.status, 409);
  EXPECT_EQ(conflict.error.reason, "Conflict");
  EXPECT_THAT(conflict.error.message, HasSubstr("the object has been modified"));
}

TEST_F(RestClientIntegration, ServerSideApplyTwiceChangesNothingTheSecondTime) {
  json desired = configMap("applied", {{"k", "v"}});
  auto first = client_->apply(configMaps("applied"), desired, "revoca-test");
  ASSERT_TRUE(first.ok()) << first.error.message;
  auto second = client_->apply(configMaps("applied"), desired, "revoca-test");
  ASSERT_TRUE(second.ok()) << second.error.message;
  EXPECT_EQ(metadataString(*first.value, "resourceVersion"), metadataString(*second.value, "resourceVersion"));
  EXPECT_EQ((*second.value)["metadata"]["managedFields"][0]["manager"], "revoca-test");
  desired["data"]["k"] = "changed";
  auto third = client_->apply(configMaps("applied"), desired, "revoca-test");
  ASSERT_TRUE(third.ok()) << third.error.message;
  EXPECT_NE(metadataString(*third.value, "resourceVersion"), metadataString(*second.value, "resourceVersion"));
}

TEST_F(RestClientIntegration, AppliesStatusThroughTheSubresource) {
  ASSERT_NO_FATAL_FAILURE(ensureWidgetCrd());
  ResourceRef ref = widgets("w");
  json object = widget("w", {{"size", 3}});
  auto created = client_->apply(ref, object, "revoca-test");
  ASSERT_TRUE(created.ok()) << created.error.message;
  json status = widget("w", {});
  status.erase("spec");
  status["status"] = {{"phase", "Ready"}};
  auto withStatus = client_->applyStatus(ref, status, "revoca-test");
  ASSERT_TRUE(withStatus.ok()) << withStatus.error.message;
  auto got = client_->get(ref);
  ASSERT_TRUE(got.ok()) << got.error.message;
  EXPECT_EQ((*got.value)["status"]["phase"], "Ready");
  EXPECT_EQ((*got.value)["spec"]["size"], 3);
  // Through the main resource, status is ignored: that is what the subresource is for.
  object["status"] = {{"phase", "Ignored"}};
  ASSERT_TRUE(client_->apply(ref, object, "revoca-test").ok());
  EXPECT_EQ((*client_->get(ref).value)["status"]["phase"], "Ready");
}

TEST_F(RestClientIntegration, RemovesAndReportsAMissingObject) {
  ASSERT_TRUE(client_->create(configMaps(), configMap("gone", {})).ok());
  ApiError removed = client_->remove(configMaps("gone"));
  EXPECT_TRUE(removed.ok()) << removed.message;
  ApiError again = client_->remove(configMaps("gone"));
  EXPECT_EQ(again.status, 404);
}

TEST_F(RestClientIntegration, AServerOutsideTheTrustedCaIsRefused) {
  ConnectionConfig config = config_;
  config.caPem = "";  // the system roots do not include the test cluster's CA
  auto client = makeRestClient(config);
  ASSERT_TRUE(client) << client.error().message;
  auto got = (*client)->get(configMaps("a"));
  EXPECT_EQ(got.error.status, 0);
  EXPECT_THAT(got.error.message, HasSubstr("handshake"));
}

TEST_F(RestClientIntegration, ATokenFileIsRereadWhenItChanges) {
  ResourceRef accounts{"", "v1", "serviceaccounts", namespace_, ""};
  ASSERT_TRUE(client_->create(accounts, {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "reader"}}}}).ok());
  ResourceRef tokenRequest{"", "v1", "serviceaccounts", namespace_, "reader", "token"};
  auto issued = client_->create(tokenRequest, {{"apiVersion", "authentication.k8s.io/v1"},
                                              {"kind", "TokenRequest"},
                                              {"spec", {{"expirationSeconds", 600}}}});
  ASSERT_TRUE(issued.ok()) << issued.error.message;
  const std::string token = (*issued.value)["status"]["token"];

  revoca::testing::TempDir dir;
  auto file = dir.write("token", "not-a-valid-token");
  ConnectionConfig config;
  config.server = config_.server;
  config.caPem = config_.caPem;
  config.bearerTokenFile = file;
  auto client = makeRestClient(config);
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_EQ((*client)->get(configMaps("a")).error.status, 401);

  dir.write("token", token + "\n");
  std::filesystem::last_write_time(file, std::filesystem::last_write_time(file) + std::chrono::seconds(2));
  auto forbidden = (*client)->get(configMaps("a"));
  EXPECT_EQ(forbidden.error.status, 403);  // authenticated now, though not yet authorized
  EXPECT_THAT(forbidden.error.message, HasSubstr("system:serviceaccount:" + namespace_ + ":reader"));
}

}  // namespace
}  // namespace revoca::kubeclient
