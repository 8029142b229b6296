#include "registry/record_codec.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "core/text.h"
#include "pki/certificate.h"
#include "pki/crl.h"

namespace revoca {
namespace {

// A field quoted for an error message: safe to log and to write as JSON
// whatever bytes a hand edit left, cut short past 40 bytes.
std::string shown(std::string_view text) { return quotedText(text, 40); }

// Splits `line` at each single space into `field`; returns how many fields
// there are (which may be more than N). By hand, without a stream: a
// restart parses 100,000s of lines, and an istringstream per line was a
// fifth of a restart with 100,000 revocations.
template <std::size_t N>
std::size_t splitFields(std::string_view line, std::array<std::string_view, N>& field) {
  std::size_t count = 0;
  for (std::size_t at = 0;; ++count) {
    std::size_t space = line.find(' ', at);
    if (count < N) field[count] = line.substr(at, space == std::string_view::npos ? space : space - at);
    if (space == std::string_view::npos) return count + 1;
    at = space + 1;
  }
}

// What is wrong with the shape of a line of four fields, if anything.
// Looked at before the fields: a doubled space shifts every field after it,
// and "has 5 fields" says what happened where "the time \"\"" would not.
std::optional<std::string> wrongShape(std::string_view line, const char* format) {
  std::array<std::string_view, 4> field;
  std::size_t count = splitFields(line, field);
  if (line.back() == '\r') return std::string("the line ends with a carriage return (a Windows line break)");
  if (count != 4)
    return "the line has " + std::to_string(count) + " fields separated by single spaces, not the 4 of \"" + format +
           "\"";
  return std::nullopt;
}

std::string wrongSerial(std::string_view serial) {
  return "the serial " + shown(serial) +
         " is not written as revoca writes serials (hex digits 0-9 and upper-case A-F, no leading zero)";
}

// Printable ASCII without space: a field of a canonical line.
bool isWord(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::optional<std::string> readLedgerLine(std::string_view line, Store from, IssuedCertificate& issued) {
  if (line.empty()) return std::string("the line is empty");
  if (from == Store::Files)
    if (auto wrong = wrongShape(line, "SERIAL CAVERSION NOTAFTER SUBJECT")) return wrong;
  std::string_view rest = line;
  std::string_view serial = nextField(rest), version = nextField(rest), notAfter = nextField(rest);
  std::int64_t seconds = 0;
  if (!pki::isNormalizedSerialHex(serial)) return wrongSerial(serial);
  if (!parseExactNumber(version, issued.caVersion) || issued.caVersion < 1)
    return "the CA version " + shown(version) + " is not a whole number from 1 up";
  if (!parseExactNumber(notAfter, seconds))
    return "the expiry " + shown(notAfter) + " is not a whole number of Unix seconds";
  // A Secret's ledger holds the previous release's subjects, the rest of the
  // line verbatim (spaces, none at all); a canonical one word reads the same.
  if (from == Store::Files && !isWord(rest))
    return "the subject " + shown(rest) + " is not printable ASCII without spaces (\"-\" when none)";
  issued.serialHex.assign(serial);
  issued.notAfter = fromUnixSeconds(seconds);
  issued.subject.assign(rest);
  return std::nullopt;
}

std::optional<pki::RevocationReason> reasonCode(std::string_view text) {
  int code = 0;
  // 7 is unassigned in RFC 5280; anything else outside 0..10 is not a reason.
  if (!parseExactNumber(text, code) || code < 0 || code > 10 || code == 7) return std::nullopt;
  return static_cast<pki::RevocationReason>(code);
}

std::optional<std::string> readRevocationLine(std::string_view line, Store from, Revocation& revocation) {
  if (line.empty()) return std::string("the line is empty");
  if (from == Store::Files)
    if (auto wrong = wrongShape(line, "SERIAL REVOKEDAT REASON INVALIDITYDATE|-")) return wrong;
  std::string_view rest = line;
  std::string_view serial = nextField(rest), revokedAt = nextField(rest), reason = nextField(rest),
                   invalidity = nextField(rest);
  std::int64_t seconds = 0, invalidSince = 0;
  if (!pki::isNormalizedSerialHex(serial)) return wrongSerial(serial);
  if (!parseExactNumber(revokedAt, seconds))
    return "the revocation time " + shown(revokedAt) + " is not a whole number of Unix seconds";
  auto code = reasonCode(reason);
  if (!code && from == Store::Files) code = pki::parseRevocationReason(std::string(reason));
  if (!code)
    return "the reason " + shown(reason) +
           (from == Store::Files ? " is neither an RFC 5280 reason code (0 to 10 but 7) nor a reason name "
                                   "(keyCompromise, superseded, cessationOfOperation, ...)"
                                 : " is not an RFC 5280 reason code (0 to 10 but 7)");
  if (!rest.empty()) return "the line goes on after the invalidity date: " + shown(rest);
  if (invalidity != "-" && !parseExactNumber(invalidity, invalidSince))
    return "the invalidity date " + shown(invalidity) + " is neither a whole number of Unix seconds nor \"-\"";
  revocation.serialHex.assign(serial);
  revocation.revokedAt = fromUnixSeconds(seconds);
  revocation.reason = *code;
  revocation.invalidityDate = invalidity == "-" ? std::nullopt : std::optional(fromUnixSeconds(invalidSince));
  return std::nullopt;
}

std::optional<std::string> readCrlListingLine(std::string_view line, CrlListing& listing) {
  if (line.empty()) return std::string("the line is empty");
  std::array<std::string_view, 2> field;
  if (std::size_t count = splitFields(line, field); count != 2)
    return "the line has " + std::to_string(count) + " fields separated by single spaces, not the 2 of \"SERIAL "
           "CRLNUMBER\"";
  if (!pki::isNormalizedSerialHex(field[0])) return wrongSerial(field[0]);
  if (!parseExactNumber(field[1], listing.crlNumber) || listing.crlNumber == 0)
    return "the CRL number " + shown(field[1]) + " is not a whole number from 1 up";
  listing.serialHex.assign(field[0]);
  return std::nullopt;
}

// Each line of `text` read into a new record by `read`, which says what is
// wrong with it, if anything.
template <typename Record, typename Read>
Result<std::vector<Record>> readLines(std::string_view text, const std::string& where, Read read) {
  std::vector<Record> records;
  records.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  std::size_t number = 0;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = std::min(text.find('\n', start), text.size());
    ++number;
    if (std::optional<std::string> wrong = read(text.substr(start, end - start), records.emplace_back()))
      return makeError("line " + std::to_string(number) + " of " + where + ": " + *wrong);
    start = end + 1;
  }
  return records;
}

}  // namespace

std::string encodeLedgerLine(const IssuedCertificate& issued) {
  std::string subject = issued.subject.empty() ? "-" : issued.subject;
  std::replace_if(subject.begin(), subject.end(), [](char c) { return c <= 0x20 || c >= 0x7f; }, '_');
  return issued.serialHex + " " + std::to_string(issued.caVersion) + " " +
         std::to_string(toUnixSeconds(issued.notAfter)) + " " + subject;
}

Result<IssuedCertificate> decodeLedgerLine(std::string_view line, Store from) {
  IssuedCertificate issued;
  if (auto wrong = readLedgerLine(line, from, issued)) return makeError(*wrong);
  return issued;
}

std::string encodeRevocationLine(const Revocation& revocation) {
  return revocation.serialHex + " " + std::to_string(toUnixSeconds(revocation.revokedAt)) + " " +
         std::to_string(static_cast<int>(revocation.reason)) + " " +
         (revocation.invalidityDate ? std::to_string(toUnixSeconds(*revocation.invalidityDate)) : "-");
}

Result<Revocation> decodeRevocationLine(std::string_view line, Store from) {
  Revocation revocation;
  if (auto wrong = readRevocationLine(line, from, revocation)) return makeError(*wrong);
  return revocation;
}

Result<std::vector<IssuedCertificate>> decodeLedgerLines(std::string_view text, Store from, const std::string& where) {
  return readLines<IssuedCertificate>(text, where, [from](std::string_view line, IssuedCertificate& issued) {
    return readLedgerLine(line, from, issued);
  });
}

Result<std::vector<Revocation>> decodeRevocationLines(std::string_view text, Store from, const std::string& where) {
  return readLines<Revocation>(text, where, [from](std::string_view line, Revocation& revocation) {
    return readRevocationLine(line, from, revocation);
  });
}

std::string encodeCrlListingLine(const CrlListing& listing) {
  return listing.serialHex + " " + std::to_string(listing.crlNumber);
}

Result<std::vector<CrlListing>> decodeCrlListingLines(std::string_view text, const std::string& where) {
  return readLines<CrlListing>(text, where, &readCrlListingLine);
}

std::string encodeCrlNumber(std::uint64_t number) { return std::to_string(number) + "\n"; }

Result<std::uint64_t> decodeCrlNumber(std::string_view text, Store from) {
  std::uint64_t number = 0;
  if (from == Store::Secrets) {
    // As the Secret store read it, set by hand too (its errors asked for
    // that): spaces and line breaks around it, leading zeros.
    std::size_t begin = text.find_first_not_of(" \t\r\n"), end = text.find_last_not_of(" \t\r\n");
    text = begin == std::string_view::npos ? std::string_view() : text.substr(begin, end - begin + 1);
    auto [stop, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (text.empty() || error != std::errc() || stop != text.data() + text.size())
      return makeError("not a decimal number");
    return number;
  }
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);  // the line break optional
  if (!parseExactNumber(text, number)) return makeError("not a number as revoca writes it (\"12\", then a line break)");
  return number;
}

std::string encodeCrlStamps(const CrlStamps& stamps) {
  std::string text;
  for (const auto& [version, stamp] : stamps)
    text += std::to_string(version) + ' ' + std::to_string(stamp.number) + ' ' +
            std::to_string(toUnixSeconds(stamp.thisUpdate)) + ' ' + std::to_string(toUnixSeconds(stamp.nextUpdate)) +
            ' ' + stamp.entries.hex() + '\n';
  return text;
}

namespace {

std::optional<std::pair<int, CrlStamp>> decodeStampLine(std::string_view rest) {
  int version = 0;
  CrlStamp stamp;
  std::int64_t thisUpdate = 0, nextUpdate = 0;
  if (!parseExactNumber(nextField(rest), version) || version < 1 || !parseExactNumber(nextField(rest), stamp.number) ||
      !parseExactNumber(nextField(rest), thisUpdate) || !parseExactNumber(nextField(rest), nextUpdate))
    return std::nullopt;
  auto entries = pki::Sha256::fromHex(nextField(rest));
  if (!entries || !rest.empty() || nextUpdate <= thisUpdate) return std::nullopt;
  stamp.thisUpdate = fromUnixSeconds(thisUpdate);
  stamp.nextUpdate = fromUnixSeconds(nextUpdate);
  stamp.entries = *entries;
  return std::pair(version, stamp);
}

}  // namespace

Result<CrlStamps> decodeCrlStamps(std::string_view rest) {
  CrlStamps stamps;
  for (int line = 1; !rest.empty(); ++line) {
    std::size_t end = rest.find('\n');
    std::optional<std::pair<int, CrlStamp>> parsed;
    if (end != std::string_view::npos) parsed = decodeStampLine(rest.substr(0, end));
    if (!parsed || stamps.count(parsed->first) || (!stamps.empty() && parsed->first < stamps.rbegin()->first))
      return makeError("line " + std::to_string(line) +
                       " of crl-stamps is not \"VERSION NUMBER THISUPDATE NEXTUPDATE SHA256\" in ascending versions");
    stamps.insert(*parsed);
    rest.remove_prefix(end + 1);
  }
  return stamps;
}

std::string encodeCrlDistUrls(const std::vector<std::string>& urls) {
  std::string text;
  for (const auto& url : urls) text += url + "\n";
  return text;
}

// A URL is printable ASCII without spaces, as the declarations' URL rules admit it.
Result<std::vector<std::string>> decodeCrlDistUrls(std::string_view text, const std::string& where) {
  if (!text.empty() && text.back() != '\n') return makeError(where + " does not end with a line break");
  return readLines<std::string>(text, where, [](std::string_view line, std::string& url) -> std::optional<std::string> {
    if (!isWord(line)) return "the URL " + shown(line) + " is empty or not printable ASCII without spaces";
    url.assign(line);
    return std::nullopt;
  });
}

std::string encodeTenantUuid(const std::string& uuid) { return uuid + "\n"; }

Result<std::string> decodeTenantUuid(std::string_view text) {
  // Any trailing white space: an editor's CRLF must not make a new tenant.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  // 8-4-4-4-12 lower-case hex digits, as newUuid writes it.
  bool uuid = text.size() == 36;
  for (std::size_t i = 0; uuid && i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = text[i];
    uuid = dash ? c == '-' : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }
  if (!uuid) return makeError("not a tenant UUID (36 lower-case hex digits and dashes, then at most a line break)");
  return std::string(text);
}

}  // namespace revoca
