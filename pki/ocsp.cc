#include "pki/ocsp.h"

#include "pki/openssl_util.h"

namespace revoca::pki {
namespace {

std::string bytesOf(const ASN1_STRING* s) {
  if (s == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::string digestOf(const std::string& data, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) {
    opensslError();
    return "";
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

CertIdHash hashOf(const ASN1_OBJECT* algorithm) {
  switch (OBJ_obj2nid(algorithm)) {
    case NID_sha1: return CertIdHash::Sha1;
    case NID_sha256: return CertIdHash::Sha256;
    default: return CertIdHash::Other;
  }
}

Result<CertIdQuery> queryOf(OCSP_CERTID* id) {
  ASN1_OCTET_STRING* nameHash = nullptr;
  ASN1_OCTET_STRING* keyHash = nullptr;
  ASN1_OBJECT* algorithm = nullptr;
  ASN1_INTEGER* serial = nullptr;
  if (OCSP_id_get0_info(&nameHash, &algorithm, &keyHash, &serial, id) != 1) {
    return opensslFailure("reading a CertID");
  }
  CertIdQuery query;
  query.hash = hashOf(algorithm);
  query.issuerNameHash = bytesOf(nameHash);
  query.issuerKeyHash = bytesOf(keyHash);
  query.serialHex = serialHexOf(serial);
  query.certIdDer = derOf(i2d_OCSP_CERTID, id);
  if (query.serialHex.empty() || query.certIdDer.empty()) return makeError("unreadable CertID");
  return query;
}

// RFC 6960 4.2.1 CertStatus, with OpenSSL's code for "no revocationReason".
int statusCode(CertStatus status) {
  switch (status) {
    case CertStatus::Good: return V_OCSP_CERTSTATUS_GOOD;
    case CertStatus::Revoked: return V_OCSP_CERTSTATUS_REVOKED;
    case CertStatus::Unknown: break;
  }
  return V_OCSP_CERTSTATUS_UNKNOWN;
}

Result<void> addAnswer(OCSP_BASICRESP* basic, const SingleAnswer& answer) {
  if (answer.query == nullptr) return makeError("OCSP answer without its query");
  if (answer.nextUpdate <= answer.thisUpdate) {
    return makeError("OCSP answer nextUpdate must be after thisUpdate");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(answer.query->certIdDer.data());
  OcspCertIdPtr id(d2i_OCSP_CERTID(nullptr, &p, static_cast<long>(answer.query->certIdDer.size())));
  if (!id) return opensslFailure("OCSP answer with an unreadable CertID");

  bool revoked = answer.status == CertStatus::Revoked;
  // As in the CRL, "unspecified" is said by leaving revocationReason out.
  int reason = revoked && answer.reason != RevocationReason::Unspecified
                   ? static_cast<int>(answer.reason)
                   : OCSP_REVOKED_STATUS_NOSTATUS;
  Asn1GeneralizedTimePtr revokedAt = revoked ? toGeneralizedTime(answer.revokedAt) : nullptr;
  Asn1GeneralizedTimePtr thisUpdate = toGeneralizedTime(answer.thisUpdate);
  Asn1GeneralizedTimePtr nextUpdate = toGeneralizedTime(answer.nextUpdate);
  if (!thisUpdate || !nextUpdate || (revoked && !revokedAt) ||
      OCSP_basic_add1_status(basic, id.get(), statusCode(answer.status), reason, revokedAt.get(),
                             thisUpdate.get(), nextUpdate.get()) == nullptr) {
    return opensslFailure("adding an OCSP answer for serial " + answer.query->serialHex);
  }
  return {};
}

// The nonce extension with the request's value byte for byte, as
// OCSP_copy_nonce would copy it: clients compare the two exactly.
Result<void> addNonce(OCSP_BASICRESP* basic, const std::string& nonce) {
  Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
  const auto* bytes = reinterpret_cast<const unsigned char*>(nonce.data());
  if (!value || ASN1_OCTET_STRING_set(value.get(), bytes, static_cast<int>(nonce.size())) != 1) {
    return opensslFailure("OCSP nonce");
  }
  X509ExtensionPtr ext(
      X509_EXTENSION_create_by_NID(nullptr, NID_id_pkix_OCSP_Nonce, 0, value.get()));
  if (!ext || OCSP_BASICRESP_add_ext(basic, ext.get(), -1) != 1) {
    return opensslFailure("OCSP nonce");
  }
  return {};
}

}  // namespace

Result<OcspRequest> parseOcspRequest(const std::string& der) {
  if (der.empty()) return makeError("not an OCSP request: no bytes");
  const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = begin;
  OcspRequestPtr request(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size())));
  if (!request) return opensslFailure("not an OCSP request");
  if (p != begin + der.size()) return makeError("not an OCSP request: trailing bytes after it");

  int count = OCSP_request_onereq_count(request.get());
  if (count <= 0) return makeError("OCSP request asks about no certificate");
  OcspRequest out;
  for (int i = 0; i < count; ++i) {
    auto query = queryOf(OCSP_onereq_get0_id(OCSP_request_onereq_get0(request.get(), i)));
    if (!query) return query.error();
    out.queries.push_back(std::move(*query));
  }
  int nonceAt = OCSP_REQUEST_get_ext_by_NID(request.get(), NID_id_pkix_OCSP_Nonce, -1);
  if (nonceAt >= 0) {
    out.nonce = bytesOf(X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(request.get(), nonceAt)));
  }
  return out;
}

IssuerHashes issuerHashesOf(const Certificate& issuer) {
  std::string name = issuer.subjectNameDer();
  std::string key = issuer.publicKeyBitString();
  return IssuerHashes{digestOf(name, EVP_sha1()), digestOf(key, EVP_sha1()),
                      digestOf(name, EVP_sha256()), digestOf(key, EVP_sha256())};
}

bool matches(const IssuerHashes& issuer, const CertIdQuery& query) {
  switch (query.hash) {
    case CertIdHash::Sha1:
      return query.issuerNameHash == issuer.nameSha1 && query.issuerKeyHash == issuer.keySha1;
    case CertIdHash::Sha256:
      return query.issuerNameHash == issuer.nameSha256 && query.issuerKeyHash == issuer.keySha256;
    case CertIdHash::Other: break;
  }
  return false;
}

Result<std::string> signOcspResponse(const std::vector<SingleAnswer>& answers,
                                     const std::optional<std::string>& nonce,
                                     const Certificate& issuerCert, const PrivateKey& issuerKey,
                                     Digest digest, TimePoint now) {
  if (answers.empty()) return makeError("an OCSP response needs at least one answer");
  OcspBasicRespPtr basic(OCSP_BASICRESP_new());
  if (!basic) return opensslFailure("creating an OCSP response");
  for (const auto& answer : answers) {
    if (auto r = addAnswer(basic.get(), answer); !r) return r.error();
  }
  if (nonce) {
    if (auto r = addNonce(basic.get(), *nonce); !r) return r.error();
  }
  // OCSP_basic_sign stamps producedAt with the system clock unless told
  // OCSP_NOTIME; the field is reachable only as const, but it is the
  // response's own, freshly allocated, so it is set from the injected clock.
  // The CA's certificate goes with the response: a verifier such as nginx's
  // ssl_stapling_verify looks for the signer only there and in the server's
  // own chain, which rarely holds the root.
  unsigned long flags = OCSP_RESPID_KEY;
  auto* producedAt = const_cast<ASN1_GENERALIZEDTIME*>(OCSP_resp_get0_produced_at(basic.get()));
  if (producedAt != nullptr &&
      ASN1_GENERALIZEDTIME_set(producedAt, static_cast<time_t>(toUnixSeconds(now))) != nullptr) {
    flags |= OCSP_NOTIME;
  }
  if (OCSP_basic_sign(basic.get(), issuerCert.get(), issuerKey.get(), evpDigest(digest), nullptr,
                      flags) != 1) {
    return opensslFailure("signing the OCSP response");
  }
  OcspResponsePtr response(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  std::string der = response ? derOf(i2d_OCSP_RESPONSE, response.get()) : "";
  if (der.empty()) return opensslFailure("encoding the OCSP response");
  return der;
}

std::string ocspErrorResponse(OcspErrorStatus status) {
  // Built by hand: it cannot fail, so an error can always be answered.
  return std::string{
      0x30, 0x03,                     // OCSPResponse ::= SEQUENCE, 3 bytes
      0x0A, 0x01,                     //   responseStatus ENUMERATED, 1 byte
      static_cast<char>(status),      //   the status; no responseBytes
  };
}

}  // namespace revoca::pki
