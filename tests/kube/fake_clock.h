#pragma once
#include <atomic>
#include <chrono>

#include "core/clock.h"

namespace revoca::kube::testing {

class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return now_.load(); }
  void advance(std::chrono::milliseconds step) { now_ = now_.load() + step; }

 private:
  std::atomic<TimePoint> now_{TimePoint(std::chrono::seconds(1'800'000'000))};
};

}  // namespace revoca::kube::testing
