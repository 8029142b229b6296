#include "pki/ocsp.h"

#include <optional>

#include "pki/der.h"
#include "pki/ocsp_request_reader.h"
#include "pki/openssl_util.h"
#include "pki/signature.h"

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

// RFC 6960 4.2.1, as DER: OpenSSL's OCSP_basic_sign builds the same
// response as objects, copies them and encodes them three times (to sign,
// to pack, to send); with a nonce (no cache) that was half of the cost of an
// answer. These few fields are written directly, as the CRL's entries are.
namespace ocsp_der {

constexpr unsigned char kContext0Primitive = 0x80;  // good [0] IMPLICIT NULL
constexpr unsigned char kContext1 = 0xA1;           // revoked [1] IMPLICIT RevokedInfo; [1] EXPLICIT Extensions
constexpr unsigned char kContext2Primitive = 0x82;  // unknown [2] IMPLICIT NULL
constexpr unsigned char kContext2 = 0xA2;           // byKey [2] EXPLICIT KeyHash
// id-pkix-ocsp-basic (1.3.6.1.5.5.7.48.1.1) and id-pkix-ocsp-nonce (...48.1.2), as OID TLVs.
constexpr char kBasicOid[] = "\x06\x09\x2B\x06\x01\x05\x05\x07\x30\x01\x01";
constexpr char kNonceOid[] = "\x06\x09\x2B\x06\x01\x05\x05\x07\x30\x01\x02";

// SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate,
//   nextUpdate [0] EXPLICIT GeneralizedTime }
Result<std::string> singleResponse(const SingleAnswer& answer) {
  if (answer.query == nullptr) return makeError("OCSP answer without its query");
  if (answer.nextUpdate <= answer.thisUpdate) return makeError("OCSP answer nextUpdate must be after thisUpdate");
  const std::string& certId = answer.query->certIdDer;
  auto element = der::read(certId, 0);
  if (!element || element->tag != der::kSequence || element->end != certId.size())
    return makeError("OCSP answer with an unreadable CertID");
  std::string content = certId;  // echoed byte for byte
  switch (answer.status) {
    case CertStatus::Good: der::appendTlv(content, kContext0Primitive, ""); break;
    case CertStatus::Unknown: der::appendTlv(content, kContext2Primitive, ""); break;
    case CertStatus::Revoked: {
      // RevokedInfo ::= SEQUENCE { revocationTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL };
      // as in the CRL, "unspecified" is said by leaving the reason out.
      std::string revoked = der::generalizedTime(answer.revokedAt);
      if (answer.reason != RevocationReason::Unspecified)
        der::appendTlv(revoked, der::kContext0,
                       der::tlv(der::kEnumerated, std::string(1, static_cast<char>(answer.reason))));
      der::appendTlv(content, kContext1, revoked);
      break;
    }
  }
  der::appendGeneralizedTime(content, answer.thisUpdate);
  der::appendTlv(content, der::kContext0, der::generalizedTime(answer.nextUpdate));
  return der::tlv(der::kSequence, content);
}

}  // namespace ocsp_der

}  // namespace

Result<OcspRequest> parseOcspRequest(const std::string& der) {
  if (auto common = readCommonOcspRequest(der)) return std::move(*common);
  return parseOcspRequestWithOpenssl(der);
}

