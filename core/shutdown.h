#pragma once
// What a stop signal does to a server that a load balancer or a Kubernetes
// Service routes to. The first SIGTERM or SIGINT starts a drain: readiness
// fails at once, so the endpoints drop this replica, while the responder
// keeps answering the requests that still arrive meanwhile (kube-proxy and
// the EndpointSlice controller hear of a terminating pod only some time
// after the kubelet signals it). Once the drain is over, or at a second
// signal, the process stops. A delay of 0 stops at the first signal.
#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "core/clock.h"

namespace revoca {

// SIGINT and SIGTERM count into stopSignals() from now on.
void installStopSignals();
// How many SIGINT and SIGTERM arrived since installStopSignals().
int stopSignals();

class ShutdownSequence {
 public:
  enum class Phase { kRunning, kDraining, kStopping };

  ShutdownSequence(const Clock& clock, std::chrono::milliseconds delay) : clock_(clock), delay_(delay) {}

  // The phase, given how many stop signals arrived so far.
  Phase update(int signals) {
    if (signals <= 0 || phase_ == Phase::kStopping) return phase_;
    if (!drainStarted_) drainStarted_ = clock_.now();
    if (signals >= 2 || delay_.count() <= 0 || clock_.now() - *drainStarted_ >= delay_) phase_ = Phase::kStopping;
    else phase_ = Phase::kDraining;
    return phase_;
  }
  Phase phase() const { return phase_; }
  // Sleeps until the drain is over or a second stop signal came: the
  // responder keeps answering on its own threads meanwhile.
  void waitOutDrain() {
    while (update(stopSignals()) == Phase::kDraining)
      std::this_thread::sleep_for(std::min(remaining(), std::chrono::milliseconds(100)));
  }
  // How long the drain has still to go; zero unless draining.
  std::chrono::milliseconds remaining() const {
    if (phase_ != Phase::kDraining) return std::chrono::milliseconds(0);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*drainStarted_ + delay_ - clock_.now());
    return std::max(left, std::chrono::milliseconds(0));
  }

 private:
  const Clock& clock_;
  std::chrono::milliseconds delay_;
  Phase phase_ = Phase::kRunning;
  std::optional<TimePoint> drainStarted_;
};

}  // namespace revoca
