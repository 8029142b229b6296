#pragma once
// Reads what the code under test signed with OpenSSL's own parsers, so the
// tests check the DER a peer would see rather than revoca's view of it.
#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <optional>
#include <string>
#include <vector>

#include "pki/certificate.h"

namespace revoca::testing {

inline std::string asn1Text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

inline std::vector<std::string> uris(const GENERAL_NAMES* names) {
  std::vector<std::string> out;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_URI) out.push_back(asn1Text(name->d.uniformResourceIdentifier));
  }
  return out;
}

// The fullName URIs of the certificate's CRL Distribution Points.
inline std::vector<std::string> crlDistributionUrls(const pki::Certificate& cert) {
  std::vector<std::string> out;
  auto* points = static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(cert.get(), NID_crl_distribution_points, nullptr, nullptr));
  for (int i = 0; points && i < sk_DIST_POINT_num(points); ++i) {
    const DIST_POINT* point = sk_DIST_POINT_value(points, i);
    if (point->distpoint && point->distpoint->type == 0)
      for (auto& uri : uris(point->distpoint->name.fullname)) out.push_back(uri);
  }
  CRL_DIST_POINTS_free(points);
  return out;
}

// The Authority Information Access OCSP URIs.
inline std::vector<std::string> ocspUrls(const pki::Certificate& cert) {
  std::vector<std::string> out;
  STACK_OF(OPENSSL_STRING)* list = X509_get1_ocsp(cert.get());
  for (int i = 0; list && i < sk_OPENSSL_STRING_num(list); ++i) out.push_back(sk_OPENSSL_STRING_value(list, i));
  X509_email_free(list);
  return out;
}

// True when `cert` carries a signature `issuer`'s key made.
inline bool signedBy(const pki::Certificate& cert, const pki::Certificate& issuer) {
  return X509_verify(cert.get(), X509_get0_pubkey(issuer.get())) == 1 &&
         X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(issuer.get())) == 0;
}

// A CRL as a relying party reads it.
class ParsedCrl {
 public:
  explicit ParsedCrl(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    crl_ = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  }
  ~ParsedCrl() { X509_CRL_free(crl_); }
  ParsedCrl(const ParsedCrl&) = delete;
  ParsedCrl& operator=(const ParsedCrl&) = delete;

  bool valid() const { return crl_ != nullptr; }
  bool signedBy(const pki::Certificate& issuer) const {
    return crl_ && X509_CRL_verify(crl_, X509_get0_pubkey(issuer.get())) == 1;
  }
  int signatureNid() const { return crl_ ? X509_CRL_get_signature_nid(crl_) : NID_undef; }
  long number() const {
    auto* n = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl_, NID_crl_number, nullptr, nullptr));
    long value = n ? ASN1_INTEGER_get(n) : -1;
    ASN1_INTEGER_free(n);
    return value;
  }
  int entryCount() const {
    if (!crl_) return -1;
    STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl_);
    return entries ? sk_X509_REVOKED_num(entries) : 0;  // absent when empty
  }
  // The reason code of `serialHex`'s entry; nullopt when it is not listed
  // (-1 when listed without a reason).
  std::optional<int> reasonOf(const std::string& serialHex) const {
    BIGNUM* bn = nullptr;
    BN_hex2bn(&bn, serialHex.c_str());
    ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
    BN_free(bn);
    X509_REVOKED* entry = nullptr;
    int found = X509_CRL_get0_by_serial(crl_, &entry, serial);
    ASN1_INTEGER_free(serial);
    if (found != 1) return std::nullopt;
    auto* reason = static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr));
    int code = reason ? static_cast<int>(ASN1_ENUMERATED_get(reason)) : -1;
    ASN1_ENUMERATED_free(reason);
    return code;
  }
  bool lists(const std::string& serialHex) const { return reasonOf(serialHex).has_value(); }
  std::vector<std::string> issuingDistributionPoint() const {
    auto* idp = static_cast<ISSUING_DIST_POINT*>(
        X509_CRL_get_ext_d2i(crl_, NID_issuing_distribution_point, nullptr, nullptr));
    std::vector<std::string> out;
    if (idp && idp->distpoint && idp->distpoint->type == 0) out = uris(idp->distpoint->name.fullname);
    ISSUING_DIST_POINT_free(idp);
    return out;
  }

 private:
  X509_CRL* crl_ = nullptr;
};

}  // namespace revoca::testing
