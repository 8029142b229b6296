#include "responder/http_cache.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>

namespace revoca::responder {

std::string formatHttpDate(TimePoint t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t seconds = static_cast<std::time_t>(toUnixSeconds(t));
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
    return "Thu, 01 Jan 1970 00:00:00 GMT";
  }
  char out[32];
  std::snprintf(out, sizeof out, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
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
