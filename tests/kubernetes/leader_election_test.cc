#include "kubernetes/leader_election.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "kubernetes/names.h"
#include "testing/cluster_fixture.h"
#include "testing/fake_clock.h"
#include "testing/refusing_api_client.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(LeaderElection, MicroTimeHasSixFractionDigits) {
  TimePoint time = fromUnixSeconds(1800000000) + std::chrono::microseconds(1234);
  EXPECT_EQ(formatMicroTime(time), "2027-01-15T08:00:00.001234Z");
  EXPECT_EQ(formatMicroTime(fromUnixSeconds(1800000000)), "2027-01-15T08:00:00.000000Z");
}

TEST(LeaderElection, TheDefaultIdentityIsTheHostAndARandomSuffix) {
  struct NoApi final : kubeclient::ApiClient {
    kubeclient::ApiResult<json> get(const kubeclient::ResourceRef&) override { return {}; }
    kubeclient::ApiResult<json> list(const kubeclient::ResourceRef&, const kubeclient::ListOptions&) override { return {}; }
    kubeclient::ApiError watch(const kubeclient::ResourceRef&, const kubeclient::WatchOptions&,
                         const std::function<bool(const kubeclient::WatchEvent&)>&) override {
      return {};
    }
    kubeclient::ApiResult<json> create(const kubeclient::ResourceRef&, const json&) override { return {}; }
    kubeclient::ApiResult<json> update(const kubeclient::ResourceRef&, const json&) override { return {}; }
    kubeclient::ApiResult<json> apply(const kubeclient::ResourceRef&, const json&, const std::string&, bool) override { return {}; }
    kubeclient::ApiResult<json> applyStatus(const kubeclient::ResourceRef&, const json&, const std::string&) override { return {}; }
    kubeclient::ApiError remove(const kubeclient::ResourceRef&) override { return {}; }
  } api;
  SystemClock clock;
  LeaderElector a(api, clock, {}, {}), b(api, clock, {}, {});
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  EXPECT_EQ(a.identity().rfind(std::string(host) + "_", 0), 0u) << a.identity();
  EXPECT_NE(a.identity(), b.identity());
}

// One Lease in memory, with resourceVersions and 409 Conflicts as the
// apiserver has them; `down` makes every request fail.
class FakeLeases final : public kubeclient::testing::RefusingApiClient {
 public:
  FakeLeases() : RefusingApiClient({503, "ServiceUnavailable", "down"}) {}
  std::optional<json> lease;
  bool down = false;
  bool conflictNext = false;
  int updates = 0;

  json spec() const { return lease ? (*lease)["spec"] : json(); }
  // Another replica writes the Lease.
  void write(const json& spec) {
    if (!lease) lease = json{{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"},
                              {"metadata", {{"name", "revoca-leader"}, {"namespace", "ns"}}}};
    (*lease)["spec"] = spec;
    (*lease)["metadata"]["resourceVersion"] = std::to_string(++version_);
  }

  kubeclient::ApiResult<json> get(const kubeclient::ResourceRef& ref) override {
    EXPECT_EQ(ref.group, "coordination.k8s.io");
    EXPECT_EQ(ref.plural, "leases");
    EXPECT_EQ(ref.name, "revoca-leader");
    if (down) return unavailable();
    if (!lease) return {std::nullopt, {404, "NotFound", "leases \"revoca-leader\" not found"}};
    return {lease, {}};
  }
  kubeclient::ApiResult<json> create(const kubeclient::ResourceRef& ref, const json& object) override {
    EXPECT_EQ(ref.name, "");
    if (down) return unavailable();
    if (lease) return {std::nullopt, {409, "AlreadyExists", "exists"}};
    write(object["spec"]);
    (*lease)["metadata"] = object["metadata"];
    (*lease)["metadata"]["resourceVersion"] = std::to_string(version_);
    return {lease, {}};
  }
  kubeclient::ApiResult<json> update(const kubeclient::ResourceRef&, const json& body) override {
    if (down) return unavailable();
    if (!lease) return {std::nullopt, {404, "NotFound", "gone"}};
    if (conflictNext || body["metadata"]["resourceVersion"] != (*lease)["metadata"]["resourceVersion"]) {
      conflictNext = false;
      return {std::nullopt, {409, "Conflict", "the object has been modified"}};
    }
    ++updates;
    write(body["spec"]);
    return {lease, {}};
  }
 private:
  kubeclient::ApiResult<json> unavailable() const { return refused(); }
  int version_ = 0;
};

class LeaderElectionDecisions : public ::testing::Test {
 protected:
  LeaderElectionOptions options(const std::string& identity) const {
    LeaderElectionOptions o;
    o.leaseNamespace = "ns";
    o.identity = identity;
    return o;  // client-go's 15 s / 10 s / 2 s
  }
  std::unique_ptr<LeaderElector> elector(const std::string& identity, LeaderElectionOptions o = {}) {
    if (o.identity.empty()) o = options(identity);
    return std::make_unique<LeaderElector>(api_, clock_, o,
                                           LeaderCallbacks{[this] { ++started_; }, [this] { ++stopped_; }});
  }
  json foreign(const std::string& holder, const std::string& renewTime) const {
    return {{"holderIdentity", holder},
            {"leaseDurationSeconds", 15},
            {"renewTime", renewTime},
            {"acquireTime", "2000-01-01T00:00:00.000000Z"},
            {"leaseTransitions", 4}};
  }

