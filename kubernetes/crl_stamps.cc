#include "kubernetes/crl_stamps.h"

#include <algorithm>
#include <string_view>

#include "core/text.h"

namespace revoca::kubernetes {
namespace {

std::optional<std::pair<int, CrlStamp>> parseStampLine(std::string_view rest) {
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

Result<CrlStamps> parseCrlStamps(const std::string& text, const std::string& secret) {
  CrlStamps stamps;
  std::string_view rest = text;
  for (int line = 1; !rest.empty(); ++line) {
    std::size_t end = rest.find('\n');
    std::optional<std::pair<int, CrlStamp>> parsed;
    if (end != std::string_view::npos) parsed = parseStampLine(rest.substr(0, end));
    if (!parsed || stamps.count(parsed->first) || (!stamps.empty() && parsed->first < stamps.rbegin()->first))
      return makeError("Secret " + secret + ": line " + std::to_string(line) +
                       " of crl-stamps is not \"VERSION NUMBER THISUPDATE NEXTUPDATE SHA256\" in ascending versions; "
                       "restore the Secret from a backup, or delete the crl-stamps key (the leader writes it "
                       "again at its next CRL)");
    stamps.insert(*parsed);
    rest.remove_prefix(end + 1);
  }
  return stamps;
}

std::string formatCrlStamps(const CrlStamps& stamps) {
  std::string text;
  auto first = stamps.begin();
  if (stamps.size() > kKeptCrlStamps) std::advance(first, stamps.size() - kKeptCrlStamps);
  for (auto it = first; it != stamps.end(); ++it) {
    const auto& [version, stamp] = *it;
    text += std::to_string(version) + ' ' + std::to_string(stamp.number) + ' ' +
            std::to_string(toUnixSeconds(stamp.thisUpdate)) + ' ' + std::to_string(toUnixSeconds(stamp.nextUpdate)) +
            ' ' + stamp.entries.hex() + '\n';
  }
  return text;
}

std::uint64_t crlNumberAfter(std::uint64_t last, TimePoint thisUpdate) {
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(thisUpdate.time_since_epoch()).count();
  std::uint64_t byClock = millis > 0 ? static_cast<std::uint64_t>(millis) : 0;
  return std::max(last + 1, byClock);
}

}  // namespace revoca::kubernetes
