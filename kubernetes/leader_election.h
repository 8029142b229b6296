#pragma once
// Leader election on a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection package does it: take the Lease when it is free or its
// holder has not renewed it for leaseDuration (measured on our own clock
// from when we saw the record last change, never trusting a remote clock),
// renew every retryPeriod, and give up leading when renewals have failed
// for renewDeadline. On stop, a leader releases the Lease so a successor
// takes over at once.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "kube/api_client.h"

namespace revoca::kubernetes {

struct LeaderElectionOptions {
  std::string leaseNamespace = "default";
  std::string leaseName = "revoca-leader";
  std::string identity;  // "" : hostname + "_" + random suffix
  std::chrono::seconds leaseDuration{15};
  std::chrono::seconds renewDeadline{10};
  std::chrono::seconds retryPeriod{2};
};

struct LeaderCallbacks {
  std::function<void()> onStartedLeading;  // called from the elector's thread
  std::function<void()> onStoppedLeading;
};

class LeaderElector {
 public:
  LeaderElector(kube::ApiClient& api, const Clock& clock, LeaderElectionOptions options, LeaderCallbacks callbacks);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void start();
  // Stops electing; a leader releases the Lease first.
  void stop();
  bool isLeader() const { return leading_.load(); }
  const std::string& identity() const { return options_.identity; }

  // One attempt to take or renew the Lease; true when we hold it afterwards.
  bool tryAcquireOrRenew();

 private:
  void run();
  void release();
  nlohmann::json leaseSpec(const nlohmann::json& previous, bool newHolder) const;

  kube::ApiClient& api_;
  const Clock& clock_;
  LeaderElectionOptions options_;
  LeaderCallbacks callbacks_;

  std::atomic<bool> leading_{false};
  nlohmann::json observedRecord_;  // the Lease spec as last seen
  TimePoint observedTime_{};       // when, on our clock, it was last seen to change

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// "2026-11-27T01:02:03.000000Z": the MicroTime of Lease renewTime and acquireTime.
std::string formatMicroTime(TimePoint time);

}  // namespace revoca::kubernetes