Result<OcspRequest> parseOcspRequestWithOpenssl(const std::string& der) {
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

namespace {

// What depends only on the responder's certificate and key: worked out once
// per thread for the pair in use rather than for every answer (the key
// check and the SHA-1 of the key were ~5% of a signed answer). The copies
// keep both alive, so the addresses compared stay theirs.
struct ResponderFacts {
  Certificate cert;
  PrivateKey key;
  std::string keyHash;  // SHA-1 of the responder's public key: the byKey ResponderID
  std::string certs;    // the BasicOCSPResponse's certs field, whole, or empty: see certsFieldOf
};

// What the answers of a CA that signs them itself carry in
// `certs [0] EXPLICIT SEQUENCE OF Certificate`: a root's own certificate,
// nothing for an intermediate. Two verifiers draw the line:
// - nginx's ssl_stapling_verify looks for the signer only in `certs` and in
//   the server's chain (ssl_certificate), and a server's chain rightly stops
//   below the root: a root's answers must carry the root.
// - Go's golang.org/x/crypto/ocsp (ParseResponseForCert) takes certs[0] for a
//   delegated responder and requires the issuer to have signed it
//   (golang/go#59641): a root has signed itself, an intermediate never has,
//   so its answers carry nothing, as Let's Encrypt's do. Verifiers find it
//   where they find the issuer: nginx in the server's chain, which holds it.
// The cost: Erlang/OTP's public_key:pkix_ocsp_validate reads answers
// without certs only from OTP 27 on (erlang/otp#8353).
Result<std::string> certsFieldOf(const Certificate& signer) {
  if (!signer.signedByItsOwnKey()) return std::string();
  std::string certificate = signer.toDer();
  if (certificate.empty()) return opensslFailure("encoding the responder's certificate");
  return der::tlv(der::kContext0, der::tlv(der::kSequence, certificate));
}

Result<const ResponderFacts*> responderFacts(const Certificate& cert, const PrivateKey& key) {
  thread_local std::optional<ResponderFacts> facts;
  if (facts && facts->cert.get() == cert.get() && facts->key.get() == key.get()) return &*facts;
  facts.reset();
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    return opensslFailure("signing the OCSP response: the key does not belong to the responder's certificate");
  std::string keyHash = digestOf(cert.publicKeyBitString(), EVP_sha1());
  if (keyHash.empty()) return opensslFailure("hashing the responder's key");
  auto certs = certsFieldOf(cert);
  if (!certs) return certs.error();
  facts.emplace(ResponderFacts{cert, key, std::move(keyHash), std::move(*certs)});
  return &*facts;
}

}  // namespace

Result<std::string> signOcspResponse(const std::vector<SingleAnswer>& answers,
                                     const std::optional<std::string>& nonce,
                                     const Certificate& issuerCert, const PrivateKey& issuerKey,
                                     Digest digest, TimePoint now) {
  using namespace ocsp_der;
  if (answers.empty()) return makeError("an OCSP response needs at least one answer");
  auto facts = responderFacts(issuerCert, issuerKey);
  if (!facts) return facts.error();
  // ResponseData ::= SEQUENCE { responderID, producedAt, responses,
  //   responseExtensions [1] EXPLICIT Extensions OPTIONAL } (version v1 is the default: left out)
  std::string data = der::tlv(kContext2, der::tlv(der::kOctetString, (*facts)->keyHash));
  der::appendGeneralizedTime(data, now);
  std::string responses;
  for (const auto& answer : answers) {
    auto single = singleResponse(answer);
    if (!single) return single.error();
    responses += *single;
  }
  der::appendTlv(data, der::kSequence, responses);
  if (nonce) {
    // The request's extnValue, byte for byte, as OCSP_copy_nonce copies it:
    // clients compare the two exactly.
    std::string extension = der::tlv(der::kSequence, std::string(kNonceOid, sizeof kNonceOid - 1) +
                                                         der::tlv(der::kOctetString, *nonce));
    der::appendTlv(data, kContext1, der::tlv(der::kSequence, extension));
  }
  std::string tbs = der::tlv(der::kSequence, data);

  auto signature = signDer(tbs, issuerKey, digest, "signing the OCSP response");
  if (!signature) return signature.error();
  // BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm,
  //   signature BIT STRING (0 unused bits), certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
  std::string basic = der::tlv(
      der::kSequence, tbs + signature->algorithmDer + der::tlv(der::kBitString, std::string(1, '\0') + signature->value) +
                          (*facts)->certs);
  // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED successful(0),
  //   responseBytes [0] EXPLICIT SEQUENCE { responseType, response OCTET STRING } }
  std::string responseBytes =
      der::tlv(der::kSequence, std::string(kBasicOid, sizeof kBasicOid - 1) + der::tlv(der::kOctetString, basic));
  return der::tlv(der::kSequence, der::tlv(der::kEnumerated, std::string(1, '\0')) +
                                      der::tlv(der::kContext0, responseBytes));
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
