#pragma once
// StateStore on Kubernetes Secrets, in the namespace of the object they
// belong to, all labelled app.kubernetes.io/managed-by=revoca and
// revoca.io/state=<what>:
//
//   revoca-ca-<ca>                 versions.json (every version's key and
//                                  certificate), crl-number
//   revoca-ledger-<ca>-<n>         entries: serials the CA signed, one a line
//   revoca-revocations-<ca>-<n>    entries: its revocations, one a line
//   revoca-vs-<vaultsecret>        cert.pem, cert.key, record.json
//
// Ledgers and revocations are split in chunks of at most `chunkSize`
// lines (4,000: ~400 KB, far below etcd's 1.5 MiB request limit after
// base64), so 100,000 serials per CA are 25 Secrets. Appends are updates
// with the chunk's resourceVersion, retried on 409 Conflict: revocactl
// appends to ledgers too. State Secrets carry no ownerReferences, so
// deleting a declaration never garbage-collects a CA key.
//
// What was read or written is cached (only the leader writes); forget()
// drops the cache when another writer may have changed the state.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/api_client.h"
#include "registry/state_store.h"

namespace revoca::kubernetes {

class SecretStateStore final : public StateStore {
 public:
  explicit SecretStateStore(kube::ApiClient& api, std::size_t chunkSize = 4000) : api_(api), chunkSize_(chunkSize) {}

  Result<std::string> tenantUuid(const std::string& namespace_) override;
  Result<std::optional<CaRecord>> loadCa(const ObjectKey& ca) override;
  Result<void> saveCa(const ObjectKey& ca, const CaRecord& record) override;
  Result<std::uint64_t> nextCrlNumber(const ObjectKey& ca) override;
  // The CRL number last handed out (0: none yet), without taking a new one.
  Result<std::uint64_t> currentCrlNumber(const ObjectKey& ca);

  Result<std::vector<IssuedCertificate>> loadLedger(const ObjectKey& ca) override;
  Result<void> appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) override;
  Result<std::vector<Revocation>> loadRevocations(const ObjectKey& ca) override;
  Result<void> appendRevocation(const ObjectKey& ca, const Revocation& revocation) override;

  Result<std::optional<SecretRecord>> loadSecret(const ObjectKey& vaultSecret) override;
  Result<void> saveSecret(const ObjectKey& vaultSecret, const SecretRecord& record) override;

  void forget();

 private:
  using Data = std::map<std::string, std::string>;  // decoded Secret data
  struct Chunks {
    std::vector<std::string> lines;
    int lastChunk = 0;  // where the next append goes first
  };

  Result<std::optional<Data>> read(const std::string& namespace_, const std::string& name);
  // Read, change, write back with the resourceVersion read; again on 409.
  Result<void> modify(const std::string& namespace_, const std::string& name, const std::string& state,
                      const std::map<std::string, std::string>& labels, const std::function<void(Data&)>& change);
  Result<Chunks*> chunks(const std::string& state, const ObjectKey& ca);
  Result<void> appendLine(const std::string& state, const ObjectKey& ca, const std::string& line);

  kube::ApiClient& api_;
  const std::size_t chunkSize_;
  std::mutex mutex_;
  std::map<std::string, std::string> tenants_;
  std::map<ObjectKey, std::optional<CaRecord>> cas_;
  std::map<std::pair<std::string, ObjectKey>, Chunks> chunks_;  // (state, ca)
  std::map<ObjectKey, std::optional<SecretRecord>> secrets_;
};

// The line formats of the chunks, exposed for tests.
std::string ledgerLine(const IssuedCertificate& issued);
std::optional<IssuedCertificate> parseLedgerLine(const std::string& line);
std::string revocationLine(const Revocation& revocation);
std::optional<Revocation> parseRevocationLine(const std::string& line);

}  // namespace revoca::kubernetes
