#pragma once
// Durations as declarations write them ("1y350d", "30d", "5m", "5s", "12h"),
// also Go style ("720h", "1h30m"). A year is 365 days, a week 7 days.
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace revoca {

// The longest duration accepted: a time point is nanoseconds in 64 bits
// (it ends in 2262), so now + a few hundred years overflows; no certificate
// lifetime or interval needs more than a century.
inline constexpr Seconds kMaxDuration{100LL * 365 * 86400};

// Fails for anything above kMaxDuration, naming it "100y".
Result<Seconds> parseDuration(std::string_view text);

// The shortest spelling in that syntax, e.g. 90061s -> "1d1h1m1s"; used in status.
std::string formatDuration(Seconds duration);

}  // namespace revoca
