#include "kubernetes/cluster_objects.h"

#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "kubernetes/status_summary.h"
#include "testing/fake_clock.h"
#include "testing/refusing_api_client.h"

namespace revoca::kubernetes {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Serves each collection's current items; every watch ends at once with 410,
// so the informers list again and pick up what the test changed.
class CollectionsApi final : public kubeclient::testing::RefusingApiClient {
 public:
  // As the apiserver does: a new spec is a new generation, a status is not.
  void put(const std::string& plural, json object) {
    std::lock_guard lock(mutex_);
    std::string name = object["metadata"]["name"];
    object["metadata"]["resourceVersion"] = std::to_string(++version_);
    auto& stored = items_[plural][name];
    std::int64_t generation = stored.is_null() ? 1 : stored["metadata"]["generation"].get<std::int64_t>();
    if (!stored.is_null() && stored["spec"] != object["spec"]) ++generation;
    object["metadata"]["generation"] = generation;
    stored = std::move(object);
  }
  // A new resourceVersion with the generation unchanged, as a status write
  // makes it; whatever else `object` changes is there to show it is not read.
  void putKeepingGeneration(const std::string& plural, json object) {
    std::lock_guard lock(mutex_);
    std::string name = object["metadata"]["name"];
    auto& stored = items_[plural][name];
    object["metadata"]["generation"] = stored["metadata"]["generation"];
    object["metadata"]["resourceVersion"] = std::to_string(++version_);
    stored = std::move(object);
  }
  void erase(const std::string& plural, const std::string& name) {
    std::lock_guard lock(mutex_);
    ++version_;
    items_[plural].erase(name);
  }

  kubeclient::ApiResult<json> list(const kubeclient::ResourceRef& collection, const kubeclient::ListOptions& options) override {
    json items = json::array();
    std::string version;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [name, object] : items_[collection.plural]) items.push_back(object);
      version = std::to_string(version_);
    }
    for (auto& item : items)
      if (options.transform) options.transform(item);
    return {json{{"metadata", {{"resourceVersion", version}}}, {"items", items}}, {}};
  }
  kubeclient::ApiError watch(const kubeclient::ResourceRef&, const kubeclient::WatchOptions&,
                       const std::function<bool(const kubeclient::WatchEvent&)>&) override {
    std::this_thread::sleep_for(5ms);
    return {410, "Expired", "too old resource version"};
  }
 private:
  std::mutex mutex_;
  std::map<std::string, std::map<std::string, json>> items_;  // plural -> name -> object
  int version_ = 0;
};

json vaultSecret(const std::string& name, const std::string& ttl) {
  return {{"apiVersion", "revoca.io/v1alpha1"},
          {"kind", "VaultSecret"},
          {"metadata", {{"name", name}, {"namespace", "mqtt"}, {"generation", 1}}},
          {"spec", {{"vault", "mqtt-vault"}, {"autoCert", {{"issuingCa", "mqtt-ca"}, {"host", name + ".example"}, {"ttl", ttl}}}}}};
}

json vault(const std::string& name = "mqtt-vault", const std::vector<std::string>& deployments = {"emqx"}) {
  return {{"apiVersion", "revoca.io/v1alpha1"},
          {"kind", "Vault"},
          {"metadata", {{"name", name}, {"namespace", "mqtt"}, {"generation", 1}}},
          {"spec", {{"distribute", {{"deployments", deployments}}}}}};
}

std::vector<std::string> hosts(const DeclarationSet& set) {
  std::vector<std::string> out;
  for (const auto& secret : set.vaultSecrets) out.push_back(secret.spec.autoCert.host);
  return out;
}

class ClusterObjectsTest : public ::testing::Test {
 protected:
  ClusterObjectsTest()
      : objects_(
            api_, clock_, {},
            [this](Change, const ObjectRef* changed) {
              std::lock_guard lock(mutex_);
              if (changed) changed_.push_back(*changed);
            },
            fastOptions()) {}
  ~ClusterObjectsTest() override { objects_.stop(); }

  static kubeclient::InformerOptions fastOptions() {
    kubeclient::InformerOptions options;
    options.backoff.initial = 1ms;
    options.backoff.cap = 5ms;
    options.backoff.jitter = 0;
    return options;
  }

