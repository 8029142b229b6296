#include "kubeclient/backoff.h"

#include <algorithm>
#include <memory>
#include <random>

namespace revoca::kubeclient {

ReflectorBackoff::ReflectorBackoff(const Clock& clock, ReflectorBackoffPolicy policy, std::function<double()> random)
    : clock_(clock), policy_(policy), random_(std::move(random)), step_(policy.initial) {
  if (!random_) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    random_ = [engine]() { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
}

std::chrono::milliseconds ReflectorBackoff::next() {
  TimePoint now = clock_.now();
  if (!failedBefore_ || now - lastFailure_ > policy_.resetAfter) step_ = policy_.initial;
  failedBefore_ = true;
  lastFailure_ = now;
  std::chrono::milliseconds wait = step_;
  step_ = std::min(step_ * 2, policy_.cap);
  auto jitter = std::chrono::milliseconds(static_cast<std::int64_t>(random_() * policy_.jitter * wait.count()));
  return wait + jitter;
}

}  // namespace revoca::kubeclient
