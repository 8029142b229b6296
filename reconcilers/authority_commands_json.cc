#include "reconcilers/authority_commands_json.h"

#include "core/duration.h"
#include "core/text.h"
#include "declarations/values.h"
#include "pki/certificate.h"
#include "pki/crl.h"
#include "reconcilers/time_format.h"

namespace revoca {

using nlohmann::json;

namespace {

// A string field, or `fallback` when it is missing or not a string.
std::string text(const json& request, const char* field, const std::string& fallback = "") {
  auto it = request.find(field);
  return it != request.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::string requestNamespace(const json& request) { return text(request, "namespace", "default"); }

Result<void> checkNames(const json& request) {
  // Names become paths in the state directory and the Kubernetes API: they
  // follow the declarations' rules before any verb sees them.
  for (auto [field, flag] :
       {std::pair<const char*, const char*>{"namespace", "--namespace"}, {"ca", "--ca"}, {"name", "the name"}}) {
    auto it = request.find(field);
    if (it == request.end()) continue;
    if (!it->is_string()) return makeError(std::string(flag) + " must be a string");
    std::string name = it->get<std::string>();
    if (name.empty() && std::string_view(field) != "namespace") continue;  // the verb says whether it needs one
    if (Result<void> valid = decl::checkObjectName(name); !valid)
      return makeError(std::string(flag) + ": " + valid.error().message);
  }
  return {};
}

Result<ObjectKey> caKey(const json& request) {
  std::string name = text(request, "ca");
  if (name.empty()) return makeError("--ca is required: name the CertificateAuthority");
  return ObjectKey{requestNamespace(request), name};
}

Result<RevocactlRequest> parseIssueCert(const json& request) {
  auto ca = caKey(request);
  if (!ca) return ca.error();
  LeafRequest leaf;
  leaf.host = text(request, "host");
  if (leaf.host.empty()) return makeError("--host is required: the certificate's DNS name or IP address");
  auto ttl = parseDuration(text(request, "ttl", "1d"));
  if (!ttl) return makeError("--ttl: " + ttl.error().message);
  if (ttl->count() <= 0) return makeError("--ttl must be longer than 0s; write e.g. 30d");
  leaf.ttl = *ttl;
  std::string type = text(request, "certType", "client");
  if (type != "client" && type != "server")
    return makeError("--cert-type must be client or server, not " + quotedText(type));
  leaf.type = type == "server" ? pki::CertType::Server : pki::CertType::Client;
  if (Result<void> valid = decl::checkHostName(leaf.host, leaf.type == pki::CertType::Server); !valid)
    return makeError("--host: " + valid.error().message);
  return RevocactlRequest{IssueCertRequest{*ca, leaf}};
}

Result<RevocactlRequest> parseRevokeCert(const json& request) {
  auto ca = caKey(request);
  if (!ca) return ca.error();
  auto serial = pki::normalizeSerialHex(text(request, "serial"));
  if (!serial) return makeError("SERIAL: " + serial.error().message);
  auto reason = decl::parseRevocationReason(text(request, "reason", "unspecified"));
  if (!reason) return makeError("--reason: " + reason.error().message);
  return RevocactlRequest{RevokeCertRequest{*ca, *serial, *reason}};
}

Result<RevocactlRequest> parseGetCrl(const json& request) {
  auto ca = caKey(request);
  if (!ca) return ca.error();
  CrlRequest crl{*ca, std::nullopt};
  if (auto it = request.find("version"); it != request.end() && it->is_number_integer()) crl.version = it->get<int>();
  return RevocactlRequest{crl};
}

Result<RevocactlRequest> parseStatus(const json& request) {
  StatusRequest status{requestNamespace(request), std::nullopt, text(request, "name")};
  if (!request.contains("kind")) return RevocactlRequest{status};
  std::string kind = text(request, "kind");
  status.kind = kindNamed(kind);
  if (!status.kind) return makeError("unknown kind " + quotedText(kind) + "; give one of revoca's kinds, e.g. VaultSecret");
  return RevocactlRequest{status};
}

}  // namespace

Result<RevocactlRequest> parseRevocactlRequest(const json& request) {
  if (Result<void> names = checkNames(request); !names) return names.error();
  std::string verb = text(request, "verb");
  if (verb == "issue-cert") return parseIssueCert(request);
  if (verb == "revoke-cert") return parseRevokeCert(request);
  if (verb == "get-crl") return parseGetCrl(request);
  if (verb == "get-ca-cert") {
    auto ca = caKey(request);
    if (!ca) return ca.error();
    return RevocactlRequest{CaCertRequest{*ca}};
  }
  if (verb == "get-tenant-uuid") return RevocactlRequest{TenantUuidRequest{requestNamespace(request)}};
  if (verb == "status") return parseStatus(request);
  return makeError("unknown verb " + quotedText(verb) +
                   "; use get-tenant-uuid, issue-cert, revoke-cert, get-crl, get-ca-cert or status");
}

json toJson(const IssuedLeaf& issued) {
  return {{"cert", issued.certPem},
          {"private-key", issued.keyPem},
          {"serial", issued.serialHex},
          {"expires", formatTimestamp(issued.notAfter)},
          {"ca-version", issued.caVersion}};
}

json toJson(const Revoked& revoked) {
  json answer = {{"serial", revoked.serialHex},
                 {"revoked", true},
                 {"already-revoked", revoked.alreadyRevoked},
                 {"reason", pki::revocationReasonName(revoked.reason)}};
  if (revoked.revocationObject) answer["object"] = *revoked.revocationObject;
  return answer;
}

json toJson(const CaCrl& crl) {
  return {{"crl", crl.pem}, {"crl-number", crl.crlNumber}, {"version", crl.version}};
}

json toJson(const CaCertificate& ca) {
  return {{"cert", ca.certPem}, {"version", ca.version}, {"bundle", ca.bundlePem}};
}

json toJson(const TenantUuid& tenant) { return {{"tenant", tenant.tenant}, {"uuid", tenant.uuid}}; }

json toJson(const CertificateDescription& described) {
  json answer = {{"certificate", described.certificatePem},
                 {"serial", described.serialHex},
                 {"notBefore", formatTimestamp(described.notBefore)},
                 {"notAfter", formatTimestamp(described.notAfter)},
                 {"issuingCa", described.issuingCa},
                 {"caVersion", described.caVersion},
                 {"issuer", described.issuerPem}};
  if (described.kind != Kind::VaultSecret) return answer;
  answer["revocation"] = nullptr;
  if (described.revocation)
    answer["revocation"] = {{"revokedAt", formatTimestamp(described.revocation->revokedAt)},
                            {"reason", pki::revocationReasonName(described.revocation->reason)}};
  return answer;
}

json commandFailure(const std::string& message) { return {{"ok", false}, {"error", message}}; }
json commandSuccess(json result) { return {{"ok", true}, {"result", std::move(result)}}; }

}  // namespace revoca
