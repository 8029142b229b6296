#pragma once
// What the OCSP targets assert of every answer, whatever the request.
#include <openssl/ocsp.h>

#include <string>

#include "fuzz/check.h"
#include "pki/der.h"
#include "pki/ocsp.h"
#include "responder/revocation_source.h"

namespace revoca::fuzz {

// A parsed request is one the signer can echo: at least one CertID, each a
// whole DER SEQUENCE (signOcspResponse copies it byte for byte) with a serial.
inline void checkParsedRequest(const pki::OcspRequest& request) {
  FUZZ_CHECK(!request.queries.empty(), "a parsed OCSP request asks about no certificate");
  for (const auto& query : request.queries) {
    FUZZ_CHECK(!query.serialHex.empty(), "a parsed CertID without a serial");
    auto element = pki::der::read(query.certIdDer, 0);
    FUZZ_CHECK(element && element->tag == pki::der::kSequence && element->end == query.certIdDer.size(),
               "a parsed CertID that is not one DER SEQUENCE");
  }
}

// revoca's DER reader (the common shape) against OpenSSL's parser.
inline void checkSameReading(const pki::OcspRequest& fast, const pki::OcspRequest& openssl) {
  FUZZ_CHECK(fast.queries.size() == openssl.queries.size(), "the readers count different CertIDs");
  for (std::size_t i = 0; i < fast.queries.size(); ++i) {
    const auto& a = fast.queries[i];
    const auto& b = openssl.queries[i];
    FUZZ_CHECK(a.hash == b.hash && a.issuerNameHash == b.issuerNameHash &&
                   a.issuerKeyHash == b.issuerKeyHash && a.serialHex == b.serialHex &&
                   a.certIdDer == b.certIdDer,
               "the readers read a CertID differently");
  }
  FUZZ_CHECK(fast.nonce == openssl.nonce, "the readers read the nonce differently");
}

// RevocationSource's contract: the reply is always a whole OCSPResponse,
// error or not, and malformed input gets malformedRequest.
inline void checkReply(const responder::OcspReply& reply, bool requestParsed) {
  const auto* p = reinterpret_cast<const unsigned char*>(reply.der.data());
  OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(reply.der.size()));
  FUZZ_CHECK(response != nullptr, "the reply is not an OCSPResponse");
  bool whole = p == reinterpret_cast<const unsigned char*>(reply.der.data()) + reply.der.size();
  int status = OCSP_response_status(response);
  OCSP_RESPONSE_free(response);
  FUZZ_CHECK(whole, "bytes after the OCSPResponse");
  if (!requestParsed) {
    FUZZ_CHECK(status == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, "unparseable request not answered malformedRequest");
    FUZZ_CHECK(reply.outcome == responder::OcspOutcome::Malformed, "unparseable request not counted as malformed");
  }
  if (status == OCSP_RESPONSE_STATUS_SUCCESSFUL)
    FUZZ_CHECK(reply.thisUpdate && reply.nextUpdate && *reply.thisUpdate < *reply.nextUpdate,
               "a signed answer without a validity window");
}

}  // namespace revoca::fuzz
