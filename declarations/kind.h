#pragma once
// The five kinds of the revoca.io/v1alpha1 API as a type. Inside revoca a
// kind is a Kind; it becomes text only where it leaves the process (JSON,
// API paths, Prometheus labels, Events, log lines) and is read back from
// text only where it enters (YAML, revocactl's arguments, the apiserver).
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace revoca {

enum class Kind { CertificateAuthority, Vault, VaultSecret, CertificateRevocation, EmqxDeployment };

// Every kind, in the enum's order (DeclarationSet holds them in this order too).
inline constexpr std::array<Kind, 5> kAllKinds = {Kind::CertificateAuthority, Kind::Vault, Kind::VaultSecret,
                                                  Kind::CertificateRevocation, Kind::EmqxDeployment};

const std::string& kindName(Kind kind);    // "VaultSecret": the API's kind, as YAML and JSON spell it
const std::string& kindPlural(Kind kind);  // "vaultsecrets": the resource in API paths

// The kind whose API name is exactly `name` ("VaultSecret"); nullopt for any other text.
std::optional<Kind> kindNamed(std::string_view name);
// The kind whose resource is exactly `plural` ("vaultsecrets").
std::optional<Kind> kindWithPlural(std::string_view plural);
// The kind a person typed the way kubectl takes it, in any case: the CRD's
// short name ("vs"), singular ("vaultsecret") or plural ("vaultsecrets").
std::optional<Kind> kindCalled(std::string_view word);

}  // namespace revoca
