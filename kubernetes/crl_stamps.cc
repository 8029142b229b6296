#include "kubernetes/crl_stamps.h"

#include <algorithm>
#include <chrono>

namespace revoca::kubernetes {

Result<CrlStamps> parseCrlStamps(const std::string& text, const std::string& secret) {
  auto stamps = decodeCrlStamps(text);
  if (!stamps)
    return makeError("Secret " + secret + ": " + stamps.error().message +
                     "; restore the Secret from a backup, or delete the crl-stamps key (the leader writes it again "
                     "at its next CRL)");
  return stamps;
}

std::string formatCrlStamps(const CrlStamps& stamps) {
  auto first = stamps.begin();
  if (stamps.size() > kKeptCrlStamps) std::advance(first, stamps.size() - kKeptCrlStamps);
  return encodeCrlStamps(CrlStamps(first, stamps.end()));
}

std::uint64_t crlNumberAfter(std::uint64_t last, TimePoint thisUpdate) {
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(thisUpdate.time_since_epoch()).count();
  std::uint64_t byClock = millis > 0 ? static_cast<std::uint64_t>(millis) : 0;
  return std::max(last + 1, byClock);
}

}  // namespace revoca::kubernetes
