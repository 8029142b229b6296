#pragma once
// Leader election on a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection package does it: take the Lease when it is free or its
// holder has not renewed it for leaseDuration (measured on our own clock
// from when we saw the record last change, never trusting a remote clock),
// renew every retryPeriod, and give up leading when renewals have failed
// for renewDeadline or another holder is seen. On stop, a leader releases
// the Lease so a successor takes over at once.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "kubeclient/api_client.h"

namespace revoca::kubernetes {

struct LeaderElectionOptions {
  std::string leaseNamespace = "default";
  std::string leaseName = "revoca-leader";
  std::string identity;  // "": hostname + "_" + random suffix
  // client-go's defaults. renewDeadline must be shorter than leaseDuration:
  // a leader gives up before the others may take the Lease.
  std::chrono::milliseconds leaseDuration = std::chrono::seconds(15);  // written in whole seconds, rounded up
  std::chrono::milliseconds renewDeadline = std::chrono::seconds(10);
  std::chrono::milliseconds retryPeriod = std::chrono::seconds(2);
  // client-go's ReleaseOnCancel. Off, stop() just stops renewing, as if the
  // process had died, and the others wait for the Lease to expire.
  bool releaseOnStop = true;
};

struct LeaderCallbacks {
  // Both are called from the elector's thread and must be quick (set a
  // flag, wake a loop): the Lease is not renewed while they run.
  std::function<void()> onStartedLeading;
  std::function<void()> onStoppedLeading;
};

class LeaderElector {
 public:
  LeaderElector(kubeclient::ApiClient& api, const Clock& clock, LeaderElectionOptions options, LeaderCallbacks callbacks);
  ~LeaderElector();  // stop()
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Runs the election on a thread of its own: tick() every retryPeriod.
  void start();
  // Ends the election at once; a leader calls onStoppedLeading and then,
  // with releaseOnStop, releases the Lease.
  void stop();
  // False as soon as the last renewal is older than renewDeadline, even
  // before the elector's thread has noticed (a renewal may hang).
  bool isLeader() const;
  const std::string& identity() const { return options_.identity; }

  // One round: tryAcquireOrRenew(), then start or stop leading. start()'s
  // thread calls it; tests drive it with a fake clock instead of start().
  void tick();
  // One attempt to take or renew the Lease; true when we hold it afterwards.
  bool tryAcquireOrRenew();

 private:
  void run();
  void startLeading();
  void stopLeading(bool release);
  void release();
  void logFailure(const std::string& what, const kubeclient::ApiError& error);
  nlohmann::json leaseSpec(const nlohmann::json& previous) const;
  std::chrono::milliseconds nextDelay() const;

  kubeclient::ApiClient& api_;
  const Clock& clock_;
  LeaderElectionOptions options_;
  LeaderCallbacks callbacks_;

  std::atomic<bool> leading_{false};
  std::atomic<TimePoint> lastRenew_{};  // our last successful write of the Lease
  bool heldByOther_ = false;            // the last look saw a valid Lease of another holder
  nlohmann::json observedRecord_;       // the Lease spec as last seen
  TimePoint observedTime_{};            // when, on our clock, it was last seen to change
  std::string lastFailure_;             // logged at warn once, until an attempt succeeds

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// "2026-11-27T01:02:03.000123Z": a MicroTime (Lease renewTime and acquireTime, Event eventTime).
std::string formatMicroTime(TimePoint time);

}  // namespace revoca::kubernetes
