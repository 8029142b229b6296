#include "standalone/admin_commands.h"

#include "core/text.h"

namespace revoca {
namespace {

// One object, in the shape revocactl prints (the same as against a cluster;
// standalone mode records no Events).
nlohmann::json objectStatus(AdminContext& context, const nlohmann::json& request) {
  std::string ns = requestText(request, "namespace", "default");
  Result<Kind> kind = requestKind(request);
  if (!kind) return commandFailure(kind.error().message);
  std::string name = requestText(request, "name");
  for (const auto& reported : context.status.snapshot()) {
    if (reported.value("kind", "") != kindName(*kind) || reported.value("namespace", "") != ns ||
        reported.value("name", "") != name)
      continue;
    nlohmann::json entry = reported;
    entry["eventsError"] = "standalone mode records no Events; revoca's log has every transition";
    if (auto described = describeCertificate(context.store, *kind, {ns, name})) entry["certificate"] = *described;
    else entry["certificateError"] = described.error().message;
    return commandSuccess(entry);
  }
  return commandFailure("no " + kindName(*kind) + " " + ns + "/" + safeText(name) +
                        " among the declarations; `revocactl status` lists them");
}

}  // namespace

nlohmann::json runAdminCommand(AdminContext& context, const nlohmann::json& request) {
  AuthorityCommandContext authority{context.authorities, context.store, context.registry, context.clock};
  std::string verb = requestText(request, "verb");
  if (Result<void> names = checkRequestNames(request); !names) return commandFailure(names.error().message);
  if (verb == "issue-cert") return issueCert(authority, request);
  if (verb == "revoke-cert") return revokeCert(authority, request);
  if (verb == "get-crl") return getCrl(authority, request);
  if (verb == "get-ca-cert") return getCaCert(authority, request);
  if (verb == "get-tenant-uuid") return getTenantUuid(authority, request);
  if (verb == "status") return request.contains("kind") ? objectStatus(context, request)
                                                        : commandSuccess(context.status.snapshot());
  return commandFailure("unknown verb " + quotedText(verb) +
                        "; use get-tenant-uuid, issue-cert, revoke-cert, get-crl, get-ca-cert or status");
}

}  // namespace revoca
