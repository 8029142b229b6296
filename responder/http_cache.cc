#include "responder/http_cache.h"

#include <algorithm>
#include <chrono>
#include <functional>

namespace revoca::responder {

// Every OCSP answer carries three of these; gmtime_r takes the time zone's
// lock and snprintf parses its format, which together were 14% of the
// instructions of a cached answer. The civil date is plain arithmetic.
std::string formatHttpDate(TimePoint t) {
  static constexpr char kDays[] = "SunMonTueWedThuFriSat";
  static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  using std::chrono::days;
  auto seconds = std::chrono::floor<Seconds>(t);
  auto day = std::chrono::floor<days>(seconds);
  std::chrono::year_month_day date{day};
  int year = static_cast<int>(date.year());
  if (year < 0 || year > 9999) return "Thu, 01 Jan 1970 00:00:00 GMT";
  auto secondOfDay = static_cast<unsigned>((seconds - day).count());
  unsigned weekday = std::chrono::weekday{day}.c_encoding();
  unsigned month = static_cast<unsigned>(date.month()) - 1;

  std::string out = "Thu, 01 Jan 1970 00:00:00 GMT";  // overwritten field by field
  auto two = [&out](std::size_t at, unsigned value) {
    out[at] = static_cast<char>('0' + value / 10);
    out[at + 1] = static_cast<char>('0' + value % 10);
  };
  out.replace(0, 3, kDays + 3 * weekday, 3);
  two(5, static_cast<unsigned>(date.day()));
  out.replace(8, 3, kMonths + 3 * month, 3);
  two(12, static_cast<unsigned>(year) / 100);
  two(14, static_cast<unsigned>(year) % 100);
  two(17, secondOfDay / 3600);
  two(20, secondOfDay / 60 % 60);
  two(23, secondOfDay % 60);
  return out;
}

std::int64_t secondsUntil(TimePoint now, TimePoint until) {
  if (until <= now) return 0;
  return std::chrono::duration_cast<Seconds>(until - now).count();
}

// A CRL of 100,000 revocations is megabytes and is served at high rates, so
// hashing it whole on every request would dominate the cost of answering. Every
// body the responder serves is a signed document (or its PEM) whose signature
// sits in its last few hundred bytes and changes whenever any signed byte does;
// the length plus the last 4 KiB therefore identify the body. Smaller bodies,
// which covers OCSP replies and the texts, are hashed in full.
std::string entityTag(std::string_view body) {
  constexpr std::size_t kTail = 4096;
  std::string_view tail = body.size() > kTail ? body.substr(body.size() - kTail) : body;
  std::uint64_t h = std::hash<std::string_view>{}(tail);
  // Mix the length in (splitmix64 finaliser) so equal tails of different
  // documents still differ.
  h += static_cast<std::uint64_t>(body.size()) * 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag(18, '"');
  for (int i = 0; i < 16; ++i) tag[16 - i] = kHex[(h >> (4 * i)) & 0xf];
  return tag;
}

bool ifNoneMatchHits(std::string_view header, std::string_view etag) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view item = header.substr(pos, comma - pos);
    pos = comma + 1;
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*") return true;
    // If-None-Match uses the weak comparison (RFC 9110 section 13.1.2).
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag) return true;
  }
  return false;
}

}  // namespace revoca::responder
