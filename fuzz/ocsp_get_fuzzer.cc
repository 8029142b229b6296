// Target (a2): the request part of GET /ocsp/<tenant>/<ca>/<url-encoded
// base64 OCSPRequest> (RFC 6960 appendix A.1): decoded by
// responder/ocsp_get, then parsed and answered like a POSTed request.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_authority.h"
#include "fuzz/ocsp_checks.h"
#include "responder/ocsp_get.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace revoca;
  const fuzz::FuzzAuthority& authority = fuzz::fuzzAuthority();
  std::string_view urlPart(reinterpret_cast<const char*>(data), size);

  auto unescaped = responder::percentDecode(urlPart);
  if (unescaped) FUZZ_CHECK(unescaped->size() <= urlPart.size(), "percent-decoding made the text longer");
  auto der = responder::decodeOcspGetRequest(urlPart);
  if (!der) return 0;
  FUZZ_CHECK(!der->empty(), "an empty OCSP request decoded from the URL");
  FUZZ_CHECK(der->size() <= urlPart.size() * 3 / 4 + 3, "base64 decoded to more bytes than it can hold");

  auto request = pki::parseOcspRequest(*der);
  if (request) fuzz::checkParsedRequest(*request);
  fuzz::checkReply(authority.registry->ocsp(fuzz::kTenant, fuzz::kCaName, *der), request.ok());
  return 0;
}
