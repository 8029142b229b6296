#include "kubernetes/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "kubernetes/names.h"
#include "tests/kube/cluster_fixture.h"

namespace revoca::kubernetes {
namespace {

using namespace std::chrono_literals;

TEST(LeaderElection, MicroTimeHasSixFractionDigits) {
  TimePoint time = fromUnixSeconds(1800000000) + std::chrono::microseconds(1234);
  EXPECT_EQ(formatMicroTime(time), "2027-01-15T08:00:00.001234Z");
}

class LeaderElectionIntegration : public kube::testing::ClusterTest {
 protected:
  LeaderElectionOptions options(const std::string& identity) const {
    LeaderElectionOptions o;
    o.leaseNamespace = namespace_;
    o.leaseName = "revoca-leader";
    o.identity = identity;
    o.leaseDuration = 2s;
    o.renewDeadline = 1s;  // shorter than the lease, as client-go requires
    o.retryPeriod = 1s;
    return o;
  }
  std::string holder() const {
    auto lease = client_->get(leases(namespace_, "revoca-leader"));
    return lease.ok() ? (*lease.value)["spec"].value("holderIdentity", "") : "";
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
  std::this_thread::sleep_for(3s);  // longer than the lease: a renews it, so b never takes it
  EXPECT_FALSE(b.isLeader());
  EXPECT_EQ(holder(), "a");

  auto released = std::chrono::steady_clock::now();
  a.stop();  // releases the Lease
  EXPECT_EQ(aStopped.load(), 1);
  ASSERT_TRUE(eventually([&] { return b.isLeader(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - released, 2500ms);  // a retry period, not a lease duration
  EXPECT_EQ(holder(), "b");
  EXPECT_EQ(aStarted.load(), 1);
  EXPECT_EQ(bStarted.load(), 1);
  b.stop();
}

TEST_F(LeaderElectionIntegration, ALeaseNobodyRenewsIsTakenAfterItsDuration) {
  // A holder that died without releasing: its last renewal stays in the Lease.
  LeaderElector dead(*client_, clock_, options("dead"), {});
  ASSERT_TRUE(dead.tryAcquireOrRenew());
  LeaderElector successor(*client_, clock_, options("successor"), {});
  EXPECT_FALSE(successor.tryAcquireOrRenew());  // first sight: the successor starts its own clock
  auto seen = std::chrono::steady_clock::now();
  successor.start();
  ASSERT_TRUE(eventually([&] { return successor.isLeader(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - seen, 1900ms);
  EXPECT_EQ(holder(), "successor");
  successor.stop();
}

}  // namespace
}  // namespace revoca::kubernetes
