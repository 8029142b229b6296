#pragma once
// OCSP requests built the way OpenSSL clients (and EMQX's peers) build them:
// the tests ask revoca with them, and bench/revoca_bench asks as a client does.
#include <openssl/ocsp.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "pki/certificate.h"

namespace revoca::testing {

// The CertID of `leaf` with SHA-256 hashes (OCSP_cert_to_id makes SHA-1
// ones); the caller owns it.
OCSP_CERTID* sha256Id(const pki::Certificate& leaf, const pki::Certificate& issuer);

class OcspRequestBuilder {
 public:
  OcspRequestBuilder();

  // Takes `id`, as OCSP_request_add0_id does.
  OcspRequestBuilder& add(OCSP_CERTID* id);
  // Adds a copy: `id` stays the caller's.
  OcspRequestBuilder& addCopyOf(const OCSP_CERTID* id);
  // Empty: 16 random bytes, as OpenSSL clients send.
  OcspRequestBuilder& nonce(std::string value = "");

  std::string der() const;
  OCSP_REQUEST* get() const { return request_.get(); }
  // A copy of the i-th id added, for OCSP_resp_find_status: the request owns the one it was handed.
  OCSP_CERTID* id(std::size_t i) const { return ids_[i].get(); }

 private:
  struct RequestFree {
    void operator()(OCSP_REQUEST* request) const { OCSP_REQUEST_free(request); }
  };
  struct IdFree {
    void operator()(OCSP_CERTID* id) const { OCSP_CERTID_free(id); }
  };
  std::unique_ptr<OCSP_REQUEST, RequestFree> request_;
  std::vector<std::unique_ptr<OCSP_CERTID, IdFree>> ids_;
};

}  // namespace revoca::testing
