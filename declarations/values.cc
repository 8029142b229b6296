#include "declarations/values.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <string_view>
#include <vector>

#include "core/text.h"
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

bool isLetterOrDigit(char c) { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// Splits at '.'; an empty label (leading, trailing or doubled dot) stays in the list.
std::vector<std::string_view> labelsOf(std::string_view name) {
  std::vector<std::string_view> labels;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = name.find('.', start);
    labels.push_back(name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return labels;
    start = dot + 1;
  }
}

// What is wrong with one label of a host name, "" when nothing is.
std::string labelProblem(std::string_view label, bool lowerCaseOnly) {
  if (label.empty()) return "has an empty label (a leading, trailing or doubled '.')";
  if (label.size() > 63) return "has a label longer than 63 characters";
  for (char c : label)
    if (!(lowerCaseOnly ? isLowerAlnum(c) : isLetterOrDigit(c)) && c != '-')
      return std::string("contains '") + (c == '*' ? "*" : safeText(std::string(1, c))) + "'";
  if (label.front() == '-' || label.back() == '-') return "has a label that starts or ends with '-'";
  return "";
}

bool parseNonNegativeInt(std::string_view text, int& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}

// RFC 3986's unreserved and sub-delims characters, and ':', '@', '/' and
// '?': what a path and query may hold as they are ('#' starts a fragment,
// which has no meaning in a CRL or OCSP URL).
bool isUrlPathCharacter(char c) {
  return isLetterOrDigit(c) || std::string_view("-._~!$&'()*+,;=:@/?").find(c) != std::string_view::npos;
}

// host[:port] of an http URL: a host name, an IPv4 address or an IPv6
// address in brackets; no user name (user@host).
Result<void> checkUrlAuthority(const std::string& authority) {
  if (authority.find('@') != std::string::npos)
    return makeError("a user name before '@' has no place in a CRL or OCSP URL; remove it");
  std::string host = authority, port;
  if (authority.front() == '[') {
    std::size_t close = authority.find(']');
    unsigned char address[16];
    if (close == std::string::npos || inet_pton(AF_INET6, authority.substr(1, close - 1).c_str(), address) != 1)
      return makeError("the host in brackets is not an IPv6 address; write e.g. http://[2001:db8::1]:4664/");
    if (close + 1 < authority.size() && authority[close + 1] != ':')
      return makeError("the IPv6 address is followed by something other than :port");
    host.clear();
    port = close + 1 < authority.size() ? authority.substr(close + 2) : "";
    if (close + 1 < authority.size() && port.empty()) return makeError("the ':' after the host has no port number");
  } else if (std::size_t colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return makeError("the ':' after the host has no port number");
  }
  int portNumber = 0;
  if (!port.empty() && (!parseNonNegativeInt(port, portNumber) || portNumber < 1 || portNumber > 65535))
    return makeError("the port must be a number from 1 to 65535");
  if (host.empty() && authority.front() != '[') return makeError("the host before ':' is empty");
  if (!host.empty())
    if (Result<void> valid = checkHostName(host, false); !valid) return makeError("the host " + valid.error().message);
  return {};
}

}  // namespace

