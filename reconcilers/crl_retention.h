#pragma once
// How long a revoked certificate stays on its CA's CRL once it has expired.
#include <algorithm>

#include "core/clock.h"

namespace revoca {

// RFC 5280 section 3.3 lets a CA drop an entry after the certificate has
// expired, but not "until it appears on one regularly scheduled CRL issued
// beyond the revoked certificate's validity period". revoca signs a CRL at
// least every half validity, so keeping the entry one whole validity past
// notAfter puts it on at least one such CRL, with room for a late pass
// (Boulder keeps its LookbackPeriod above two update periods for the same
// reason). And at least a day: a relying party whose clock runs behind still
// takes the certificate for valid after its notAfter, and must still find it
// on the CRL it fetches then.
inline Seconds crlRetentionAfterExpiry(Seconds crlValidity) { return std::max(crlValidity, Seconds(86400)); }

}  // namespace revoca
