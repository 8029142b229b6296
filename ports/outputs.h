#pragma once
// What reconcilers hand to the backend: files and environment to publish
// (a directory in standalone mode, Secrets and ConfigMaps in Kubernetes)
// and the status of each object.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "declarations/kind.h"
#include "declarations/types.h"
#include "pki/digest.h"
#include "ports/object_facts.h"

namespace revoca {

// cert.pem and cert.key.
struct LeafPems {
  std::string certPem;
  std::string keyPem;  // never logged
};

struct SecretFiles {
  std::string secretName;  // the VaultSecret's name: in Kubernetes, the Secret's name and owner
  std::string certPem;    // cert.pem: the leaf, then intermediates; empty when left in the state store
  std::string keyPem;     // cert.key: never logged; empty when left in the state store
  std::string caCertPem;  // ca-cert.pem: every live CA version
  std::optional<FileOwnership> ownership;
  int fileMode = 0400;
  // When the PEMs above are left in the state store (a record kept as
  // digests): their SHA-256, which tells an output already up to date, and
  // how to read them, called only when an output is written.
  pki::Sha256 certDigest;
  pki::Sha256 keyDigest;
  std::function<Result<LeafPems>()> readPems;

  // SHA-256 of cert.pem and of cert.key, with the PEMs here or not.
  pki::Sha256 certSha256() const;
  pki::Sha256 keySha256() const;
  // cert.pem and cert.key: the ones above, else read.
  Result<LeafPems> pems() const;
};

struct EnvVar {
  std::string name;
  std::string value;
};

// What an EmqxDeployment renders for one Deployment.
struct EmqxOutput {
  std::string namespace_;
  std::string deployment;   // spec.deploymentName, or the EmqxDeployment's own name
  std::string owner;        // the EmqxDeployment's name
  std::string secretName;   // the VaultSecret whose files are mounted
  std::string certDir;      // where they are mounted in the container
  bool patchExisting = false;  // spec.deploymentName: patch it, do not own it
  RotationPolicy rotation = RotationPolicy::Reload;
  std::vector<EnvVar> env;
};

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // Returns the owner and mode cert.key was written with (standalone; a
  // Secret in a cluster has none: the volume mounting it sets them).
  virtual Result<std::optional<KeyFileAccess>> publishSecret(const std::string& namespace_,
                                                             const std::string& deployment,
                                                             const SecretFiles& files) = 0;
  virtual Result<void> publishCaBundle(const std::string& namespace_, const std::string& deployment,
                                       const std::string& caName, const std::string& pem) = 0;
  virtual Result<EmqxEnvFacts> publishEmqxEnv(const EmqxOutput& emqx) = 0;
};

struct ObjectStatus {
  bool ready = false;
  std::string reason;   // CamelCase, e.g. Issued, InvalidSpec, IssuerNotReady
  std::string message;  // what happened, and what to do about it
  std::int64_t observedGeneration = 0;
  ObjectFacts facts;
};

class StatusSink {
 public:
  virtual ~StatusSink() = default;
  virtual void report(Kind kind, const ObjectMeta& meta, const ObjectStatus& status) = 0;
};

}  // namespace revoca
