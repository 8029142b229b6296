// Informer against a real kube-apiserver (see cluster_fixture.h).
#include <gmock/gmock.h>

#include "kubeclient/forwarding_api_client.h"
#include "kubeclient/informer.h"
#include "kubeclient/resource_paths.h"
#include "testing/cluster_fixture.h"
#include "tests/kubeclient/handler_recorder.h"

namespace revoca::kubeclient {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::Recorder;

class InformerIntegration : public testing::ClusterTest {
 protected:
  SystemClock clock_;
};

TEST_F(InformerIntegration, SyncsThenSeesChangesToWhatItWatches) {
  json watched = {{"app", "watched"}};
  ASSERT_TRUE(client_->create(configMaps(), configMap("a", {}, watched)).ok());
  ASSERT_TRUE(client_->create(configMaps(), configMap("b", {}, watched)).ok());
  ASSERT_TRUE(client_->create(configMaps(), configMap("ignored", {}, {{"app", "else"}})).ok());
  Recorder recorder;
  InformerOptions options;
  options.labelSelector = "app=watched";
  options.pageSize = 1;  // the first list takes pages too
  Informer informer(*client_, configMaps(), recorder.handlers(), clock_, options);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(10s));
  EXPECT_EQ(informer.list().size(), 2u);
  EXPECT_FALSE(informer.get(namespace_ + "/ignored"));
  const std::string prefix = namespace_ + "/";

  auto created = client_->create(configMaps(), configMap("c", {{"n", "1"}}, watched));
  ASSERT_TRUE(created.ok()) << created.error.message;
  EXPECT_TRUE(recorder.waitForEvent("add " + prefix + "c"));
  json changed = *created.value;
  changed["data"]["n"] = "2";
  ASSERT_TRUE(client_->update(configMaps("c"), changed).ok());
  EXPECT_TRUE(recorder.waitForEvent("update " + prefix + "c"));
  EXPECT_EQ(informer.get(prefix + "c").value()["data"]["n"], "2");

  // Relabelled out of the selector, an object is deleted as far as the informer knows.
  json relabelled = *client_->get(configMaps("a")).value;
  relabelled["metadata"]["labels"]["app"] = "moved";
  ASSERT_TRUE(client_->update(configMaps("a"), relabelled).ok());
  EXPECT_TRUE(recorder.waitForEvent("delete " + prefix + "a"));
  ASSERT_TRUE(client_->remove(configMaps("b")).ok());
  EXPECT_TRUE(recorder.waitForEvent("delete " + prefix + "b"));
  EXPECT_EQ(informer.list().size(), 1u);
  EXPECT_EQ(informer.lists(), 1);
}

// Passes everything to the real client, but resumes the second watch from
// resourceVersion "1", as if the informer had been away for long.
class ExpiringClient final : public ForwardingApiClient {
 public:
  explicit ExpiringClient(ApiClient& inner) : ForwardingApiClient(inner) {}
  ApiError watch(const ResourceRef& collection, const WatchOptions& options,
                 const std::function<bool(const WatchEvent&)>& onEvent) override {
    WatchOptions changed = options;
    if (++watches_ == 2) changed.resourceVersion = "1";
    return inner_.watch(collection, changed, onEvent);
  }

 private:
  std::atomic<int> watches_{0};
};

TEST_F(InformerIntegration, RelistsWhenItsResourceVersionIsGone) {
  ASSERT_NO_FATAL_FAILURE(ensureWidgetCrd());
  ASSERT_TRUE(client_->apply(widgets("w1"), widget("w1", json::object()), "revoca-test").ok());
  ExpiringClient expiring(*client_);
  Recorder recorder;
  InformerOptions options;
  options.minWatchTimeout = 1s;  // the first watch ends within 2 s; the second is Gone
  options.backoff.initial = 100ms;
  Informer informer(expiring, widgets(), recorder.handlers(), clock_, options);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(10s));
  ASSERT_TRUE(client_->apply(widgets("w2"), widget("w2", json::object()), "revoca-test").ok());
  EXPECT_TRUE(eventually([&] { return informer.lists() >= 2; }));
  EXPECT_TRUE(recorder.waitForEvent("add " + namespace_ + "/w2"));
  // And it watches again after the relist.
  ASSERT_TRUE(client_->apply(widgets("w3"), widget("w3", json::object()), "revoca-test").ok());
  EXPECT_TRUE(recorder.waitForEvent("add " + namespace_ + "/w3"));
  EXPECT_EQ(informer.list().size(), 3u);
}

TEST_F(InformerIntegration, StopsAtOnceInTheMiddleOfAWatch) {
  Recorder recorder;
  Informer informer(*client_, configMaps(), recorder.handlers(), clock_);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(10s));
  std::this_thread::sleep_for(300ms);  // into the watch, which would last 5 to 10 minutes
  auto stopping = std::chrono::steady_clock::now();
  informer.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 2s);
}

}  // namespace
}  // namespace revoca::kubeclient
