#include "reconcilers/authority_commands.h"

#include "core/duration.h"
#include "core/text.h"
#include "declarations/values.h"
#include "pki/certificate.h"
#include "pki/crl.h"
#include "reconcilers/time_format.h"

namespace revoca {

using nlohmann::json;

namespace {

// Finds the CA named by "ca" in "namespace", or says why not.
Result<const ActiveCa*> requireCa(AuthorityCommandContext& context, const json& request) {
  std::string name = requestText(request, "ca");
  if (name.empty()) return makeError("--ca is required: name the CertificateAuthority");
  ObjectKey key{requestText(request, "namespace", "default"), name};
  const ActiveCa* ca = context.authorities.active(key);
  if (!ca)
    return makeError("CertificateAuthority " + key.str() +
                     " is not Ready (unknown, or its declaration has errors); see `revocactl status`");
  return ca;
}

}  // namespace

json commandFailure(const std::string& message) { return {{"ok", false}, {"error", message}}; }
json commandSuccess(json result) { return {{"ok", true}, {"result", std::move(result)}}; }

std::string requestText(const json& request, const char* field, const std::string& fallback) {
  auto it = request.find(field);
  return it != request.end() && it->is_string() ? it->get<std::string>() : fallback;
}

Result<Kind> requestKind(const json& request) {
  std::string text = requestText(request, "kind");
  if (std::optional<Kind> kind = kindNamed(text)) return *kind;
  return makeError("unknown kind " + quotedText(text) + "; give one of revoca's kinds, e.g. VaultSecret");
}

Result<void> checkRequestNames(const json& request) {
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

json issueCert(AuthorityCommandContext& context, const json& request) {
  auto ca = requireCa(context, request);
  if (!ca) return commandFailure(ca.error().message);
  LeafRequest leaf;
  leaf.host = requestText(request, "host");
  if (leaf.host.empty()) return commandFailure("--host is required: the certificate's DNS name or IP address");
  auto ttl = parseDuration(requestText(request, "ttl", "1d"));
  if (!ttl) return commandFailure("--ttl: " + ttl.error().message);
  if (ttl->count() <= 0) return commandFailure("--ttl must be longer than 0s; write e.g. 30d");
  leaf.ttl = *ttl;
  std::string type = requestText(request, "certType", "client");
  if (type != "client" && type != "server")
    return commandFailure("--cert-type must be client or server, not " + quotedText(type));
  leaf.type = type == "server" ? pki::CertType::Server : pki::CertType::Client;
  if (Result<void> valid = decl::checkHostName(leaf.host, leaf.type == pki::CertType::Server); !valid)
    return commandFailure("--host: " + valid.error().message);
  auto issued = context.authorities.issue((*ca)->key, leaf);
  if (!issued) return commandFailure(issued.error().message);
  return commandSuccess({{"cert", issued->certPem},
                  {"private-key", issued->keyPem},
                  {"serial", issued->serialHex},
                  {"expires", formatTimestamp(issued->notAfter)},
                  {"ca-version", issued->caVersion}});
}

json revokeCert(AuthorityCommandContext& context, const json& request) {
  auto ca = requireCa(context, request);
  if (!ca) return commandFailure(ca.error().message);
  auto serial = pki::normalizeSerialHex(requestText(request, "serial"));
  if (!serial) return commandFailure("SERIAL: " + serial.error().message);
  auto reason = decl::parseRevocationReason(requestText(request, "reason", "unspecified"));
  if (!reason) return commandFailure("--reason: " + reason.error().message);
  Revocation revocation{*serial, context.clock.now(), *reason, std::nullopt};
  auto revoked = context.authorities.revoke((*ca)->key, revocation);
  if (!revoked) return commandFailure(revoked.error().message);
  auto stored = context.registry.revocationOf((*ca)->key, *serial);
  return commandSuccess({{"serial", *serial},
                  {"revoked", true},
                  {"already-revoked", !*revoked},
                  {"reason", pki::revocationReasonName(stored ? stored->reason : *reason)}});
}

json getCrl(AuthorityCommandContext& context, const json& request) {
  auto ca = requireCa(context, request);
  if (!ca) return commandFailure(ca.error().message);
  int version = (*ca)->current().version;
  if (request.contains("version") && request["version"].is_number_integer()) version = request["version"].get<int>();
  auto crl = context.registry.crlOf((*ca)->key, version);
  if (!crl) return commandFailure("no CRL for version " + std::to_string(version) + " of " + (*ca)->key.str() + "; it is not live");
  return commandSuccess({{"crl", crl->pem}, {"crl-number", crl->crlNumber}, {"version", version}});
}

json getCaCert(AuthorityCommandContext& context, const json& request) {
  auto ca = requireCa(context, request);
  if (!ca) return commandFailure(ca.error().message);
  return commandSuccess({{"cert", (*ca)->current().cert.toPem()},
                  {"version", (*ca)->current().version},
                  {"bundle", (*ca)->trustPem}});
}

json getTenantUuid(AuthorityCommandContext& context, const json& request) {
  std::string namespace_ = requestText(request, "namespace", "default");
  auto uuid = context.store.tenantUuid(namespace_);
  if (!uuid) return commandFailure(uuid.error().message);
  return commandSuccess({{"tenant", namespace_}, {"uuid", *uuid}});
}

Result<json> describeCertificate(StateStore& store, Kind kind, const ObjectKey& key) {
  json described;
  std::string caName;
  int caVersion = 0;
  if (kind == Kind::VaultSecret) {
    auto record = store.loadSecretWithPems(key);
    if (!record) return record.error();
    if (!*record) return makeError("VaultSecret " + key.str() + " has no certificate yet");
    auto leaf = pki::Certificate::fromPem((*record)->certPem);
    if (!leaf) return leaf.error();
    described["certificate"] = leaf->toPem();
    described["serial"] = (*record)->serialHex;
    described["notBefore"] = formatTimestamp((*record)->notBefore);
    described["notAfter"] = formatTimestamp((*record)->notAfter);
    caName = (*record)->issuingCa;
    caVersion = (*record)->caVersion;
  } else if (kind == Kind::CertificateAuthority) {
    caName = key.name;
  } else {
    return makeError(kindName(kind) + " has no certificate; ask about a VaultSecret or a CertificateAuthority");
  }
  auto ca = store.loadCa({key.namespace_, caName});
  if (!ca) return ca.error();
  if (!*ca || (*ca)->versions.empty()) return makeError("CertificateAuthority " + key.namespace_ + "/" + caName + " has no key yet");
  const CaVersionRecord* issuer = (*ca)->current();
  for (const auto& version : (*ca)->versions)
    if (version.version == caVersion) issuer = &version;
  described["issuingCa"] = caName;
  described["caVersion"] = issuer->version;
  described["issuer"] = issuer->certPem;
  if (kind == Kind::CertificateAuthority) {
    auto cert = pki::Certificate::fromPem(issuer->certPem);
    if (!cert) return cert.error();
    described["certificate"] = issuer->certPem;
    described["serial"] = cert->serialHex();
    described["notBefore"] = formatTimestamp(issuer->notBefore);
    described["notAfter"] = formatTimestamp(issuer->notAfter);
    return described;
  }
  described["revocation"] = nullptr;
  auto revocations = store.loadRevocations({key.namespace_, caName});
  if (!revocations) return revocations.error();
  for (const auto& revocation : *revocations)
    if (revocation.serialHex == described["serial"].get<std::string>())
      described["revocation"] = {{"revokedAt", formatTimestamp(revocation.revokedAt)},
                                 {"reason", pki::revocationReasonName(revocation.reason)}};
  return described;
}

}  // namespace revoca
