#pragma once
// Conversions between revoca's types and OpenSSL's, shared by the pki/ files.
// Private to pki/.
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "pki/key.h"
#include "pki/openssl_handles.h"

namespace revoca::pki {

// Drains OpenSSL's thread-local error queue into one line, so the next
// failure does not report a stale reason. "no detail" when it is empty.
std::string opensslError();

// "<what>: <OpenSSL's reason>", for Result errors.
Error opensslFailure(const std::string& what);

const EVP_MD* evpDigest(Digest digest);

// UTCTime up to 2049, GeneralizedTime after (RFC 5280 4.1.2.5).
Asn1TimePtr toAsn1Time(TimePoint t);
Asn1GeneralizedTimePtr toGeneralizedTime(TimePoint t);
Result<TimePoint> fromAsn1Time(const ASN1_TIME* t);

// The serial in revoca's canonical hex (upper case, no leading zeros).
std::string serialHexOf(const ASN1_INTEGER* serial);
// Parses any hex accepted by normalizeSerialHex.
Result<Asn1IntegerPtr> serialFromHex(const std::string& hex);

// The DER an i2d_* function writes for `object`; empty on failure.
template <typename I2d, typename T>
std::string derOf(I2d i2d, T* object) {
  unsigned char* buf = nullptr;
  int len = i2d(object, &buf);
  if (len <= 0) {
    opensslError();  // leave no stale error behind for the next caller
    return {};
  }
  std::string out(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(len));
  OPENSSL_free(buf);
  return out;
}

// Everything written to a memory BIO.
std::string bioContents(BIO* bio);

// The keyIdentifier an issuer's children carry in their Authority Key
// Identifier: the issuer's own SKI, or the SHA-1 of its key (RFC 5280 4.2.1.2).
Result<Asn1OctetStringPtr> keyIdentifierOf(X509* issuer);
// The SHA-1 of a certificate's public key BIT STRING, without reading (and
// so caching) its extensions: safe on a certificate still being built.
Result<Asn1OctetStringPtr> publicKeyIdOf(X509* cert);

// A URI GeneralName, for CRL DP, IDP and AIA.
Result<GeneralNamePtr> uriName(const std::string& uri);

}  // namespace revoca::pki
