// Target (a1): a POSTed OCSPRequest, DER, as CaRegistry gets it from the
// router: parsed by pki::parseOcspRequest, then answered for the fuzz CA
// (matching its hashes, looking serials up, signing, caching).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_authority.h"
#include "fuzz/ocsp_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace revoca;
  const fuzz::FuzzAuthority& authority = fuzz::fuzzAuthority();
  std::string der(reinterpret_cast<const char*>(data), size);

  auto request = pki::parseOcspRequest(der);
  if (request) fuzz::checkParsedRequest(*request);
  else FUZZ_CHECK(!request.error().message.empty(), "a refused request without a reason");

  fuzz::checkReply(authority.registry->ocsp(fuzz::kTenant, fuzz::kCaName, der), request.ok());
  return 0;
}
