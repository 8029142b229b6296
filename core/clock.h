#pragma once
// Time comes from an injected clock everywhere a decision depends on it,
// so tests can move it.
#include <chrono>

namespace revoca {

using TimePoint = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

inline std::int64_t toUnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<Seconds>(t.time_since_epoch()).count();
}
inline TimePoint fromUnixSeconds(std::int64_t s) { return TimePoint(Seconds(s)); }

}  // namespace revoca
