#pragma once
// `revocactl status KIND/NAME`: one object on one screen, as `cmctl status
// certificate` shows a Certificate: its Ready condition, the current
// certificate, what the OCSP responder says about it now, and recent Events.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "declarations/kind.h"

namespace revoca {

// "vs/server-cert", "vaultsecret/server-cert", "ca/mqtt-ca" ... -> kind and
// name; nullopt (with `error` set) for anything else.
struct ObjectName {
  Kind kind;
  std::string name;
};
std::optional<ObjectName> parseObjectName(const std::string& text, std::string& error);

// Adds "ocsp": {"url", "status", ...} or {"error"} to `entry` when it has a
// VaultSecret certificate, by asking the responder its AIA names.
void addOcspCheck(nlohmann::json& entry);

// The screen, from the verb's JSON answer (with addOcspCheck's part).
std::string renderStatusScreen(const nlohmann::json& entry);

}  // namespace revoca
