#pragma once
// RFC 3339 timestamps for status and revocactl output ("2026-11-26T21:29:02Z").
#include <ctime>
#include <string>

#include "core/clock.h"

namespace revoca {

inline std::string formatTimestamp(TimePoint time) {
  std::time_t seconds = static_cast<std::time_t>(toUnixSeconds(time));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace revoca
