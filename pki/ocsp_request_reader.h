#pragma once
// The OCSP request every client sends (OpenSSL, Go, Erlang's public_key,
// nginx's and EMQX's stapling), read straight from its DER: parsing it
// with OpenSSL's ASN.1 templates and writing each CertID back out was half
// of the CPU of a cached answer (bench/README.md). Private to pki/.
//
// Reads only that shape, in strict DER: an unsigned request, version absent
// or v1, no requestorName, no per-certificate extensions, SHA-1 or SHA-256
// CertIDs with absent or NULL parameters, non-negative serials. Anything
// else gives nullopt, and parseOcspRequest asks OpenSSL, which accepts more;
// so this reader never refuses a request OpenSSL would take, and what it
// reads OpenSSL reads the same way (the ocsp_request fuzzer checks both).
#include <optional>
#include <string_view>

#include "pki/ocsp.h"

namespace revoca::pki {

std::optional<OcspRequest> readCommonOcspRequest(std::string_view der);

// OpenSSL's reading of the same bytes, for the fuzzer's comparison.
Result<OcspRequest> parseOcspRequestWithOpenssl(const std::string& der);

}  // namespace revoca::pki
