#pragma once
// What the responder serves, behind an interface so the HTTP layer knows
// nothing of CAs or storage. Implemented by registry::CaRegistry; mocked in tests.
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/metrics_page.h"

namespace revoca::responder {

// The bytes are shared with the source, not copied: a CRL of 100,000
// entries is 4.5 MB of DER and 6 MB of PEM, and a conditional GET answered
// 304 should not copy either.
struct CrlDocument {
  std::shared_ptr<const std::string> der;
  std::shared_ptr<const std::string> pem;
  int caVersion = 1;
  std::uint64_t crlNumber = 0;
  TimePoint thisUpdate;
  TimePoint nextUpdate;
  // The longest an HTTP cache may hand the CRL out without asking again
  // (Cache-Control max-age), never past nextUpdate.
  Seconds cacheMaxAge = Seconds(300);
  // thisUpdate is later than that of every CRL the source served before at
  // this URL. Only then does a client's If-Modified-Since date tell whether
  // it holds this CRL: two CRLs signed within one second carry the same
  // thisUpdate (and Last-Modified), and revoca publishes within a second of
  // each revocation.
  bool newerThanEveryEarlierCrl = false;
};

// What a device fetches to learn of a CA's new versions out of band: the
// CA's trust bundle, the certificates of the ca-cert.pem revoca writes
// beside those it issues.
struct CaBundleDocument {
  // PEM certificates of every live version, newest first, then the parent's
  // bundle for an intermediate. Shared like a CRL's bytes.
  std::shared_ptr<const std::string> pem;
  // The CA's Cache-Control max-age, the same as for its CRLs: a new version
  // reaches devices behind an HTTP cache within it.
  Seconds cacheMaxAge = Seconds(300);
};

enum class OcspOutcome { Good, Revoked, Unknown, Unauthorized, Malformed, Mixed };

struct OcspReply {
  std::string der;  // always a well-formed OCSPResponse (errors included)
  OcspOutcome outcome = OcspOutcome::Malformed;
  // Caching headers are derived from these when the reply is signed.
  std::optional<TimePoint> thisUpdate;
  std::optional<TimePoint> nextUpdate;
  bool carriesNonce = false;  // a nonce makes the reply uncacheable
};

class RevocationSource {
 public:
  virtual ~RevocationSource() = default;
  // `tenant` is the tenant's UUID or name; `version` the CA version ("1", "2"...).
  virtual std::optional<CrlDocument> crl(const std::string& tenant, const std::string& ca,
                                         const std::string& version) const = 0;
  // `tenant` as for crl(). Nothing for an unknown CA or one with no live
  // version. Pure, so a source that wraps another cannot forget to pass it on.
  virtual std::optional<CaBundleDocument> caBundle(const std::string& tenant, const std::string& ca) const = 0;
  // `requestDer` is the raw OCSPRequest. Never fails: bad input gives a
  // malformedRequest reply, an unknown tenant/CA/issuer an unauthorized one.
  virtual OcspReply ocsp(const std::string& tenant, const std::string& ca,
                         const std::string& requestDer) const = 0;
  // True once the first reconcile has loaded every CA (for /readyz).
  virtual bool ready() const = 0;
  // True once the process drains before it stops (core/shutdown.h): /readyz
  // fails while the requests that still arrive are answered.
  virtual bool stopping() const { return false; }
  // Appends Prometheus text lines describing CAs and certificates (maybe
  // none): the families with a few series each, written in one go.
  virtual void appendMetricsText(std::string& out) const = 0;
  // The families with a series per object (megabytes at 10,000 VaultSecrets),
  // after those: appends from `cursor` on until `out` holds `budget` bytes or
  // more, and returns true once all are written. A source has none by default.
  virtual bool appendPagedMetricsText(std::string& /*out*/, MetricsCursor& /*cursor*/,
                                      std::size_t /*budget*/) const {
    return true;
  }
};

}  // namespace revoca::responder
