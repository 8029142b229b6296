#include "declarations/values.h"

#include <cctype>
#include <charconv>
#include <chrono>

#include "declarations/url_template.h"

namespace revoca::decl {
namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `width` digits at `pos`.
bool readDigits(const std::string& text, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (!isDigit(text[i])) return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

bool parseNonNegativeInt(std::string_view text, int& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}

}  // namespace

Result<void> checkObjectName(const std::string& name) {
  const char* rule =
      "; use lowercase letters, digits and '-', starting and ending with a letter or digit, "
      "at most 63 characters (e.g. mqtt-ca)";
  if (name.empty()) return makeError("the name is empty" + std::string(rule));
  if (name.size() > 63)
    return makeError("\"" + name + "\" is " + std::to_string(name.size()) + " characters long" + rule);
  for (char c : name)
    if (!isLowerAlnum(c) && c != '-')
      return makeError("\"" + name + "\" contains '" + std::string(1, c) + "'" + rule);
  if (name.front() == '-' || name.back() == '-')
    return makeError("\"" + name + "\" starts or ends with '-'" + rule);
  return {};
}

Result<TimePoint> parseTimestamp(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return makeError("invalid timestamp \"" + text + "\": " + why +
                     "; write an RFC 3339 time like 2026-01-02T03:04:05Z");
  };
  int year, month, day, hour, minute, second;
  if (!readDigits(text, 0, 4, year) || text.size() < 19 || text[4] != '-' || !readDigits(text, 5, 2, month) ||
      text[7] != '-' || !readDigits(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't') ||
      !readDigits(text, 11, 2, hour) || text[13] != ':' || !readDigits(text, 14, 2, minute) ||
      text[16] != ':' || !readDigits(text, 17, 2, second))
    return bad("it is not in the form YYYY-MM-DDThh:mm:ss");
  std::size_t pos = 19;
  // Fractions of a second do not matter for revocation dates: skip them.
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t digitsStart = pos;
    while (pos < text.size() && isDigit(text[pos])) ++pos;
    if (pos == digitsStart) return bad("the '.' is not followed by digits");
  }
  int offsetSeconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int offsetHour, offsetMinute;
    if (!readDigits(text, pos + 1, 2, offsetHour) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !readDigits(text, pos + 4, 2, offsetMinute) || offsetHour > 23 || offsetMinute > 59)
      return bad("the time zone offset is not in the form +hh:mm");
    offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad("the time zone is missing (end with Z for UTC)");
  }
  if (pos != text.size()) return bad("unexpected \"" + text.substr(pos) + "\" at the end");

  using namespace std::chrono;
  year_month_day date{std::chrono::year(year), std::chrono::month(month), std::chrono::day(day)};
  if (!date.ok()) return bad("there is no such date");
  // TimePoint counts nanoseconds in 64 bits: it holds 1677-09-21 to 2262-04-11,
  // and converting a date outside that overflows (found by fuzz/declarations).
  if (year < 1678 || year > 2261) return bad("the year must be between 1678 and 2261");
  if (hour > 23 || minute > 59 || second > 59) return bad("there is no such time of day");
  return TimePoint(sys_days(date).time_since_epoch() + hours(hour) + minutes(minute) + Seconds(second) -
                   Seconds(offsetSeconds));
}

Result<int> parseFileMode(const std::string& text) {
  std::string digits = text;
  if (digits.rfind("0o", 0) == 0 || digits.rfind("0O", 0) == 0) digits = digits.substr(2);
  auto bad = [&](const std::string& why) {
    return makeError("invalid file mode \"" + text + "\": " + why +
                     "; write octal permissions like 0400 or 0644");
  };
  if (digits.empty() || digits.size() > 4) return bad("expected 3 or 4 octal digits");
  int mode = 0;
  for (char c : digits) {
    if (c < '0' || c > '7') return bad("'" + std::string(1, c) + "' is not an octal digit (0 to 7)");
    mode = mode * 8 + (c - '0');
  }
  // setuid, setgid and sticky bits make no sense on mounted key files.
  if (mode > 0777) return bad("only permission bits up to 0777 are allowed");
  return mode;
}

Result<FileOwnership> parseFileOwnership(const std::string& text) {
  std::size_t colon = text.find(':');
  FileOwnership ownership;
  if (colon == std::string::npos ||
      !parseNonNegativeInt(std::string_view(text).substr(0, colon), ownership.uid) ||
      !parseNonNegativeInt(std::string_view(text).substr(colon + 1), ownership.gid))
    return makeError("invalid file ownership \"" + text +
                     "\"; write numeric \"uid:gid\", e.g. \"1000:1000\" for EMQX");
  return ownership;
}

Result<void> checkBind(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return makeError("invalid bind \"" + text + "\": " + why +
                     "; write \"0.0.0.0:8883\", \"[::]:8883\" or \"8883\"");
  };
  std::size_t colon = text.rfind(':');
  std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
  std::string port = colon == std::string::npos ? text : text.substr(colon + 1);
  int portNumber = 0;
  if (!parseNonNegativeInt(port, portNumber) || portNumber < 1 || portNumber > 65535)
    return bad("the port must be a number from 1 to 65535");
  if (colon != std::string::npos && host.empty()) return bad("the address before ':' is empty");
  // An IPv6 address has colons of its own and needs brackets to keep the port apart.
  if (host.find(':') != std::string::npos && (host.front() != '[' || host.back() != ']'))
    return bad("an IPv6 address must be in brackets");
  return {};
}

Result<void> checkListenerName(const std::string& name) {
  bool ok = !name.empty() && name.front() >= 'a' && name.front() <= 'z';
  for (char c : name) ok = ok && (isLowerAlnum(c) || c == '_');
  if (!ok)
    return makeError("invalid listener name \"" + name +
                     "\"; use lowercase letters, digits and '_', starting with a letter (e.g. default)");
  return {};
}

Result<void> checkHttpUrlTemplate(const std::string& text) {
  UrlTemplateValues sample{"tenant", "00000000-0000-0000-0000-000000000000", "ca", 1};
  Result<std::string> rendered = renderUrlTemplate(text, sample);
  if (!rendered) return rendered.error();
  const std::string& url = *rendered;
  // The seed writes \${...} only to get past the shell's heredoc; in YAML the
  // backslash would land in the URL.
  if (url.find('\\') != std::string::npos)
    return makeError("\"" + text + "\" contains a backslash; write ${SYS_CA_NAME} without \\ "
                     "(the seed escapes $ only for the shell)");
  for (char c : url)
    if (std::isspace(static_cast<unsigned char>(c)) || !std::isprint(static_cast<unsigned char>(c)))
      return makeError("\"" + text + "\" contains a space or control character; URL-encode it or remove it");
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    return makeError("\"" + text + "\" must start with http:// (CRLs and OCSP are fetched without TLS), "
                     "e.g. http://revoca.revoca-system:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}");
  if (url.size() == scheme.size() || url[scheme.size()] == '/')
    return makeError("\"" + text +
                     "\" has no host after http://; write e.g. http://revoca.revoca-system:4664/...");
  return {};
}

}  // namespace revoca::decl