  // Until the set shows `count` VaultSecrets and `errors` errors (the
  // informers list again every few milliseconds).
  const DeclarationSet& waitFor(std::size_t count, std::size_t errors) {
    for (int i = 0; i < 400; ++i) {
      set_ = objects_.snapshot();
      if (set_.vaultSecrets.size() == count && set_.errors.size() == errors) return set_;
      std::this_thread::sleep_for(5ms);
    }
    return set_;
  }
  std::vector<ObjectRef> changed() {
    std::lock_guard lock(mutex_);
    return std::exchange(changed_, {});
  }

  std::mutex mutex_;
  std::vector<ObjectRef> changed_;
  DeclarationSet set_;
  CollectionsApi api_;
  revoca::testing::FakeClock clock_;
  ClusterObjects objects_;
};

TEST_F(ClusterObjectsTest, EachObjectIsConvertedOnceAsItArrivesAndChangedOnesAreReadAgain) {
  api_.put("vaults", vault());
  api_.put("vaultsecrets", vaultSecret("a", "30d"));
  api_.put("vaultsecrets", vaultSecret("b", "30d"));
  objects_.start();
  ASSERT_TRUE(objects_.waitForSync(10s));
  const DeclarationSet& first = waitFor(2, 0);
  EXPECT_EQ(hosts(first), (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(first.vaults.size(), 1u);

  // The same again: each declaration is kept, not converted again.
  ObjectRef a{Kind::VaultSecret, {"mqtt", "a"}};
  Declared kept = objects_.declared(a);
  ASSERT_TRUE(kept);
  EXPECT_EQ(objects_.declared(a), kept);
  EXPECT_EQ(objects_.snapshot().vaults.size(), 1u);
  // Both name the Vault: a change to it queues them.
  EXPECT_EQ(objects_.naming({Kind::Vault, {"mqtt", "mqtt-vault"}}),
            (std::vector<ObjectRef>{a, {Kind::VaultSecret, {"mqtt", "b"}}}));
  EXPECT_EQ(objects_.vaultsDistributingTo("mqtt", "emqx"), std::vector<std::string>{"mqtt-vault"});
  this->changed();

  api_.put("vaultsecrets", vaultSecret("b", "30 days"));  // broken now
  api_.put("vaultsecrets", vaultSecret("c", "30d"));
  const DeclarationSet& changed = waitFor(2, 1);
  EXPECT_EQ(hosts(changed), (std::vector<std::string>{"a.example", "c.example"}));
  ASSERT_EQ(changed.errors.size(), 1u);
  EXPECT_EQ(changed.errors[0].object, "mqtt/b");
  EXPECT_EQ(changed.vaults.size(), 1u);
  for (int i = 0; i < 400 && this->changed().empty(); ++i) std::this_thread::sleep_for(5ms);

  // The error stays with its object across calls, and a deletion drops out.
  api_.erase("vaultsecrets", "a");
  const DeclarationSet& deleted = waitFor(1, 1);
  EXPECT_EQ(hosts(deleted), std::vector<std::string>{"c.example"});
  EXPECT_EQ(deleted.errors.size(), 1u);
  EXPECT_EQ(objects_.snapshot().errors.size(), 1u);
  EXPECT_EQ(objects_.snapshot().vaults.size(), 1u);
  EXPECT_FALSE(objects_.declared(a));
  ObjectRef c{Kind::VaultSecret, {"mqtt", "c"}};
  // c alone: b, refused, names nothing.
  EXPECT_EQ(objects_.naming({Kind::Vault, {"mqtt", "mqtt-vault"}}), std::vector<ObjectRef>{c});

  // A status write changes the resourceVersion, not the generation: the
  // declaration is kept, not parsed again, and nobody hears of it.
  Declared keptInPlace = objects_.declared(c);
  this->changed();
  json statusWritten = vaultSecret("c", "30d");
  statusWritten["spec"]["autoCert"]["host"] = "not-parsed.example";
  statusWritten["status"] = {{"serial", "0A"}};
  api_.putKeepingGeneration("vaultsecrets", statusWritten);
  auto seen = [&] {
    auto cached = objects_.get(Kind::VaultSecret, "mqtt", "c");
    return cached && cached->contains("status");
  };
  for (int i = 0; i < 400 && !seen(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(seen());
  EXPECT_EQ(hosts(objects_.snapshot()), std::vector<std::string>{"c.example"});
  EXPECT_EQ(objects_.declared(c), keptInPlace);
  EXPECT_TRUE(this->changed().empty());
  // What is cached of it: no spec (its declaration is kept), its status summarized.
  auto cached = objects_.get(Kind::VaultSecret, "mqtt", "c");
  EXPECT_FALSE(cached->contains("spec"));
  EXPECT_EQ((*cached)["metadata"]["name"], "c");
  EXPECT_EQ((*cached)["metadata"]["generation"], 1);
  EXPECT_EQ((*cached)["status"]["serial"], "0A");
  EXPECT_TRUE((*cached)["status"].contains(kStatusDigestMember));

  // Mended: its error goes, its declaration takes its place in key order.
  api_.put("vaultsecrets", vaultSecret("b", "30d"));
  const DeclarationSet& mended = waitFor(2, 0);
  EXPECT_EQ(hosts(mended), (std::vector<std::string>{"b.example", "c.example"}));
  EXPECT_EQ(objects_.snapshot().vaults.size(), 1u);
  for (int i = 0; i < 400 && this->changed().empty(); ++i) std::this_thread::sleep_for(5ms);
}

// The index follows each Vault's spec: what it distributes to now, never
// what it did before, and nothing once it is gone.
TEST_F(ClusterObjectsTest, TheVaultsDistributingToADeploymentFollowTheirEditsAndDeletions) {
  api_.put("vaults", vault("b-vault", {"emqx", "other"}));
  api_.put("vaults", vault("a-vault", {"emqx"}));
  objects_.start();
  ASSERT_TRUE(objects_.waitForSync(10s));
  auto distributing = [&](const std::string& deployment, const std::vector<std::string>& expected) {
    for (int i = 0; i < 400 && objects_.vaultsDistributingTo("mqtt", deployment) != expected; ++i)
      std::this_thread::sleep_for(5ms);
    return objects_.vaultsDistributingTo("mqtt", deployment);
  };
  EXPECT_EQ(distributing("emqx", {"a-vault", "b-vault"}), (std::vector<std::string>{"a-vault", "b-vault"}));
  EXPECT_EQ(distributing("other", {"b-vault"}), std::vector<std::string>{"b-vault"});
  EXPECT_TRUE(objects_.vaultsDistributingTo("elsewhere", "emqx").empty());

  api_.put("vaults", vault("b-vault", {"other", "third"}));
  EXPECT_EQ(distributing("emqx", {"a-vault"}), std::vector<std::string>{"a-vault"});
  EXPECT_EQ(distributing("third", {"b-vault"}), std::vector<std::string>{"b-vault"});

  api_.erase("vaults", "b-vault");
  EXPECT_TRUE(distributing("other", {}).empty());
  EXPECT_TRUE(distributing("third", {}).empty());
  EXPECT_EQ(distributing("emqx", {"a-vault"}), std::vector<std::string>{"a-vault"});
}

TEST_F(ClusterObjectsTest, AnEmqxDeploymentKeepsItsPodTemplateInTheCacheForTheDeploymentBuiltFromIt) {
  json emqx = json::parse(R"({
    "apiVersion": "revoca.io/v1alpha1", "kind": "EmqxDeployment",
    "metadata": {"name": "emqx", "namespace": "mqtt", "generation": 1},
    "spec": {"listener": {"name": "default", "bind": "0.0.0.0:8883"}, "vault": "mqtt-vault", "secret": "server-cert",
             "certDir": "/etc/emqx-certs",
             "podTemplate": {"spec": {"containers": [{"name": "emqx", "image": "emqx:5"}]}}}})");
  api_.put("emqxdeployments", emqx);
  objects_.start();
  ASSERT_TRUE(objects_.waitForSync(10s));
  ASSERT_EQ(objects_.snapshot().emqxDeployments.size(), 1u);
  auto cached = objects_.get(Kind::EmqxDeployment, "mqtt", "emqx");
  ASSERT_TRUE(cached);
  EXPECT_EQ((*cached)["spec"], json({{"podTemplate", emqx["spec"]["podTemplate"]}}));
  EXPECT_FALSE(cached->contains("kind"));
  // Trimmed, it is not taken for a whole object to convert again.
  EXPECT_EQ(objects_.snapshot().emqxDeployments.size(), 1u);
  EXPECT_EQ(objects_.snapshot().emqxDeployments[0].spec.vault, "mqtt-vault");
}

}  // namespace
}  // namespace revoca::kubernetes
