#pragma once
// The CRL stamps a CA Secret keeps under `crl-stamps` (written as
// registry/record_codec.h says), and the numbers they stamp. The leader
// writes a CRL's stamp with its number, in the same update; a replica that
// does not lead signs under a number only what its stamp says
// (registry/records.h, CrlStamp).
#include <cstdint>
#include <map>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "registry/record_codec.h"
#include "registry/records.h"

namespace revoca::kubernetes {

// The versions whose stamps are kept: a CA has a few live versions, and the
// stamp of one no longer live is never read again.
inline constexpr std::size_t kKeptCrlStamps = 16;

// Exactly as formatCrlStamps writes them; an error names the Secret
// (`secret`: "namespace/name") and the line.
Result<CrlStamps> parseCrlStamps(const std::string& text, const std::string& secret);
// The newest kKeptCrlStamps versions.
std::string formatCrlStamps(const CrlStamps& stamps);

// The number of a new CRL signed at `thisUpdate` (read from the clock, to the
// millisecond): above every number handed out before (`last`), and at least
// thisUpdate in Unix milliseconds. The
// clock is the floor no hand edit of the Secret can lower: a crl-number set
// back, or deleted, still gives numbers above those signed before, as long
// as the clock does not go back, and a CA does not sign a thousand CRLs a
// second. (Let's Encrypt's Boulder numbers its CRLs by time for the same reason.)
std::uint64_t crlNumberAfter(std::uint64_t last, TimePoint thisUpdate);

}  // namespace revoca::kubernetes
