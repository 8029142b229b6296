#pragma once
// The verbs of revocactl run inside a standalone instance: get-tenant-uuid,
// issue-cert, revoke-cert, get-crl, get-ca-cert, status. Answers are
// {"ok": true, "result": {...}} or {"ok": false, "error": "one clear line"}.
#include <nlohmann/json.hpp>

#include "reconcilers/authority_commands.h"
#include "standalone/status_file.h"

namespace revoca {

struct AdminContext {
  AuthorityService& authorities;
  StateStore& store;
  CaRegistry& registry;
  StatusFile& status;
  const Clock& clock;
};

nlohmann::json runAdminCommand(AdminContext& context, const nlohmann::json& request);

}  // namespace revoca
