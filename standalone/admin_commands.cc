#include "standalone/admin_commands.h"

#include "core/overloaded.h"
#include "core/text.h"
#include "reconcilers/authority_commands_json.h"

namespace revoca {
namespace {

// One object, in the shape revocactl prints (the same as against a cluster;
// standalone mode records no Events).
nlohmann::json objectStatus(AdminContext& context, const StatusRequest& request, Kind kind) {
  const std::string& ns = request.namespace_;
  for (const auto& reported : context.status.snapshot()) {
    if (reported.value("kind", "") != kindName(kind) || reported.value("namespace", "") != ns ||
        reported.value("name", "") != request.name)
      continue;
    nlohmann::json entry = reported;
    entry["eventsError"] = "standalone mode records no Events; revoca's log has every transition";
    if (auto described = describeCertificate(context.store, kind, {ns, request.name})) entry["certificate"] = toJson(*described);
    else entry["certificateError"] = described.error().message;
    return commandSuccess(entry);
  }
  return commandFailure("no " + kindName(kind) + " " + ns + "/" + safeText(request.name) +
                        " among the declarations; `revocactl status` lists them");
}

}  // namespace

nlohmann::json runAdminCommand(AdminContext& context, const nlohmann::json& request) {
  auto parsed = parseRevocactlRequest(request);
  if (!parsed) return commandFailure(parsed.error().message);
  AuthorityCommandContext authority{context.authorities, context.store, context.registry, context.clock};
  return std::visit(
      Overloaded{
          [&](const IssueCertRequest& typed) { return commandAnswer(issueCert(authority, typed)); },
          [&](const RevokeCertRequest& typed) { return commandAnswer(revokeCert(authority, typed)); },
          [&](const CrlRequest& typed) { return commandAnswer(getCrl(authority, typed)); },
          [&](const CaCertRequest& typed) { return commandAnswer(getCaCert(authority, typed)); },
          [&](const TenantUuidRequest& typed) { return commandAnswer(getTenantUuid(authority, typed)); },
          [&](const StatusRequest& typed) {
            return typed.kind ? objectStatus(context, typed, *typed.kind) : commandSuccess(context.status.snapshot());
          },
      },
      *parsed);
}

}  // namespace revoca
