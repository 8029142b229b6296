#pragma once
// revocactl's requests and answers as JSON, the one place they are text:
// a request as revocactl sends it ({"verb": "issue-cert", "namespace": ...,
// "ca": ..., ...}) parsed into its typed request, and a typed result rendered
// into the answer {"ok": true, "result": {...}} or {"ok": false, "error":
// "one clear line"}. The standalone admin socket and revocactl against a
// cluster both answer through it, so the two speak the same format.
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "reconcilers/authority_commands.h"

namespace revoca {

using RevocactlRequest = std::variant<IssueCertRequest, RevokeCertRequest, CrlRequest, CaCertRequest,
                                      TenantUuidRequest, StatusRequest>;

// The typed request of the verb a request names, or the one line that
// refuses it: a name that breaks the rules of metadata.name, a missing or
// bad field (named as revocactl's flag), an unknown verb or kind.
Result<RevocactlRequest> parseRevocactlRequest(const nlohmann::json& request);

nlohmann::json toJson(const IssuedLeaf& issued);
nlohmann::json toJson(const Revoked& revoked);
nlohmann::json toJson(const CaCrl& crl);
nlohmann::json toJson(const CaCertificate& ca);
nlohmann::json toJson(const TenantUuid& tenant);
// {"certificate": PEM, "issuer": PEM, "serial", "notBefore", "notAfter",
//  "issuingCa", "caVersion"}, and for a VaultSecret "revocation": {...} or null.
nlohmann::json toJson(const CertificateDescription& described);

nlohmann::json commandFailure(const std::string& message);
nlohmann::json commandSuccess(nlohmann::json result);

template <typename T>
nlohmann::json commandAnswer(const Result<T>& result) {
  return result ? commandSuccess(toJson(*result)) : commandFailure(result.error().message);
}

}  // namespace revoca
