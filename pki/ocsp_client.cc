#include "pki/ocsp_client.h"

#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "pki/crl.h"
#include "pki/openssl_handles.h"
#include "pki/openssl_util.h"

namespace revoca::pki {
namespace {

using X509StorePtr = OpensslPtr<X509_STORE, X509_STORE_free>;
using StringStackPtr = OpensslPtr<STACK_OF(OPENSSL_STRING), X509_email_free>;
void freeCertStack(STACK_OF(X509)* stack) { sk_X509_free(stack); }  // the certificates are not its own
using CertStackPtr = OpensslPtr<STACK_OF(X509), freeCertStack>;

// OCSP_RESPONSE over HTTP POST; the request's serial is in `certId`.
Result<OcspResponsePtr> post(const std::string& url, OCSP_REQUEST* request, std::chrono::seconds timeout) {
  BioPtr requestBio(BIO_new(BIO_s_mem()));
  if (!requestBio || i2d_OCSP_REQUEST_bio(requestBio.get(), request) <= 0) return makeError("cannot encode the OCSP request");
  char *host = nullptr, *port = nullptr, *path = nullptr;
  int tls = 0;
  if (!OSSL_HTTP_parse_url(url.c_str(), &tls, nullptr, &host, &port, nullptr, &path, nullptr, nullptr))
    return makeError("cannot read the OCSP URL " + url);
  OpensslStringPtr ownedHost(host), ownedPort(port), ownedPath(path);
  if (tls) return makeError("the OCSP URL " + url + " is https; OCSP is served over plain HTTP (RFC 6960)");
  BIO* answer = OSSL_HTTP_transfer(nullptr, host, port, path, 0, nullptr, nullptr, nullptr, nullptr, nullptr,
                                   nullptr, 0, nullptr, "application/ocsp-request", requestBio.get(),
                                   "application/ocsp-response", 1, 100 * 1024, static_cast<int>(timeout.count()), 0);
  if (answer == nullptr) return makeError("no OCSP answer from " + url + ": " + opensslError());
  BioPtr answerBio(answer);
  OcspResponsePtr response(d2i_OCSP_RESPONSE_bio(answerBio.get(), nullptr));
  if (!response) return makeError(url + " answered something that is not an OCSP response");
  return response;
}

}  // namespace

std::optional<std::string> ocspUrlOf(const Certificate& certificate) {
  StringStackPtr urls(X509_get1_ocsp(certificate.get()));
  if (!urls || sk_OPENSSL_STRING_num(urls.get()) == 0) return std::nullopt;
  return std::string(sk_OPENSSL_STRING_value(urls.get(), 0));
}

Result<OcspCheck> checkOcsp(const Certificate& certificate, const Certificate& issuer, std::chrono::seconds timeout) {
  auto url = ocspUrlOf(certificate);
  if (!url) return makeError("the certificate names no OCSP responder (no Authority Information Access OCSP URL)");
  OcspRequestPtr request(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), certificate.get(), issuer.get());
  if (!request || id == nullptr || OCSP_request_add0_id(request.get(), id) == nullptr) {
    OCSP_CERTID_free(id);
    return makeError("cannot build the OCSP request");
  }
  OcspCertIdPtr query(OCSP_cert_to_id(EVP_sha1(), certificate.get(), issuer.get()));
  auto response = post(*url, request.get(), timeout);
  if (!response) return response.error();
  int responseStatus = OCSP_response_status(response->get());
  if (responseStatus != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return makeError(*url + " refused the request: " + OCSP_response_status_str(responseStatus));
  OcspBasicRespPtr basic(OCSP_response_get1_basic(response->get()));
  if (!basic) return makeError(*url + " answered without a basic OCSP response");

  // Signed by the issuer itself, or by a responder certificate it issued.
  X509StorePtr store(X509_STORE_new());
  CertStackPtr trusted(sk_X509_new_null());
  if (!store || !trusted || !X509_STORE_add_cert(store.get(), issuer.get()) || !sk_X509_push(trusted.get(), issuer.get()))
    return makeError("cannot set up OCSP signature verification");
  if (OCSP_basic_verify(basic.get(), trusted.get(), store.get(), OCSP_TRUSTOTHER) <= 0)
    return makeError(*url + " answered with a signature the issuer does not vouch for: " + opensslError());

  int status = 0, reason = -1;
  ASN1_GENERALIZEDTIME *revokedAt = nullptr, *thisUpdate = nullptr, *nextUpdate = nullptr;
  if (!OCSP_resp_find_status(basic.get(), query.get(), &status, &reason, &revokedAt, &thisUpdate, &nextUpdate))
    return makeError(*url + " answered about another certificate");
  OcspCheck check;
  check.url = *url;
  check.status = OCSP_cert_status_str(status);
  if (auto time = fromAsn1Time(thisUpdate)) check.thisUpdate = *time;
  if (nextUpdate)
    if (auto time = fromAsn1Time(nextUpdate)) check.nextUpdate = *time;
  if (status == V_OCSP_CERTSTATUS_REVOKED) {
    if (revokedAt)
      if (auto time = fromAsn1Time(revokedAt)) check.revokedAt = *time;
    check.revocationReason = revocationReasonName(reason < 0 ? RevocationReason::Unspecified
                                                             : static_cast<RevocationReason>(reason));
  }
  return check;
}

}  // namespace revoca::pki
