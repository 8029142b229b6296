#pragma once
// A clock the test sets and moves by hand. Other threads read it while the
// test moves it (the responder's server, the kube informers), so the time is
// one atomic count of the system clock's ticks.
#include <atomic>
#include <chrono>

#include "core/clock.h"

namespace revoca::testing {

// The wall clock's now in whole seconds. Certificates carry whole seconds, so
// times read back from them compare equal to a FakeClock started here, and
// OpenSSL, which checks them against the real time, accepts them.
inline TimePoint nowSeconds() { return std::chrono::time_point_cast<Seconds>(std::chrono::system_clock::now()); }

class FakeClock final : public Clock {
 public:
  // 2027-01-15T08:00:00Z: the times a test prints are the same every run.
  static constexpr TimePoint kDefaultStart{Seconds(1'800'000'000)};

  explicit FakeClock(TimePoint start = kDefaultStart) : ticks_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(TimePoint::duration(ticks_.load())); }
  void set(TimePoint t) { ticks_ = t.time_since_epoch().count(); }
  void advance(TimePoint::duration by) { ticks_ += by.count(); }

 private:
  std::atomic<TimePoint::rep> ticks_;
};

}  // namespace revoca::testing
