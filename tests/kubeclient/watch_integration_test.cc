// RestClient::watch against a real kube-apiserver (see cluster_fixture.h).
#include <gmock/gmock.h>

#include <thread>

#include "kubeclient/resource_paths.h"
#include "testing/cluster_fixture.h"

namespace revoca::kubeclient {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::ElementsAre;

class WatchIntegration : public testing::ClusterTest {
 protected:
  std::string currentVersion() {
    auto listed = client_->list(configMaps(), {});
    EXPECT_TRUE(listed.ok()) << listed.error.message;
    return listed.ok() ? metadataString(*listed.value, "resourceVersion") : "";
  }
};

TEST_F(WatchIntegration, SeesAddedModifiedDeletedThenABookmarkBeforeTheTimeout) {
  std::string from = currentVersion();
  auto created = client_->create(configMaps(), configMap("w", {{"n", "1"}}));
  ASSERT_TRUE(created.ok()) << created.error.message;
  json changed = *created.value;
  changed["data"]["n"] = "2";
  ASSERT_TRUE(client_->update(configMaps("w"), changed).ok());
  ASSERT_TRUE(client_->remove(configMaps("w")).ok());
  // The apiserver only sends a bookmark that moves a watch forward: a change
  // elsewhere once the watch has caught up, which it does not see, gives it one.
  std::string elsewhere = createNamespace();
  json other = configMap("unseen", {});
  other["metadata"]["namespace"] = elsewhere;
  ApiResult<json> unseen;

  WatchOptions options;
  options.resourceVersion = from;
  // The apiserver sends a bookmark ~2 s before a watch's deadline, and every minute.
  options.timeoutSeconds = 5;
  std::vector<std::string> types;
  std::string bookmarkVersion;
  auto started = std::chrono::steady_clock::now();
  ApiError ended = client_->watch(configMaps(), options, [&](const WatchEvent& event) {
    types.push_back(event.type + (event.type == "BOOKMARK" ? "" : " " + metadataString(event.object, "name")));
    if (event.type == "BOOKMARK") bookmarkVersion = metadataString(event.object, "resourceVersion");
    if (event.type == "DELETED") unseen = client_->create({"", "v1", "configmaps", elsewhere, ""}, other);
    return true;
  });
  EXPECT_TRUE(ended.ok()) << ended.status << " " << ended.message;  // the server ended it
  EXPECT_GE(std::chrono::steady_clock::now() - started, 4s);
  ASSERT_GE(types.size(), 4u);
  EXPECT_THAT(std::vector<std::string>(types.begin(), types.begin() + 4),
              ElementsAre("ADDED w", "MODIFIED w", "DELETED w", "BOOKMARK"));
  ASSERT_TRUE(unseen.ok()) << unseen.error.message;
  EXPECT_GE(std::stoll(bookmarkVersion), std::stoll(metadataString(*unseen.value, "resourceVersion")));
}

TEST_F(WatchIntegration, EndsWhenTheHandlerSaysSo) {
  std::string from = currentVersion();
  ASSERT_TRUE(client_->create(configMaps(), configMap("first", {})).ok());
  WatchOptions options;
  options.resourceVersion = from;
  options.timeoutSeconds = 60;
  auto started = std::chrono::steady_clock::now();
  int events = 0;
  ApiError ended = client_->watch(configMaps(), options, [&](const WatchEvent&) { return ++events < 1; });
  EXPECT_TRUE(ended.ok()) << ended.message;
  EXPECT_EQ(events, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(WatchIntegration, ACancelFromAnotherThreadEndsTheWatchAtOnce) {
  WatchOptions options;
  options.resourceVersion = currentVersion();
  options.timeoutSeconds = 60;
  options.cancel = std::make_shared<WatchCancel>();
  std::thread canceller([cancel = options.cancel] {
    std::this_thread::sleep_for(500ms);
    cancel->cancel();
  });
  auto started = std::chrono::steady_clock::now();
  ApiError ended = client_->watch(configMaps(), options, [](const WatchEvent&) { return true; });
  canceller.join();
  EXPECT_EQ(ended.reason, "Cancelled") << ended.message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(WatchIntegration, ATooOldResourceVersionIsGone) {
  ASSERT_NO_FATAL_FAILURE(ensureWidgetCrd());
  WatchOptions options;
  options.resourceVersion = "1";  // older than the widgets' watch cache
  options.timeoutSeconds = 10;
  std::optional<WatchEvent> error;
  ApiError ended = client_->watch(widgets(), options, [&](const WatchEvent& event) {
    if (event.type == "ERROR") error = event;
    return event.type != "ERROR";
  });
  // The API allows either form: an ERROR event in a 200 stream (what
  // kube-apiserver 1.34 does), or a 410 answer.
  if (error) {
    EXPECT_EQ(error->object["code"], 410) << error->object.dump();
    EXPECT_EQ(error->object["reason"], "Expired");
  } else {
    EXPECT_EQ(ended.status, 410) << ended.message;
  }
}

}  // namespace
}  // namespace revoca::kubeclient