bool isIpAddress(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

Result<void> checkObjectName(const std::string& name) {
  const char* rule =
      "; use lowercase letters, digits and '-', starting and ending with a letter or digit, "
      "at most 63 characters (e.g. mqtt-ca)";
  if (name.empty()) return makeError("the name is empty" + std::string(rule));
  if (name.size() > 63)
    return makeError(quotedText(name) + " is " + std::to_string(name.size()) + " characters long" + rule);
  for (char c : name)
    if (!isLowerAlnum(c) && c != '-')
      return makeError(quotedText(name) + " contains '" + safeText(std::string(1, c)) + "'" + rule);
  if (name.front() == '-' || name.back() == '-')
    return makeError(quotedText(name) + " starts or ends with '-'" + rule);
  return {};
}

Result<void> checkDeploymentName(const std::string& name) {
  const char* rule =
      "; a Deployment name is lowercase letters, digits, '-' and '.', each dot-separated part starting and "
      "ending with a letter or digit, at most 253 characters (e.g. emqx)";
  if (name.empty()) return makeError("the name is empty" + std::string(rule));
  if (name.size() > 253) return makeError(quotedText(name) + " is " + std::to_string(name.size()) + " characters long" + rule);
  for (std::string_view label : labelsOf(name))
    if (std::string problem = labelProblem(label, true); !problem.empty())
      return makeError(quotedText(name) + " " + problem + rule);
  return {};
}

Result<void> checkHostName(const std::string& name, bool allowWildcard) {
  std::string rule = std::string("; write a DNS name such as mqtt.example.com (letters, digits and '-' between dots; "
                                 "an internationalized name in its xn-- form)") +
                     (allowWildcard ? ", a wildcard such as *.mqtt.example.com," : "") + " or an IP address";
  if (name.empty()) return makeError("the host name is empty" + rule);
  if (isIpAddress(name)) return {};
  if (name.size() > 253) return makeError(quotedText(name) + " is longer than 253 characters" + rule);
  std::vector<std::string_view> labels = labelsOf(name);
  if (labels.front() == "*") {
    if (!allowWildcard)
      return makeError(quotedText(name) + " is a wildcard; only server certificates may carry one" + rule);
    if (labels.size() < 3)
      return makeError(quotedText(name) + " is a wildcard over a whole domain; a wildcard needs at least two labels "
                       "after it" + rule);
    labels.erase(labels.begin());
  }
  for (std::string_view label : labels)
    if (std::string problem = labelProblem(label, false); !problem.empty())
      return makeError(quotedText(name) + " " + problem + rule);
  // An all-numeric last label makes it look like an IPv4 address that inet_pton refused (1.2.3.999).
  if (labels.back().find_first_not_of("0123456789") == std::string_view::npos)
    return makeError(quotedText(name) + " is neither an IP address nor a host name (its last label is a number)" + rule);
  return {};
}

Result<void> checkContainerPath(const std::string& path) {
  const char* rule = "; write an absolute path of letters, digits, '.', '_', '-' and '/', e.g. /etc/emqx-certs";
  if (path.empty() || path.front() != '/') return makeError(quotedText(path) + " is not an absolute path" + rule);
  if (path.size() > 1024) return makeError("the path is longer than 1024 characters" + std::string(rule));
  for (char c : path)
    if (!isLetterOrDigit(c) && c != '.' && c != '_' && c != '-' && c != '/')
      return makeError(quotedText(path) + " contains '" + safeText(std::string(1, c)) + "'" + rule);
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    std::string_view step = std::string_view(path).substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (step == "." || step == "..") return makeError(quotedText(path) + " has a \"" + std::string(step) + "\" step" + rule);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return {};
}

Result<TimePoint> parseTimestamp(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return makeError("invalid timestamp " + quotedText(text) + ": " + why +
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
  if (pos != text.size()) return bad("unexpected " + quotedText(text.substr(pos)) + " at the end");

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
    return makeError("invalid file mode " + quotedText(text) + ": " + why +
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
    return makeError("invalid file ownership " + quotedText(text) +
                     "; write numeric \"uid:gid\", e.g. \"1000:1000\" for EMQX");
  return ownership;
}

Result<void> checkBind(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return makeError("invalid bind " + quotedText(text) + ": " + why +
                     "; write \"0.0.0.0:8883\", \"[::]:8883\" or \"8883\"");
  };
  std::size_t colon = text.rfind(':');
  std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
  std::string port = colon == std::string::npos ? text : text.substr(colon + 1);
  int portNumber = 0;
  if (!parseNonNegativeInt(port, portNumber) || portNumber < 1 || portNumber > 65535)
    return bad("the port must be a number from 1 to 65535");
  if (colon == std::string::npos) return {};
  if (host.empty()) return bad("the address before ':' is empty");
  unsigned char address[16];
  bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  // An IPv6 address has colons of its own and needs brackets to keep the port apart.
  if (bracketed ? inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), address) != 1
                : inet_pton(AF_INET, host.c_str(), address) != 1)
    return bad(host.find(':') != std::string::npos && !bracketed
                   ? "an IPv6 address must be in brackets"
                   : "the address must be an IPv4 address or an IPv6 address in brackets");
  return {};
}

