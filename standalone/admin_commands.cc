#include "standalone/admin_commands.h"

namespace revoca {

nlohmann::json runAdminCommand(AdminContext& context, const nlohmann::json& request) {
  AuthorityCommandContext authority{context.authorities, context.store, context.registry, context.clock};
  std::string verb = requestText(request, "verb");
  if (verb == "issue-cert") return issueCert(authority, request);
  if (verb == "revoke-cert") return revokeCert(authority, request);
  if (verb == "get-crl") return getCrl(authority, request);
  if (verb == "get-ca-cert") return getCaCert(authority, request);
  if (verb == "get-tenant-uuid") return getTenantUuid(authority, request);
  if (verb == "status") return commandSuccess(context.status.snapshot());
  return commandFailure("unknown verb \"" + verb +
                        "\"; use get-tenant-uuid, issue-cert, revoke-cert, get-crl, get-ca-cert or status");
}

}  // namespace revoca
