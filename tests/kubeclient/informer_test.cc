#include "kubeclient/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/kubeclient/fake_api_client.h"
#include "tests/kubeclient/handler_recorder.h"
#include "testing/fake_clock.h"

namespace revoca::kubeclient {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::ElementsAre;
using testing::FakeApiClient;
using revoca::testing::FakeClock;
using testing::Recorder;

json object(const std::string& name, const std::string& version) {
  return {{"metadata", {{"namespace", "ns"}, {"name", name}, {"resourceVersion", version}}}};
}

ApiResult<json> listOf(std::vector<json> items, const std::string& version) {
  return {json{{"kind", "ConfigMapList"}, {"metadata", {{"resourceVersion", version}}}, {"items", items}}, {}};
}

InformerOptions fastOptions() {
  InformerOptions options;
  options.labelSelector = "app=mqtt";
  options.backoff.initial = 1ms;
  options.backoff.jitter = 0;
  return options;
}

const ResourceRef kConfigMaps{"", "v1", "configmaps", "ns", ""};

TEST(Informer, ListsThenWatchesFromWhereTheListEnded) {
  FakeClock clock;
  FakeApiClient client;
  Recorder recorder;
  client.addList(listOf({object("a", "1"), object("b", "2")}, "10"));
  client.addWatch([](const WatchOptions&, const testing::EventSink& send) {
    send({"ADDED", object("c", "11")});
    send({"MODIFIED", object("a", "12")});
    send({"DELETED", object("b", "13")});
    send({"BOOKMARK", {{"metadata", {{"resourceVersion", "20"}}}}});
    return ApiError{200, "", ""};  // the server's timeout
  });
  Informer informer(client, kConfigMaps, recorder.handlers(), clock, fastOptions());
  EXPECT_FALSE(informer.hasSynced());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(10s));
  EXPECT_THAT(recorder.waitFor(5), ElementsAre("add ns/a", "add ns/b", "add ns/c", "update ns/a 1->12", "delete ns/b"));
  ASSERT_TRUE(client.waitForWatchCalls(2));
  auto calls = client.watchCalls();
  EXPECT_EQ(calls[0].resourceVersion, "10");
  EXPECT_EQ(calls[1].resourceVersion, "20");  // the bookmark moved the resume point
  EXPECT_TRUE(calls[0].allowWatchBookmarks);
  EXPECT_EQ(calls[0].labelSelector, "app=mqtt");
  EXPECT_GE(calls[0].timeoutSeconds, 300);
  EXPECT_LE(calls[0].timeoutSeconds, 600);
  EXPECT_EQ(informer.get("ns/a").value()["metadata"]["resourceVersion"], "12");
  EXPECT_FALSE(informer.get("ns/b"));
  EXPECT_EQ(informer.list().size(), 2u);
  EXPECT_EQ(informer.lists(), 1);
}

TEST(Informer, CachesObjectsAsTheTransformTrimsThem) {
  // As client-go's SetTransform: what nobody reads is not kept, from the
  // list and from the watch alike, and the handlers see the trimmed object.
  FakeClock clock;
  FakeApiClient client;
  Recorder recorder;
  auto withBulk = [](json item) {
    item["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}}});
    return item;
  };
  client.addList(listOf({withBulk(object("a", "1"))}, "10"));
  client.addWatch([&](const WatchOptions&, const testing::EventSink& send) {
    send({"ADDED", withBulk(object("b", "11"))});
    return ApiError{200, "", ""};
  });
  InformerOptions options = fastOptions();
  int trimmed = 0;
  options.transform = [&](json& item) {
    ++trimmed;
    item["metadata"].erase("managedFields");
  };
  Informer informer(client, kConfigMaps, recorder.handlers(), clock, options);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(10s));
  recorder.waitFor(2);
  EXPECT_GE(trimmed, 2);
  std::vector<std::string> seen;
  for (const json& item : informer.list()) {
    EXPECT_FALSE(item["metadata"].contains("managedFields"));
    seen.push_back(item["metadata"]["name"]);
  }
  EXPECT_THAT(seen, ElementsAre("a", "b"));
  std::vector<std::string> versions;
  informer.forEachVersion([&](const std::string& key, const std::string& version) {
    versions.push_back(key + "@" + version);
  });
  EXPECT_EQ(versions.size(), 2u);
  EXPECT_FALSE(informer.get("ns/b").value()["metadata"].contains("managedFields"));
}

