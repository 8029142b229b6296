#pragma once
// The verbs of revocactl that act on a CA, shared by the standalone admin
// socket and revocactl against a cluster: issue-cert, revoke-cert, get-crl,
// get-ca-cert, get-tenant-uuid.
// Requests and answers are JSON: {"ok": true, "result": {...}} or
// {"ok": false, "error": "one clear line"}.
#include <nlohmann/json.hpp>

#include "declarations/kind.h"
#include "reconcilers/authority_service.h"

namespace revoca {

struct AuthorityCommandContext {
  AuthorityService& authorities;
  StateStore& store;
  CaRegistry& registry;
  const Clock& clock;
};

nlohmann::json issueCert(AuthorityCommandContext& context, const nlohmann::json& request);
nlohmann::json revokeCert(AuthorityCommandContext& context, const nlohmann::json& request);
nlohmann::json getCrl(AuthorityCommandContext& context, const nlohmann::json& request);
nlohmann::json getCaCert(AuthorityCommandContext& context, const nlohmann::json& request);
nlohmann::json getTenantUuid(AuthorityCommandContext& context, const nlohmann::json& request);

// The current certificate of a VaultSecret or CertificateAuthority from the
// state (what `revocactl status KIND/NAME` shows beside the conditions):
// {"certificate": PEM, "issuer": PEM, "serial", "notBefore", "notAfter",
//  "issuingCa", "caVersion", "revocation": {...} or null}; never a key.
Result<nlohmann::json> describeCertificate(StateStore& store, Kind kind, const ObjectKey& key);

nlohmann::json commandFailure(const std::string& message);
nlohmann::json commandSuccess(nlohmann::json result);
// The object names a request gives ("namespace", "ca", "name") follow the rules of
// declarations' metadata.name, or the request is refused.
Result<void> checkRequestNames(const nlohmann::json& request);
// A string field of a request, or `fallback`.
std::string requestText(const nlohmann::json& request, const char* field, const std::string& fallback = "");
// The kind a request names ("kind": "VaultSecret"), or why it names none of revoca's.
Result<Kind> requestKind(const nlohmann::json& request);

}  // namespace revoca
