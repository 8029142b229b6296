// Target (d): core/duration, both ways. Any text parseDuration accepts
// formats back to the same number of seconds, and any number of seconds
// formatDuration spells parses back to itself, up to kMaxDuration (beyond
// it, parseDuration refuses it by name).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "core/duration.h"
#include "fuzz/check.h"

namespace {

void checkSpelling(revoca::Seconds duration) {
  std::string text = revoca::formatDuration(duration);
  FUZZ_CHECK(!text.empty(), "a duration formatted as nothing");
  bool negative = text.starts_with('-');
  FUZZ_CHECK(negative == (duration.count() < 0), "the sign of a formatted duration is wrong");
  // The most negative number has no positive twin to parse back to.
  if (duration.count() == std::numeric_limits<std::int64_t>::min()) return;
  auto back = revoca::parseDuration(std::string_view(text).substr(negative ? 1 : 0));
  if ((negative ? -duration : duration) > revoca::kMaxDuration) {
    FUZZ_CHECK(!back.ok() && back.error().message.find("longer than 100y") != std::string::npos,
               "a duration over the limit parsed, or was refused without saying why");
    return;
  }
  FUZZ_CHECK(back.ok(), "formatDuration wrote what parseDuration refuses");
  FUZZ_CHECK(back->count() == (negative ? -duration.count() : duration.count()),
             "formatDuration and parseDuration disagree");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = revoca::parseDuration(text);
  if (parsed) {
    FUZZ_CHECK(parsed->count() >= 0, "a negative duration parsed");
    FUZZ_CHECK(*parsed <= revoca::kMaxDuration, "a duration over the limit parsed");
    checkSpelling(*parsed);
  } else {
    FUZZ_CHECK(parsed.error().message.find("write it like") != std::string::npos,
               "a duration error that does not show the syntax");
  }
  // The same bytes as a number of seconds (status spells remaining times).
  if (size >= sizeof(std::int64_t)) {
    std::int64_t seconds;
    std::memcpy(&seconds, data, sizeof seconds);
    checkSpelling(revoca::Seconds(seconds));
  }
  return 0;
}
