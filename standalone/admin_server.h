#pragma once
// The local admin socket of a standalone instance (STATE/admin.sock, mode
// 0600: only the user running revoca may use it; the server also checks the
// caller's uid with SO_PEERCRED and answers anyone else but root with an error). One JSON object a line
// in, one JSON object a line out; revocactl is its client.
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace revoca {

using AdminHandler = std::function<nlohmann::json(const nlohmann::json& request)>;

class AdminServer {
 public:
  virtual ~AdminServer() = default;
  virtual void stop() = 0;
};

Result<std::unique_ptr<AdminServer>> startAdminServer(const std::string& socketPath, AdminHandler handler);

// Client side: sends one request and waits for the answer.
Result<nlohmann::json> callAdminSocket(const std::string& socketPath, const nlohmann::json& request);

}  // namespace revoca
