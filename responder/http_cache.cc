#include "responder/http_cache.h"

#include <algorithm>
#include <chrono>
#include <array>
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

namespace {

// The length mixed in (splitmix64 finaliser), so equal hashed bytes of
// bodies of different lengths still differ.
std::uint64_t withLength(std::uint64_t h, std::size_t size) {
  h += static_cast<std::uint64_t>(size) * 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

// A CRL of 100,000 revocations is megabytes and is served at high rates, so
// hashing it whole on every request would dominate the cost of answering. A
// signed document (or its PEM) has its signature in its last few hundred
// bytes, and that changes whenever any signed byte does; the length plus the
// last 4 KiB therefore identify it. Smaller bodies, which covers OCSP replies
// and the texts, are hashed in full.
std::uint64_t bodyHash(std::string_view body) {
  constexpr std::size_t kTail = 4096;
  std::string_view tail = body.size() > kTail ? body.substr(body.size() - kTail) : body;
  return withLength(std::hash<std::string_view>{}(tail), body.size());
}

void appendHex(std::string& out, std::uint64_t h) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) out += kHex[(h >> (4 * i)) & 0xf];
}

}  // namespace

std::string entityTag(std::string_view body) {
  std::string tag = "\"";
  appendHex(tag, bodyHash(body));
  return tag += '"';
}

std::string entityTag(std::string_view label, std::string_view body) {
  std::string tag = "\"";
  tag.append(label).append("-");
  appendHex(tag, bodyHash(body));
  return tag += '"';
}

std::string entityTagOfEveryByte(std::string_view body) {
  std::string tag = "\"";
  appendHex(tag, withLength(std::hash<std::string_view>{}(body), body.size()));
  return tag += '"';
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

namespace {

constexpr std::array<std::string_view, 7> kDayNames{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDayNames{"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                         "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonthNames{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Each take* consumes what it reads from the front of `text`, and only on success.
bool take(std::string_view& text, std::string_view literal) {
  if (!text.starts_with(literal)) return false;
  text.remove_prefix(literal.size());
  return true;
}

bool takeDigits(std::string_view& text, std::size_t width, int& out) {
  if (text.size() < width) return false;
  int value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  text.remove_prefix(width);
  out = value;
  return true;
}

// The names are case-sensitive in RFC 9110's grammar.
template <std::size_t N>
bool takeName(std::string_view& text, const std::array<std::string_view, N>& names, int& index) {
  for (std::size_t i = 0; i < N; ++i)
    if (take(text, names[i])) {
      index = static_cast<int>(i);
      return true;
    }
  return false;
}

// time-of-day = hour ":" minute ":" second (second 60: a leap second).
bool takeTime(std::string_view& text, int& secondOfDay) {
  int hour = 0, minute = 0, second = 0;
  if (!takeDigits(text, 2, hour) || !take(text, ":") || !takeDigits(text, 2, minute) || !take(text, ":") ||
      !takeDigits(text, 2, second) || hour > 23 || minute > 59 || second > 60)
    return false;
  secondOfDay = hour * 3600 + minute * 60 + second;
  return true;
}

// RFC 9110: a two-digit year more than 50 years ahead is the latest past year
// with those digits.
int fullYear(int twoDigits, TimePoint now) {
  int current = static_cast<int>(std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(now)}.year());
  int year = current - current % 100 + twoDigits;
  return year > current + 50 ? year - 100 : year;
}

std::optional<TimePoint> civilTime(int year, int monthIndex, int day, int secondOfDay) {
  // TimePoint counts nanoseconds, which reach from 1678 to 2262.
  if (year < 1900 || year > 2200) return std::nullopt;
  std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(monthIndex + 1)},
                                   std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  return TimePoint(std::chrono::sys_days(date)) + Seconds(secondOfDay);
}

}  // namespace

std::optional<TimePoint> parseHttpDate(std::string_view text, TimePoint now) {
  int weekday = 0, day = 0, month = 0, year = 0, secondOfDay = 0;
  if (takeName(text, kLongDayNames, weekday)) {
    // rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT
    if (!take(text, ", ") || !takeDigits(text, 2, day) || !take(text, "-") || !takeName(text, kMonthNames, month) ||
        !take(text, "-") || !takeDigits(text, 2, year) || !take(text, " ") || !takeTime(text, secondOfDay) ||
        text != " GMT")
      return std::nullopt;
    year = fullYear(year, now);
  } else if (!takeName(text, kDayNames, weekday)) {
    return std::nullopt;
  } else if (take(text, ", ")) {
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    if (!takeDigits(text, 2, day) || !take(text, " ") || !takeName(text, kMonthNames, month) || !take(text, " ") ||
        !takeDigits(text, 4, year) || !take(text, " ") || !takeTime(text, secondOfDay) || text != " GMT")
      return std::nullopt;
  } else {
    // asctime-date: Sun Nov  6 08:49:37 1994
    if (!take(text, " ") || !takeName(text, kMonthNames, month) || !take(text, " ") ||
        !(take(text, " ") ? takeDigits(text, 1, day) : takeDigits(text, 2, day)) || !take(text, " ") ||
        !takeTime(text, secondOfDay) || !take(text, " ") || !takeDigits(text, 4, year) || !text.empty())
      return std::nullopt;
  }
  return civilTime(year, month, day, secondOfDay);
}

bool notModifiedSince(std::string_view ifModifiedSince, TimePoint lastModified, TimePoint now) {
  std::optional<TimePoint> date = parseHttpDate(ifModifiedSince, now);
  // A date after now is none this server sent as Last-Modified: the full
  // answer is the safe side.
  return date && *date <= now && lastModified <= *date;
}

}  // namespace revoca::responder
