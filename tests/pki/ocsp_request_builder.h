#pragma once
// OCSP requests built the way OpenSSL clients (and EMQX's peers) build them.
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "pki/certificate.h"

namespace revoca::pki::fixtures {

inline std::string derOfRequest(OCSP_REQUEST* request) {
  unsigned char* der = nullptr;
  int len = i2d_OCSP_REQUEST(request, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

inline OCSP_CERTID* sha256Id(const Certificate& leaf, const Certificate& issuer) {
  return OCSP_cert_id_new(EVP_sha256(), X509_get_subject_name(issuer.get()),
                          X509_get0_pubkey_bitstr(issuer.get()),
                          X509_get0_serialNumber(leaf.get()));
}

// A client's request, built the way OpenSSL clients (and EMQX's peers) do.
class OcspRequestBuilder {
 public:
  OcspRequestBuilder() : request_(OCSP_REQUEST_new()) {}
  ~OcspRequestBuilder() { OCSP_REQUEST_free(request_); }
  // Keeps a copy of the id for OCSP_resp_find_status.
  OcspRequestBuilder& add(OCSP_CERTID* id) {
    ids_.emplace_back(OCSP_CERTID_dup(id));
    OCSP_request_add0_id(request_, id);
    return *this;
  }
  // Empty: 16 random bytes, as OpenSSL clients send.
  OcspRequestBuilder& nonce(std::string value = "") {
    auto* bytes = value.empty() ? nullptr : reinterpret_cast<unsigned char*>(value.data());
    OCSP_request_add1_nonce(request_, bytes, value.empty() ? -1 : static_cast<int>(value.size()));
    return *this;
  }
  std::string der() const { return derOfRequest(request_); }
  OCSP_REQUEST* get() const { return request_; }
  OCSP_CERTID* id(std::size_t i) const { return ids_[i].get(); }

 private:
  OCSP_REQUEST* request_;
  struct IdFree {
    void operator()(OCSP_CERTID* id) const { OCSP_CERTID_free(id); }
  };
  std::vector<std::unique_ptr<OCSP_CERTID, IdFree>> ids_;
};

}  // namespace revoca::pki::fixtures
