#pragma once
// OCSP (RFC 6960): request parsing and response signing. The CA signs its
// own responses (no delegated responder) and names itself by key hash; a
// root includes its own certificate (for nginx), an intermediate none (for
// Go's x/crypto/ocsp): certsFieldOf in ocsp.cc.
//
//   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] ... }
//   CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier,
//                         issuerNameHash OCTET STRING, issuerKeyHash OCTET STRING,
//                         serialNumber CertificateSerialNumber }
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "pki/certificate.h"
#include "pki/crl.h"
#include "pki/key.h"

namespace revoca::pki {

enum class CertIdHash { Sha1, Sha256, Other };

struct CertIdQuery {
  CertIdHash hash = CertIdHash::Sha1;
  std::string issuerNameHash;  // raw bytes
  std::string issuerKeyHash;   // raw bytes
  std::string serialHex;       // normalized as Certificate::serialHex()
  std::string certIdDer;       // the CertID exactly as received, echoed back
};

struct OcspRequest {
  std::vector<CertIdQuery> queries;
  std::optional<std::string> nonce;  // the nonce extension's value, if sent
};

// Error: the bytes are not an OCSP request (answer malformedRequest).
Result<OcspRequest> parseOcspRequest(const std::string& der);

// The two hashes a CertID carries for `issuer`, for matching queries.
struct IssuerHashes {
  std::string nameSha1, keySha1, nameSha256, keySha256;
};
IssuerHashes issuerHashesOf(const Certificate& issuer);
bool matches(const IssuerHashes& issuer, const CertIdQuery& query);

enum class CertStatus { Good, Revoked, Unknown };

struct SingleAnswer {
  const CertIdQuery* query = nullptr;  // echoes its CertID
  CertStatus status = CertStatus::Unknown;
  TimePoint revokedAt;                 // Revoked only
  RevocationReason reason = RevocationReason::Unspecified;
  TimePoint thisUpdate;
  TimePoint nextUpdate;
};

// A successful response (responseStatus successful, BasicOCSPResponse)
// signed by the issuer, carrying the issuer's certificate if it is a root.
// `nonce` is echoed when present. producedAt = now.
Result<std::string> signOcspResponse(const std::vector<SingleAnswer>& answers,
                                     const std::optional<std::string>& nonce,
                                     const Certificate& issuerCert, const PrivateKey& issuerKey,
                                     Digest digest, TimePoint now);

enum class OcspErrorStatus { MalformedRequest = 1, InternalError = 2, TryLater = 3, Unauthorized = 6 };
// An unsigned error response carrying only the status.
std::string ocspErrorResponse(OcspErrorStatus status);

}  // namespace revoca::pki
