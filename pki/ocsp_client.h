#pragma once
// Asks an OCSP responder about one certificate, as a TLS client would: the
// URL from the certificate's Authority Information Access, a SHA-1 CertID
// (what OpenSSL, EMQX and browsers send), POST over HTTP, the answer's
// signature checked against the issuer. revocactl status shows the result.
#include <chrono>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "pki/certificate.h"

namespace revoca::pki {

struct OcspCheck {
  std::string url;     // where it asked
  std::string status;  // good, revoked, unknown
  std::optional<std::string> revocationReason;  // RFC 5280 name, when revoked
  std::optional<TimePoint> revokedAt;
  TimePoint thisUpdate;
  std::optional<TimePoint> nextUpdate;
};

// The first OCSP URL in the certificate's AIA extension, if any.
std::optional<std::string> ocspUrlOf(const Certificate& certificate);

// Error when there is no URL, the responder does not answer within
// `timeout`, or its answer is not a valid, signed response for this certificate.
Result<OcspCheck> checkOcsp(const Certificate& certificate, const Certificate& issuer,
                            std::chrono::seconds timeout = std::chrono::seconds(3));

}  // namespace revoca::pki