  FakeLeases api_;
  revoca::testing::FakeClock clock_;
  int started_ = 0, stopped_ = 0;
};

TEST_F(LeaderElectionDecisions, AMissingLeaseIsCreatedAndLeads) {
  auto a = elector("a");
  a->tick();
  EXPECT_TRUE(a->isLeader());
  EXPECT_EQ(started_, 1);
  json spec = api_.spec();
  EXPECT_EQ(spec["holderIdentity"], "a");
  EXPECT_EQ(spec["leaseDurationSeconds"], 15);
  EXPECT_EQ(spec["leaseTransitions"], 0);
  EXPECT_EQ(spec["renewTime"], "2027-01-15T08:00:00.000000Z");
  EXPECT_EQ(spec["acquireTime"], spec["renewTime"]);

  clock_.advance(2s);
  a->tick();  // a renewal
  EXPECT_EQ(api_.spec()["renewTime"], "2027-01-15T08:00:02.000000Z");
  EXPECT_EQ(api_.spec()["acquireTime"], "2027-01-15T08:00:00.000000Z");
  EXPECT_EQ(started_, 1);
}

TEST_F(LeaderElectionDecisions, AForeignLeaseIsTakenOnlyAfterItsDurationOnOurClock) {
  // Its renewTime is long past by our clock, but remote clocks are not trusted:
  // the lease runs from when we first saw the record.
  api_.write(foreign("other", "2000-01-01T00:00:00.000000Z"));
  auto a = elector("a");
  a->tick();
  EXPECT_FALSE(a->isLeader());
  clock_.advance(14s);
  a->tick();
  EXPECT_FALSE(a->isLeader());
  EXPECT_EQ(api_.updates, 0);
  clock_.advance(1s);
  a->tick();
  EXPECT_TRUE(a->isLeader());
  EXPECT_EQ(api_.spec()["holderIdentity"], "a");
  EXPECT_EQ(api_.spec()["leaseTransitions"], 5);
  EXPECT_EQ(api_.spec()["acquireTime"], "2027-01-15T08:00:15.000000Z");
}

TEST_F(LeaderElectionDecisions, ARenewTimeInTheFutureDoesNotKeepADeadHolder) {
  api_.write(foreign("other", "2100-01-01T00:00:00.000000Z"));
  auto a = elector("a");
  a->tick();
  clock_.advance(16s);
  a->tick();
  EXPECT_TRUE(a->isLeader());
}

TEST_F(LeaderElectionDecisions, AForeignLeaseThatIsRenewedIsNeverTaken) {
  auto a = elector("a");
  for (int second = 0; second < 120; ++second) {
    if (second % 5 == 0)  // renewed every 5 s, with a clock far behind ours
      api_.write(foreign("other", "2000-01-01T00:00:" + std::to_string(10 + second % 50) + ".000000Z"));
    a->tick();
    ASSERT_FALSE(a->isLeader()) << "after " << second << " s";
    clock_.advance(1s);
  }
  EXPECT_EQ(api_.updates, 0);
  EXPECT_EQ(api_.spec()["holderIdentity"], "other");
}

TEST_F(LeaderElectionDecisions, AReleasedLeaseIsTakenAtOnce) {
  json released = foreign("", "2027-01-15T08:00:00.000000Z");
  released["leaseDurationSeconds"] = 1;
  api_.write(released);
  auto a = elector("a");
  a->tick();
  EXPECT_TRUE(a->isLeader());
}

TEST_F(LeaderElectionDecisions, LosingTheRaceForTheLeaseIsNoLeadership) {
  api_.write(foreign("", "2027-01-15T08:00:00.000000Z"));
  api_.conflictNext = true;
  auto a = elector("a");
  EXPECT_FALSE(a->tryAcquireOrRenew());
  a->tick();
  EXPECT_TRUE(a->isLeader());  // the next round reads the new record and takes it
}

TEST_F(LeaderElectionDecisions, FailedRenewalsEndLeadershipAfterTheRenewDeadline) {
  auto a = elector("a");
  a->tick();
  ASSERT_TRUE(a->isLeader());
  api_.down = true;
  for (int i = 0; i < 4; ++i) {
    clock_.advance(2s);
    a->tick();
  }
  EXPECT_TRUE(a->isLeader());  // 8 s without a renewal: still within the 10 s deadline
  EXPECT_EQ(stopped_, 0);
  clock_.advance(2s);
  EXPECT_FALSE(a->isLeader());  // at once, before the elector's next round notices
  a->tick();
  EXPECT_EQ(stopped_, 1);
  EXPECT_EQ(api_.spec()["holderIdentity"], "a");  // nobody else took it: when the API is back, a leads again
  api_.down = false;
  clock_.advance(2s);
  a->tick();
  EXPECT_TRUE(a->isLeader());
  EXPECT_EQ(started_, 2);
}

TEST_F(LeaderElectionDecisions, SeeingAnotherHolderEndsLeadershipAtOnce) {
  auto a = elector("a");
  a->tick();
  ASSERT_TRUE(a->isLeader());
  api_.write(foreign("b", "2027-01-15T08:00:01.000000Z"));
  clock_.advance(2s);
  a->tick();
  EXPECT_FALSE(a->isLeader());
  EXPECT_EQ(stopped_, 1);
  EXPECT_EQ(api_.spec()["holderIdentity"], "b");
}

TEST_F(LeaderElectionDecisions, StoppingReleasesTheLeaseUnlessToldNotTo) {
  auto a = elector("a");
  a->tick();
  a->stop();
  EXPECT_EQ(stopped_, 1);
  EXPECT_FALSE(a->isLeader());
  EXPECT_EQ(api_.spec()["holderIdentity"], "");
  EXPECT_EQ(api_.spec()["leaseDurationSeconds"], 1);

  auto o = options("b");
  o.releaseOnStop = false;
  auto b = elector("b", o);
  b->tick();
  ASSERT_TRUE(b->isLeader());
  b->stop();
  EXPECT_EQ(stopped_, 2);
  EXPECT_EQ(api_.spec()["holderIdentity"], "b");
}

TEST_F(LeaderElectionDecisions, TheLeaseDurationIsWrittenInWholeSecondsRoundedUp) {
  auto o = options("a");
  o.leaseDuration = 1500ms;
  o.renewDeadline = 1s;
  auto a = elector("a", o);
  a->tick();
  EXPECT_EQ(api_.spec()["leaseDurationSeconds"], 2);
}

// --- against a real kube-apiserver -------------------------------------------

class LeaderElectionIntegration : public kubeclient::testing::ClusterTest {
 protected:
  LeaderElectionOptions options(const std::string& identity) const {
    LeaderElectionOptions o;
    o.leaseNamespace = namespace_;
    o.leaseName = "revoca-leader";
    o.identity = identity;
    o.leaseDuration = 2s;
    o.renewDeadline = 1500ms;
    o.retryPeriod = 200ms;
    return o;
  }
  std::string holder() const {
    auto lease = client_->get(leases(namespace_, "revoca-leader"));
    return lease.ok() ? (*lease.value)["spec"].value("holderIdentity", "") : "";
  }
  // Holds for `period`, polling: `done` never becomes true.
  template <typename Predicate>
  static bool never(Predicate done, std::chrono::milliseconds period) {
    auto end = std::chrono::steady_clock::now() + period;
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }
  SystemClock clock_;
};

TEST_F(LeaderElectionIntegration, OneLeadsTheOtherWaitsAndTakesOverAtOnceOnRelease) {
  std::atomic<int> aStarted{0}, aStopped{0}, bStarted{0};
  LeaderElector a(*client_, clock_, options("a"), {[&] { ++aStarted; }, [&] { ++aStopped; }});
  a.start();
  ASSERT_TRUE(eventually([&] { return a.isLeader(); }));
  EXPECT_EQ(holder(), "a");

  LeaderElector b(*client_, clock_, options("b"), {[&] { ++bStarted; }, {}});
  b.start();
  // Longer than the lease: a renews it, so b never takes it.
  EXPECT_TRUE(never([&] { return b.isLeader(); }, 3s));
  EXPECT_TRUE(a.isLeader());
  EXPECT_EQ(holder(), "a");

  auto released = std::chrono::steady_clock::now();
  a.stop();  // releases the Lease
  EXPECT_EQ(aStopped.load(), 1);
  EXPECT_FALSE(a.isLeader());
  ASSERT_TRUE(eventually([&] { return b.isLeader(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - released, 1s);  // a retry period, not a lease duration
  EXPECT_EQ(holder(), "b");
  EXPECT_EQ(aStarted.load(), 1);
  EXPECT_EQ(bStarted.load(), 1);
  b.stop();
}

TEST_F(LeaderElectionIntegration, ALeaderThatDiesWithoutReleasingIsSucceededAfterTheLeaseDuration) {
  auto dying = options("dying");
  dying.releaseOnStop = false;  // as if the process were killed: the Lease just stops being renewed
  LeaderElector a(*client_, clock_, dying, {});
  a.start();
  ASSERT_TRUE(eventually([&] { return a.isLeader(); }));
  LeaderElector b(*client_, clock_, options("successor"), {});
  b.start();
  std::this_thread::sleep_for(500ms);  // b has seen a's renewals
  EXPECT_FALSE(b.isLeader());

  auto died = std::chrono::steady_clock::now();
  a.stop();
  EXPECT_EQ(holder(), "dying");
  ASSERT_TRUE(eventually([&] { return b.isLeader(); }));
  auto waited = std::chrono::steady_clock::now() - died;
  EXPECT_GE(waited, 1500ms);  // the 2 s lease, from b's last sight of a renewal
  EXPECT_LT(waited, 4s);
  EXPECT_EQ(holder(), "successor");
  b.stop();
}

TEST_F(LeaderElectionIntegration, AForeignLeaseThatIsRenewedIsNeverTaken) {
  // Another holder whose clock is far behind: only the changes count.
  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "revoca-leader"}, {"namespace", namespace_}}},
                {"spec",
                 {{"holderIdentity", "other"},
                  {"leaseDurationSeconds", 2},
                  {"renewTime", "2000-01-01T00:00:00.000000Z"},
                  {"acquireTime", "2000-01-01T00:00:00.000000Z"}}}};
  ASSERT_TRUE(client_->create(leases(namespace_), lease).ok());
  std::atomic<bool> renewing{true};
  std::thread other([&] {
    for (int n = 1; renewing; ++n) {
      auto current = client_->get(leases(namespace_, "revoca-leader"));
      if (current.ok() && (*current.value)["spec"].value("holderIdentity", "") == "other") {
        char renewTime[40];
        std::snprintf(renewTime, sizeof renewTime, "2000-01-01T00:00:00.%06dZ", n);
        (*current.value)["spec"]["renewTime"] = renewTime;
        (void)client_->update(leases(namespace_, "revoca-leader"), *current.value);
      }
      std::this_thread::sleep_for(500ms);
    }
  });

  LeaderElector b(*client_, clock_, options("b"), {});
  b.start();
  EXPECT_TRUE(never([&] { return b.isLeader(); }, 5s));
  EXPECT_EQ(holder(), "other");

  renewing = false;
  other.join();
  auto stopped = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return b.isLeader(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - stopped, 1s);
  EXPECT_EQ(holder(), "b");
  b.stop();
}

}  // namespace
}  // namespace revoca::kubernetes
