#include "pki/der.h"

#include <chrono>

namespace revoca::pki::der {

void appendTlv(std::string& out, unsigned char tag, std::string_view content) {
  out += static_cast<char>(tag);
  std::size_t length = content.size();
  if (length < 0x80) {
    out += static_cast<char>(length);
  } else {
    // Long form: 0x80 | number of length octets, then the length big-endian.
    int octets = 0;
    for (std::size_t l = length; l != 0; l >>= 8) ++octets;
    out += static_cast<char>(0x80 | octets);
    for (int i = octets - 1; i >= 0; --i) out += static_cast<char>((length >> (8 * i)) & 0xFF);
  }
  out.append(content);
}

std::string tlv(unsigned char tag, std::string_view content) {
  std::string out;
  out.reserve(content.size() + 6);
  appendTlv(out, tag, content);
  return out;
}

namespace {

void appendDigits(std::string& out, int value, int width) {
  char digits[4];
  for (int i = width - 1; i >= 0; --i, value /= 10) digits[i] = static_cast<char>('0' + value % 10);
  out.append(digits, static_cast<std::size_t>(width));
}

// UTCTime "YYMMDDHHMMSSZ" or GeneralizedTime "YYYYMMDDHHMMSSZ". Calendar
// arithmetic, not gmtime_r, which takes a process-wide lock per call.
void appendTimeAs(std::string& out, TimePoint t, bool utc) {
  using namespace std::chrono;
  auto seconds = floor<std::chrono::seconds>(t);
  auto day = floor<days>(seconds);
  year_month_day date(day);
  hh_mm_ss<std::chrono::seconds> clock(seconds - day);
  int year = static_cast<int>(date.year());
  out += static_cast<char>(utc ? kUtcTime : kGeneralizedTime);
  out += static_cast<char>(utc ? 13 : 15);
  appendDigits(out, utc ? year % 100 : year, utc ? 2 : 4);
  appendDigits(out, static_cast<int>(static_cast<unsigned>(date.month())), 2);
  appendDigits(out, static_cast<int>(static_cast<unsigned>(date.day())), 2);
  appendDigits(out, static_cast<int>(clock.hours().count()), 2);
  appendDigits(out, static_cast<int>(clock.minutes().count()), 2);
  appendDigits(out, static_cast<int>(clock.seconds().count()), 2);
  out += 'Z';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return 0;
}

}  // namespace

void appendTime(std::string& out, TimePoint t) {
  int year = static_cast<int>(
      std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(t)).year());
  appendTimeAs(out, t, year >= 1950 && year < 2050);
}

void appendGeneralizedTime(std::string& out, TimePoint t) { appendTimeAs(out, t, false); }

std::string time(TimePoint t) {
  std::string out;
  appendTime(out, t);
  return out;
}

std::string generalizedTime(TimePoint t) {
  std::string out;
  appendGeneralizedTime(out, t);
  return out;
}

std::string integerContent(const std::string& hex) {
  std::string bytes;
  std::size_t i = 0;
  if (hex.size() % 2 == 1) bytes += static_cast<char>(hexValue(hex[i++]));
  for (; i + 1 < hex.size(); i += 2) {
    bytes += static_cast<char>(hexValue(hex[i]) << 4 | hexValue(hex[i + 1]));
  }
  if (bytes.empty() || (static_cast<unsigned char>(bytes[0]) & 0x80)) bytes.insert(0, 1, '\0');
  return bytes;
}

namespace {

std::optional<Element> readElement(std::string_view der, std::size_t at, bool strict) {
  if (at + 2 > der.size()) return std::nullopt;
  Element element;
  element.tag = static_cast<unsigned char>(der[at]);
  std::size_t length = static_cast<unsigned char>(der[at + 1]);
  std::size_t pos = at + 2;
  if (length & 0x80) {
    std::size_t octets = length & 0x7F;
    if (octets == 0 || octets > sizeof(std::size_t) || pos + octets > der.size()) {
      return std::nullopt;
    }
    if (strict && der[pos] == 0) return std::nullopt;  // a leading zero octet
    length = 0;
    for (std::size_t i = 0; i < octets; ++i) {
      length = length << 8 | static_cast<unsigned char>(der[pos++]);
    }
    if (strict && length < 0x80) return std::nullopt;  // the short form was due
  }
  if (length > der.size() - pos) return std::nullopt;
  element.contentStart = pos;
  element.end = pos + length;
  return element;
}

}  // namespace

std::optional<Element> read(std::string_view der, std::size_t at) { return readElement(der, at, false); }
std::optional<Element> readStrict(std::string_view der, std::size_t at) { return readElement(der, at, true); }

}  // namespace revoca::pki::der