TEST(Informer, KeepsOnlyWhatTheCallerAsksOfTheVersionItConverted) {
  FakeClock clock;
  FakeApiClient client;
  Recorder recorder;
  auto withSpec = [](json item) {
    item["spec"] = {{"size", 1}};
    return item;
  };
  client.addList(listOf({withSpec(object("a", "1")), withSpec(object("b", "2"))}, "10"));
  Informer informer(client, kConfigMaps, recorder.handlers(), clock, fastOptions());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(10s));

  informer.keepOnly("ns/a", "1", object("a", "1"));
  EXPECT_FALSE(informer.get("ns/a").value().contains("spec"));
  // Another version than the one converted is kept whole, and an unknown key is no error.
  informer.keepOnly("ns/b", "1", object("b", "1"));
  EXPECT_TRUE(informer.get("ns/b").value().contains("spec"));
  informer.keepOnly("ns/c", "1", object("c", "1"));
  EXPECT_FALSE(informer.get("ns/c"));
}

TEST(Informer, APagerThatStartsOverKeepsOnlyItsLastPass) {
  // The continue token expired after a page naming a and b; the pager lists
  // again from the start, and b was deleted meanwhile.
  FakeClock clock;
  FakeApiClient client;
  Recorder recorder;
  client.addList(listOf({object("a", "1"), object("b", "2"), object("a", "3")}, "10"));
  Informer informer(client, kConfigMaps, recorder.handlers(), clock, fastOptions());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(10s));
  EXPECT_THAT(recorder.waitFor(1), ElementsAre("add ns/a"));
  EXPECT_EQ(informer.get("ns/a").value()["metadata"]["resourceVersion"], "3");
  EXPECT_FALSE(informer.get("ns/b"));
}

TEST(Informer, RelistsOnGoneAndReportsWhatChangedMeanwhile) {
  FakeClock clock;
  FakeApiClient client;
  Recorder recorder;
  client.addList(listOf({object("a", "1"), object("b", "1")}, "5"));
  client.addList(listOf({object("a", "7"), object("c", "8")}, "9"));
  client.addWatch([](const WatchOptions&, const testing::EventSink& send) {
    send({"ERROR", {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}, {"message", "too old resource version"}}});
    return ApiError{200, "", ""};
  });
  Informer informer(client, kConfigMaps, recorder.handlers(), clock, fastOptions());
  informer.start();
  EXPECT_THAT(recorder.waitFor(5), ElementsAre("add ns/a", "add ns/b", "update ns/a 1->7", "add ns/c", "delete ns/b"));
  ASSERT_TRUE(client.waitForWatchCalls(2));
  EXPECT_EQ(client.watchCalls()[1].resourceVersion, "9");
  EXPECT_EQ(informer.lists(), 2);
  // The first from the apiserver's cache, as client-go's reflector lists;
  // the second consistent, so that it cannot go back before what was seen.
  EXPECT_THAT(client.listVersions(), ElementsAre("0", ""));
}

TEST(Informer, RelistsOnAGoneAnswerToo) {
  FakeClock clock;
  FakeApiClient client;
  Recorder recorder;
  client.addList(listOf({}, "5"));
  client.addWatch([](const WatchOptions&, const testing::EventSink&) { return ApiError{410, "Gone", "gone"}; });
  Informer informer(client, kConfigMaps, recorder.handlers(), clock, fastOptions());
  informer.start();
  ASSERT_TRUE(client.waitForWatchCalls(2));
  EXPECT_EQ(informer.lists(), 2);
}

