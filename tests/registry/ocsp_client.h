#pragma once
// The client side of OCSP for the registry tests: CertIDs the test keeps,
// one-certificate requests (testing/ocsp_request_builder.h builds the
// others), and responses read and verified with OpenSSL.
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <memory>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

#include "pki/certificate.h"
#include "testing/ocsp_request_builder.h"

namespace revoca::testing {

struct CertIdFree {
  void operator()(OCSP_CERTID* id) const { OCSP_CERTID_free(id); }
};
using CertIdPtr = std::unique_ptr<OCSP_CERTID, CertIdFree>;

// SHA-1 by default, as OCSP_cert_to_id makes it; SHA-256 on request.
inline CertIdPtr certId(const pki::Certificate& leaf, const pki::Certificate& issuer, const EVP_MD* md = nullptr) {
  if (!md) return CertIdPtr(OCSP_cert_to_id(nullptr, leaf.get(), issuer.get()));
  return CertIdPtr(OCSP_cert_id_new(md, X509_get_subject_name(issuer.get()), X509_get0_pubkey_bitstr(issuer.get()),
                                    X509_get0_serialNumber(leaf.get())));
}

inline std::string requestFor(const OCSP_CERTID* id, std::optional<std::string> nonce = std::nullopt) {
  OcspRequestBuilder builder;
  builder.addCopyOf(id);
  if (nonce) builder.nonce(*nonce);
  return builder.der();
}

struct SingleStatus {
  int status = -1;  // V_OCSP_CERTSTATUS_*
  int reason = -1;
  std::optional<std::int64_t> revokedAt;  // unix seconds
  std::int64_t thisUpdate = 0, nextUpdate = 0;
};

// A response as a relying party reads it.
class ParsedResponse {
 public:
  ParsedResponse(const std::string& der, const pki::Certificate& signer) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    response_ = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()));
    if (!response_) return;
    status_ = OCSP_response_status(response_);
    basic_ = OCSP_response_get1_basic(response_);
    if (!basic_) return;
    // No certificates ride in the response: the verifier is handed the CA.
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, signer.get());
    STACK_OF(X509)* signers = sk_X509_new_null();
    sk_X509_push(signers, signer.get());
    verified_ = OCSP_basic_verify(basic_, signers, store, OCSP_TRUSTOTHER) == 1;
    sk_X509_free(signers);
    X509_STORE_free(store);
  }
  ~ParsedResponse() {
    OCSP_BASICRESP_free(basic_);
    OCSP_RESPONSE_free(response_);
  }
  ParsedResponse(const ParsedResponse&) = delete;
  ParsedResponse& operator=(const ParsedResponse&) = delete;

  bool parsed() const { return response_ != nullptr; }
  int responseStatus() const { return status_; }  // OCSP_RESPONSE_STATUS_*
  bool verified() const { return verified_; }
  int answerCount() const { return basic_ ? OCSP_resp_count(basic_) : 0; }
  // 1 when the nonce matches, as OCSP_check_nonce reports it.
  int nonceCheck(const OcspRequestBuilder& request) const { return OCSP_check_nonce(request.get(), basic_); }

  std::optional<SingleStatus> find(const OCSP_CERTID* id) const {
    if (!basic_) return std::nullopt;
    SingleStatus out;
    ASN1_GENERALIZEDTIME *revoked = nullptr, *thisUpdate = nullptr, *nextUpdate = nullptr;
    if (OCSP_resp_find_status(basic_, const_cast<OCSP_CERTID*>(id), &out.status, &out.reason, &revoked, &thisUpdate,
                              &nextUpdate) != 1)
      return std::nullopt;
    if (revoked) out.revokedAt = seconds(revoked);
    if (thisUpdate) out.thisUpdate = seconds(thisUpdate);
    if (nextUpdate) out.nextUpdate = seconds(nextUpdate);
    return out;
  }

 private:
  static std::int64_t seconds(const ASN1_GENERALIZEDTIME* t) {
    struct tm tm {};
    ASN1_TIME_to_tm(t, &tm);
    return static_cast<std::int64_t>(timegm(&tm));
  }
  OCSP_RESPONSE* response_ = nullptr;
  OCSP_BASICRESP* basic_ = nullptr;
  int status_ = -1;
  bool verified_ = false;
};

}  // namespace revoca::testing
