#include "pki/der.h"

#include <cstdio>
#include <ctime>

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

std::tm utcOf(TimePoint t) {
  std::time_t seconds = static_cast<std::time_t>(toUnixSeconds(t));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}

// UTCTime "YYMMDDHHMMSSZ" or GeneralizedTime "YYYYMMDDHHMMSSZ".
std::string formatTime(const std::tm& tm, bool utc) {
  char text[32];
  int year = tm.tm_year + 1900;
  std::snprintf(text, sizeof text, "%0*d%02d%02d%02d%02d%02dZ", utc ? 2 : 4,
                utc ? year % 100 : year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return tlv(utc ? kUtcTime : kGeneralizedTime, text);
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return 0;
}

}  // namespace

std::string time(TimePoint t) {
  std::tm tm = utcOf(t);
  int year = tm.tm_year + 1900;
  return formatTime(tm, year >= 1950 && year < 2050);
}

std::string generalizedTime(TimePoint t) { return formatTime(utcOf(t), false); }

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

std::optional<Element> read(std::string_view der, std::size_t at) {
  if (at + 2 > der.size()) return std::nullopt;
  Element element;
  element.tag = static_cast<unsigned char>(der[at]);
  std::size_t length = static_cast<unsigned char>(der[at + 1]);
  std::size_t pos = at + 2;
  if (length & 0x80) {
    std::size_t octets = length & 0x7F;
    if (octets == 0 || octets > sizeof(std::size_t) || pos + octets > der.size()) return std::nullopt;
    length = 0;
    for (std::size_t i = 0; i < octets; ++i) length = length << 8 | static_cast<unsigned char>(der[pos++]);
  }
  if (length > der.size() - pos) return std::nullopt;
  element.contentStart = pos;
  element.end = pos + length;
  return element;
}

}  // namespace revoca::pki::der
