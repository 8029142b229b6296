#pragma once
// The wait between an informer's failed attempts, as client-go's reflector
// does it (wait.NewExponentialBackoffManager(800ms, 30s, 2min, 2.0, 1.0)):
// 0.8 s doubling to 30 s, each wait stretched by up to `jitter` (100%) so
// that many informers failing together do not retry together, and back to
// 0.8 s once two minutes pass without a failure.
#include <chrono>
#include <functional>

#include "core/clock.h"

namespace revoca::kubeclient {

struct ReflectorBackoffPolicy {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds cap{std::chrono::seconds(30)};
  std::chrono::milliseconds resetAfter{std::chrono::minutes(2)};
  double jitter = 1.0;
};

class ReflectorBackoff {
 public:
  // `random` returns a number in [0, 1); the default is a seeded generator.
  ReflectorBackoff(const Clock& clock, ReflectorBackoffPolicy policy = {}, std::function<double()> random = {});

  // How long to wait before the next attempt; each call counts as a failure.
  std::chrono::milliseconds next();
  // The server answered well (a watch brought events): the next failure waits `initial` again.
  void reset() { failedBefore_ = false; }

 private:
  const Clock& clock_;
  ReflectorBackoffPolicy policy_;
  std::function<double()> random_;
  std::chrono::milliseconds step_;
  TimePoint lastFailure_{};
  bool failedBefore_ = false;
};

}  // namespace revoca::kubeclient
