#include "core/duration.h"

#include <cctype>
#include <cstdint>
#include <limits>

#include "core/text.h"

namespace revoca {
namespace {

std::int64_t unitSeconds(std::string_view unit) {
  if (unit == "y") return 365LL * 86400;
  if (unit == "w") return 7LL * 86400;
  if (unit == "d") return 86400;
  if (unit == "h") return 3600;
  if (unit == "m") return 60;
  if (unit == "s") return 1;
  return 0;
}

Error badDuration(std::string_view text, const std::string& why) {
  return makeError("invalid duration " + quotedText(text) + ": " + why +
                   "; write it like 1y350d, 30d, 12h, 5m, 5s or 720h");
}

}  // namespace

Result<Seconds> parseDuration(std::string_view text) {
  if (text.empty()) return badDuration(text, "it is empty");
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t digitsStart = i;
    std::int64_t number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (number > (std::numeric_limits<std::int64_t>::max() - 9) / 10)
        return badDuration(text, "it is too large");
      number = number * 10 + (text[i] - '0');
      ++i;
    }
    if (i == digitsStart) return badDuration(text, "expected a number at " + quotedText(text.substr(i)));
    std::size_t unitStart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unitStart, i - unitStart);
    if (unit.empty()) return badDuration(text, "the number " + std::to_string(number) + " has no unit (y, w, d, h, m or s)");
    std::int64_t scale = unitSeconds(unit);
    if (scale == 0) return badDuration(text, "unknown unit " + quotedText(unit) + " (use y, w, d, h, m or s)");
    if (number > (std::numeric_limits<std::int64_t>::max() - total) / scale)
      return badDuration(text, "it is too large");
    total += number * scale;
    if (total > kMaxDuration.count())
      return badDuration(text, "it is longer than " + formatDuration(kMaxDuration) + ", the longest revoca accepts");
  }
  return Seconds(total);
}

std::string formatDuration(Seconds duration) {
  std::int64_t count = duration.count();
  if (count == 0) return "0s";
  std::string out = count < 0 ? "-" : "";
  // The magnitude in unsigned arithmetic: -count overflows for the most
  // negative int64 (UB, found by fuzz/duration).
  std::uint64_t left = count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
  for (const char* unit : {"y", "d", "h", "m", "s"}) {
    auto scale = static_cast<std::uint64_t>(unitSeconds(unit));
    if (left >= scale) {
      out += std::to_string(left / scale) + unit;
      left %= scale;
    }
  }
  return out;
}

}  // namespace revoca
