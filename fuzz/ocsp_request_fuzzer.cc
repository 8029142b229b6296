// Target (a1): a POSTed OCSPRequest, DER, as CaRegistry gets it from the
// router: parsed by pki::parseOcspRequest, then answered for the fuzz CA
// (matching its hashes, looking serials up, signing, caching). Whatever
// revoca's own DER reader reads, OpenSSL must read the same way.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_authority.h"
#include "fuzz/ocsp_checks.h"
#include "pki/ocsp_request_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace revoca;
  const fuzz::FuzzAuthority& authority = fuzz::fuzzAuthority();
  std::string der(reinterpret_cast<const char*>(data), size);

  if (auto common = pki::readCommonOcspRequest(der)) {
    auto openssl = pki::parseOcspRequestWithOpenssl(der);
    FUZZ_CHECK(openssl.ok(), "revoca's reader took a request OpenSSL refuses");
    fuzz::checkSameReading(*common, *openssl);
  }

  auto request = pki::parseOcspRequest(der);
  if (request) fuzz::checkParsedRequest(*request);
  else FUZZ_CHECK(!request.error().message.empty(), "a refused request without a reason");

  fuzz::checkReply(authority.registry->ocsp(fuzz::kTenant, fuzz::kCaName, der), request.ok());
  return 0;
}
