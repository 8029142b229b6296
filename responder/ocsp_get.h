#pragma once
// Decoding the request carried in an OCSP GET URL (RFC 6960 appendix A.1):
// "url-encoding of base64 encoding of DER encoding of OCSPRequest". Clients
// disagree on the details, so both steps are lenient.
#include <optional>
#include <string>
#include <string_view>

namespace revoca::responder {

// %XX escapes decoded; '+' stays '+' (it is base64, not a form-encoded space).
// nullopt for a truncated or non-hex escape.
std::optional<std::string> percentDecode(std::string_view in);

// Standard or URL-safe alphabet, padding optional, whitespace ignored (some
// clients wrap lines). nullopt when it is not base64 at all.
std::optional<std::string> base64Decode(std::string_view in);

// Both of the above, in order: the OCSPRequest DER, or nullopt.
std::optional<std::string> decodeOcspGetRequest(std::string_view urlPart);

}  // namespace revoca::responder
