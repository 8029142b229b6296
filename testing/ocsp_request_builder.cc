#include "testing/ocsp_request_builder.h"

#include <openssl/x509.h>

namespace revoca::testing {

OCSP_CERTID* sha256Id(const pki::Certificate& leaf, const pki::Certificate& issuer) {
  return OCSP_cert_id_new(EVP_sha256(), X509_get_subject_name(issuer.get()), X509_get0_pubkey_bitstr(issuer.get()),
                          X509_get0_serialNumber(leaf.get()));
}

OcspRequestBuilder::OcspRequestBuilder() : request_(OCSP_REQUEST_new()) {}

OcspRequestBuilder& OcspRequestBuilder::add(OCSP_CERTID* id) {
  ids_.emplace_back(OCSP_CERTID_dup(id));
  OCSP_request_add0_id(request_.get(), id);
  return *this;
}

OcspRequestBuilder& OcspRequestBuilder::addCopyOf(const OCSP_CERTID* id) { return add(OCSP_CERTID_dup(id)); }

OcspRequestBuilder& OcspRequestBuilder::nonce(std::string value) {
  auto* bytes = value.empty() ? nullptr : reinterpret_cast<unsigned char*>(value.data());
  OCSP_request_add1_nonce(request_.get(), bytes, value.empty() ? -1 : static_cast<int>(value.size()));
  return *this;
}

std::string OcspRequestBuilder::der() const {
  unsigned char* der = nullptr;
  int len = i2d_OCSP_REQUEST(request_.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace revoca::testing
