#include "pki/openssl_util.h"

#include <ctime>

#include <openssl/err.h>

#include "pki/certificate.h"

namespace revoca::pki {

std::string opensslError() {
  std::string out;
  char buf[256];
  while (unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail" : out;
}

Error opensslFailure(const std::string& what) {
  return makeError(what + ": " + opensslError());
}

const EVP_MD* evpDigest(Digest digest) {
  switch (digest) {
    case Digest::Sha384: return EVP_sha384();
    case Digest::Sha512: return EVP_sha512();
    case Digest::Sha256: break;
  }
  return EVP_sha256();
}

Asn1TimePtr toAsn1Time(TimePoint t) {
  return Asn1TimePtr(ASN1_TIME_set(nullptr, static_cast<time_t>(toUnixSeconds(t))));
}

Asn1GeneralizedTimePtr toGeneralizedTime(TimePoint t) {
  return Asn1GeneralizedTimePtr(
      ASN1_GENERALIZEDTIME_set(nullptr, static_cast<time_t>(toUnixSeconds(t))));
}

Result<TimePoint> fromAsn1Time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return opensslFailure("invalid ASN.1 time");
  return fromUnixSeconds(timegm(&tm));
}

std::string serialHexOf(const ASN1_INTEGER* serial) {
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return "";
  OpensslStringPtr hex(BN_bn2hex(bn.get()));
  if (!hex) return "";
  // BN_bn2hex prints whole bytes ("0F"); the canonical form has no leading zeros.
  std::string text(hex.get());
  bool negative = !text.empty() && text[0] == '-';
  std::string digits = negative ? text.substr(1) : text;
  std::size_t first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? "0" : digits.substr(first);
  return negative ? "-" + digits : digits;
}

Result<Asn1IntegerPtr> serialFromHex(const std::string& hex) {
  auto normalized = normalizeSerialHex(hex);
  if (!normalized) return normalized.error();
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, normalized->c_str()) == 0) return opensslFailure("serial " + *normalized);
  BignumPtr bn(raw);
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial) return opensslFailure("serial " + *normalized);
  return serial;
}

std::string bioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

Result<Asn1OctetStringPtr> keyIdentifierOf(X509* issuer) {
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer)) {
    Asn1OctetStringPtr copy(ASN1_OCTET_STRING_dup(ski));
    if (!copy) return opensslFailure("copying the issuer's subject key identifier");
    return copy;
  }
  return publicKeyIdOf(issuer);
}

Result<Asn1OctetStringPtr> publicKeyIdOf(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  Asn1OctetStringPtr id(ASN1_OCTET_STRING_new());
  if (!id || X509_pubkey_digest(cert, EVP_sha1(), md, &len) != 1 ||
      ASN1_OCTET_STRING_set(id.get(), md, static_cast<int>(len)) != 1) {
    return opensslFailure("hashing a public key");
  }
  return id;
}

Result<GeneralNamePtr> uriName(const std::string& uri) {
  if (uri.empty()) return makeError("empty URL");
  OpensslPtr<ASN1_IA5STRING, ASN1_IA5STRING_free> text(ASN1_IA5STRING_new());
  GeneralNamePtr name(GENERAL_NAME_new());
  if (!text || !name ||
      ASN1_STRING_set(text.get(), uri.data(), static_cast<int>(uri.size())) != 1) {
    return opensslFailure("URL " + uri);
  }
  GENERAL_NAME_set0_value(name.get(), GEN_URI, text.release());
  return name;
}

}  // namespace revoca::pki
