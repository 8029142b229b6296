#pragma once
// The facts of an object's status, typed per kind. They become text only
// where they leave the process: the status subresource, status.json.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "core/clock.h"
#include "declarations/types.h"

namespace revoca {

// Why a VaultSecret's certificate is issued again.
enum class ReissueReason { None, Missing, SpecChanged, IssuerChanged, CaVersionRetired, Revoked, NearExpiry };
std::string reissueReasonName(ReissueReason reason);

// The owner and mode cert.key has where the broker reads it.
struct KeyFileAccess {
  std::int64_t uid = 0;
  std::int64_t gid = 0;
  unsigned mode = 0;

  bool operator==(const KeyFileAccess&) const = default;
};

struct CertificateAuthorityFacts {
  int version = 0;
  int clientSigningVersion = 0;
  int serverSigningVersion = 0;
  TimePoint clientSwitchTime;
  TimePoint serverSwitchTime;
  std::int64_t liveVersions = 0;
  std::string serial;
  TimePoint notBefore;
  TimePoint notAfter;
  TimePoint renewalTime;
  std::string tenantUuid;
  std::optional<std::string> crlUrl;
  std::optional<std::uint64_t> crlNumber;
};

struct CertificateRevocationFacts {
  std::string serial;
  std::optional<TimePoint> revokedAt;
  std::optional<std::uint64_t> crlNumber;
};

struct VaultFacts {
  // The Deployments its secrets are copied to: spec.distribute.deployments,
  // a set. `kubectl get vaults` shows it.
  std::int64_t deployments = 0;
};

struct VaultSecretFacts {
  std::string serial;
  TimePoint notBefore;
  TimePoint notAfter;
  TimePoint renewalTime;
  int caVersion = 0;
  // Known to the pass that issued the certificate only.
  std::optional<ReissueReason> lastIssueReason;
  std::optional<KeyFileAccess> keyFile;  // standalone: as cert.key was written
};

// Kubernetes: the ConfigMap an EmqxDeployment's pods read and what their
// template rolls on.
struct EmqxRollout {
  std::string configMap;
  std::string certificateHash;
  std::string envHash;
  RotationPolicy rotation = RotationPolicy::Reload;
};

// What publishing an EMQX environment wrote.
struct EmqxEnvFacts {
  std::optional<std::string> envFile;  // standalone
  std::optional<EmqxRollout> rollout;  // Kubernetes
  std::optional<KeyFileAccess> keyFile;
};

struct EmqxDeploymentFacts {
  std::string deployment;
  std::optional<std::string> ocspResponderUrl;
  EmqxEnvFacts published;
};

// std::monostate: no facts (an object that is not Ready).
using ObjectFacts = std::variant<std::monostate, CertificateAuthorityFacts, CertificateRevocationFacts, VaultFacts,
                                 VaultSecretFacts, EmqxDeploymentFacts>;

// Receives the facts of a status one by one, named as the CRDs and
// status.json name them; each backend writes them its way.
class FactVisitor {
 public:
  virtual ~FactVisitor() = default;
  virtual void text(const char* name, const std::string& value) = 0;
  virtual void integer(const char* name, std::int64_t value) = 0;
  virtual void time(const char* name, TimePoint value) = 0;
};

void visitFacts(const ObjectFacts& facts, FactVisitor& visitor);

}  // namespace revoca