Result<void> checkListenerName(const std::string& name) {
  bool ok = !name.empty() && name.front() >= 'a' && name.front() <= 'z';
  for (char c : name) ok = ok && (isLowerAlnum(c) || c == '_');
  if (!ok)
    return makeError("invalid listener name " + quotedText(name) +
                     "; use lowercase letters, digits and '_', starting with a letter (e.g. default)");
  return {};
}

Result<void> checkHttpUrlTemplate(const std::string& text) {
  UrlTemplateValues sample{"tenant", "00000000-0000-0000-0000-000000000000", "ca", 1};
  Result<std::string> rendered = renderUrlTemplate(text, sample);
  if (!rendered) return rendered.error();
  const std::string& url = *rendered;
  // \${...} is what a URL looks like in a shell heredoc, where $ must be
  // escaped; pasted into YAML, the backslash would land in the URL.
  if (url.find('\\') != std::string::npos)
    return makeError(quotedText(text) + " contains a backslash; write ${SYS_CA_NAME} without \\ "
                     "(only a shell heredoc needs \\$)");
  for (char c : url)
    if (std::isspace(static_cast<unsigned char>(c)) || !std::isprint(static_cast<unsigned char>(c)))
      return makeError(quotedText(text) + " contains a space or control character; URL-encode it or remove it");
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    return makeError(quotedText(text) + " must start with http:// (CRLs and OCSP are fetched without TLS), "
                     "e.g. http://revoca.revoca-system:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}");
  std::size_t hostStart = scheme.size();
  std::size_t pathStart = url.find_first_of("/?#", hostStart);
  std::string authority = url.substr(hostStart, pathStart == std::string::npos ? std::string::npos : pathStart - hostStart);
  if (authority.empty())
    return makeError(quotedText(text) +
                     " has no host after http://; write e.g. http://revoca.revoca-system:4664/...");
  if (Result<void> valid = checkUrlAuthority(authority); !valid)
    return makeError(quotedText(text) + ": " + valid.error().message);
  if (pathStart == std::string::npos) return {};
  for (std::size_t i = pathStart; i < url.size(); ++i) {
    char c = url[i];
    if (c == '%') {
      if (i + 2 >= url.size() || !std::isxdigit(static_cast<unsigned char>(url[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(url[i + 2])))
        return makeError(quotedText(text) + " has a '%' that is not followed by two hexadecimal digits; write %25 for a "
                                        "literal '%'");
      i += 2;
    } else if (!isUrlPathCharacter(c)) {
      return makeError(quotedText(text) + " contains '" + safeText(std::string(1, c)) +
                       "', which a URL cannot hold as it is (RFC 3986); percent-encode it or remove it");
    }
  }
  return {};
}

Result<pki::RevocationReason> parseRevocationReason(const std::string& name) {
  using R = pki::RevocationReason;
  const char* allowed = "unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, "
                        "cessationOfOperation, privilegeWithdrawn or aACompromise";
  std::optional<R> reason = pki::parseRevocationReason(name);
  if (!reason)
    return makeError("unknown reason " + quotedText(name) + "; write one of the RFC 5280 names: " + allowed);
  if (*reason == R::CertificateHold)
    return makeError("certificateHold is not accepted: revoca's revocations are permanent, so a hold could never be "
                     "released; revoke for good with one of " + std::string(allowed));
  if (*reason == R::RemoveFromCrl)
    return makeError("removeFromCRL is not accepted: it belongs in delta CRLs only (RFC 5280 5.3.1), and a "
                     "revocation is never taken back; use one of " + std::string(allowed));
  return *reason;
}

}  // namespace revoca::decl