TEST(Informer, RelistsAtOnceOnGoneEvenAfterItsBackoffGrew) {
  // An apiserver that restarted answers a resumed watch with 410: it is
  // back, so the relist must not wait out the backoff (an hour here).
  FakeClock clock;
  FakeApiClient client;
  Recorder recorder;
  client.addList(listOf({}, "5"));
  client.addList(listOf({object("a", "7")}, "9"));
  client.addWatch([](const WatchOptions&, const testing::EventSink& send) {
    send({"ADDED", object("b", "6")});
    send({"ERROR", {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}, {"message", "too old resource version"}}});
    return ApiError{200, "", ""};
  });
  InformerOptions options = fastOptions();
  options.backoff.initial = std::chrono::hours(1);
  Informer informer(client, kConfigMaps, recorder.handlers(), clock, options);
  informer.start();
  ASSERT_TRUE(client.waitForWatchCalls(2));
  EXPECT_EQ(informer.lists(), 2);
  EXPECT_EQ(client.watchCalls()[1].resourceVersion, "9");
}

TEST(Informer, RewatchesFromTheSameVersionWhenTheServerIsUnreachable) {
  FakeClock clock;
  FakeApiClient client;
  Recorder recorder;
  client.addList(listOf({}, "5"));
  client.addWatch([](const WatchOptions&, const testing::EventSink&) { return ApiError{0, "", "connection refused"}; });
  Informer informer(client, kConfigMaps, recorder.handlers(), clock, fastOptions());
  informer.start();
  ASSERT_TRUE(client.waitForWatchCalls(2));
  EXPECT_EQ(client.watchCalls()[1].resourceVersion, "5");
  EXPECT_EQ(informer.lists(), 1);
}

TEST(Informer, RetriesAFailedListAfterABackoff) {
  FakeClock clock;
  FakeApiClient client;
  Recorder recorder;
  client.addList({std::nullopt, ApiError{503, "ServiceUnavailable", "etcd is starting"}});
  client.addList(listOf({object("a", "1")}, "5"));
  InformerOptions options = fastOptions();
  options.backoff.initial = 300ms;
  Informer informer(client, kConfigMaps, recorder.handlers(), clock, options);
  auto started = std::chrono::steady_clock::now();
  informer.start();
  ASSERT_TRUE(informer.waitForSync(10s));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
  EXPECT_EQ(client.listCalls(), 2);
  EXPECT_THAT(recorder.waitFor(1), ElementsAre("add ns/a"));
}

TEST(Informer, BacksOffAfterAWatchThatEndsAtOnceWithNothing) {
  FakeClock clock;  // never moves: every watch looks instantaneous
  FakeApiClient client;
  Recorder recorder;
  client.addList(listOf({}, "5"));
  client.addWatch([](const WatchOptions&, const testing::EventSink&) { return ApiError{200, "", ""}; });
  InformerOptions options = fastOptions();
  options.backoff.initial = 300ms;
  Informer informer(client, kConfigMaps, recorder.handlers(), clock, options);
  informer.start();
  ASSERT_TRUE(client.waitForWatchCalls(1));
  auto first = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.waitForWatchCalls(2));
  EXPECT_GE(std::chrono::steady_clock::now() - first, 250ms);
}

TEST(Informer, StopEndsAWatchAtOnce) {
  FakeClock clock;
  FakeApiClient client;
  Recorder recorder;
  client.addList(listOf({}, "5"));
  Informer informer(client, kConfigMaps, recorder.handlers(), clock, fastOptions());
  informer.start();
  ASSERT_TRUE(client.waitForWatchCalls(1));  // blocked until cancelled
  auto stopping = std::chrono::steady_clock::now();
  informer.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 2s);
  EXPECT_EQ(client.watchCalls().size(), 1u);
}

}  // namespace
}  // namespace revoca::kubeclient
