#include "standalone/admin_commands.h"

#include "core/duration.h"
#include "reconcilers/time_format.h"

namespace revoca {
namespace {

using nlohmann::json;

json failure(const std::string& message) { return {{"ok", false}, {"error", message}}; }
json success(json result) { return {{"ok", true}, {"result", std::move(result)}}; }

std::string text(const json& request, const char* field, const std::string& fallback = "") {
  auto it = request.find(field);
  return it != request.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// Finds the CA named by "ca" in "namespace", or says why not.
Result<const ActiveCa*> requireCa(AdminContext& context, const json& request) {
  std::string name = text(request, "ca");
  if (name.empty()) return makeError("--ca is required: name the CertificateAuthority");
  ObjectKey key{text(request, "namespace", "default"), name};
  const ActiveCa* ca = context.authorities.active(key);
  if (!ca)
    return makeError("CertificateAuthority " + key.str() +
                     " is not Ready (unknown, or its declaration has errors); see `revocactl status`");
  return ca;
}

json issueCert(AdminContext& context, const json& request) {
  auto ca = requireCa(context, request);
  if (!ca) return failure(ca.error().message);
  LeafRequest leaf;
  leaf.host = text(request, "host");
  if (leaf.host.empty()) return failure("--host is required: the certificate's DNS name or IP address");
  auto ttl = parseDuration(text(request, "ttl", "1d"));
  if (!ttl) return failure("--ttl: " + ttl.error().message);
  leaf.ttl = *ttl;
  std::string type = text(request, "certType", "client");
  if (type != "client" && type != "server") return failure("--cert-type must be client or server, not " + type);
  leaf.type = type == "server" ? pki::CertType::Server : pki::CertType::Client;
  auto issued = context.authorities.issue((*ca)->key, leaf);
  if (!issued) return failure(issued.error().message);
  return success({{"cert", issued->certPem},
                  {"private-key", issued->keyPem},
                  {"serial", issued->serialHex},
                  {"expires", formatTimestamp(issued->notAfter)},
                  {"ca-version", issued->caVersion}});
}

json revokeCert(AdminContext& context, const json& request) {
  auto ca = requireCa(context, request);
  if (!ca) return failure(ca.error().message);
  auto serial = pki::normalizeSerialHex(text(request, "serial"));
  if (!serial) return failure("SERIAL: " + serial.error().message);
  auto reason = pki::parseRevocationReason(text(request, "reason", "unspecified"));
  if (!reason)
    return failure("--reason " + text(request, "reason") +
                   " is not an RFC 5280 reason; use unspecified, keyCompromise, cACompromise, affiliationChanged, "
                   "superseded, cessationOfOperation, certificateHold or privilegeWithdrawn");
  Revocation revocation{*serial, context.clock.now(), *reason, std::nullopt};
  auto revoked = context.authorities.revoke((*ca)->key, revocation);
  if (!revoked) return failure(revoked.error().message);
  auto stored = context.registry.revocationOf((*ca)->key, *serial);
  return success({{"serial", *serial},
                  {"revoked", true},
                  {"already-revoked", !*revoked},
                  {"reason", pki::revocationReasonName(stored ? stored->reason : *reason)}});
}

json getCrl(AdminContext& context, const json& request) {
  auto ca = requireCa(context, request);
  if (!ca) return failure(ca.error().message);
  int version = (*ca)->current().version;
  if (request.contains("version") && request["version"].is_number_integer()) version = request["version"].get<int>();
  auto crl = context.registry.crlOf((*ca)->key, version);
  if (!crl) return failure("no CRL for version " + std::to_string(version) + " of " + (*ca)->key.str() + "; it is not live");
  return success({{"crl", crl->pem}, {"crl-number", crl->crlNumber}, {"version", version}});
}

json getCaCert(AdminContext& context, const json& request) {
  auto ca = requireCa(context, request);
  if (!ca) return failure(ca.error().message);
  return success({{"cert", (*ca)->current().cert.toPem()},
                  {"version", (*ca)->current().version},
                  {"bundle", (*ca)->trustPem}});
}

json getTenantUuid(AdminContext& context, const json& request) {
  std::string namespace_ = text(request, "namespace", "default");
  auto uuid = context.store.tenantUuid(namespace_);
  if (!uuid) return failure(uuid.error().message);
  return success({{"tenant", namespace_}, {"uuid", *uuid}});
}

}  // namespace

nlohmann::json runAdminCommand(AdminContext& context, const nlohmann::json& request) {
  std::string verb = text(request, "verb");
  if (verb == "issue-cert") return issueCert(context, request);
  if (verb == "revoke-cert") return revokeCert(context, request);
  if (verb == "get-crl") return getCrl(context, request);
  if (verb == "get-ca-cert") return getCaCert(context, request);
  if (verb == "get-tenant-uuid") return getTenantUuid(context, request);
  if (verb == "status") return success(context.status.snapshot());
  return failure("unknown verb \"" + verb +
                 "\"; use get-tenant-uuid, issue-cert, revoke-cert, get-crl, get-ca-cert or status");
}

}  // namespace revoca
