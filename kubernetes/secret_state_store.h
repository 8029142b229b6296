#pragma once
// StateStore on Kubernetes Secrets, each in the namespace of the object it
// belongs to, all of type Opaque and labelled
// app.kubernetes.io/managed-by=revoca and revoca.io/state=<what>:
//
//   Namespace NS                   metadata.uid is the tenant UUID of NS
//   revoca-ca-<ca>                 state=ca, revoca.io/ca=<ca>
//                                    versions.json  [{version, certPem, keyPem,
//                                                     notBefore, notAfter}], unix seconds
//                                    crl-number     the last CRL number handed out
//                                    crl-stamps     what each version's last CRL number
//                                                   names (kubernetes/crl_stamps.h)
//   revoca-ledger-<ca>-<n>         state=ledger, revoca.io/ca=<ca>, n = 0, 1, 2 ...
//                                    entries        "SERIAL CAVERSION NOTAFTER SUBJECT\n"...
//   revoca-revocations-<ca>-<n>    state=revocations, revoca.io/ca=<ca>
//                                    entries        "SERIAL REVOKEDAT REASON INVALIDITY|-\n"...
//   revoca-vs-<vaultsecret>        state=vaultsecret, revoca.io/vaultsecret=<name>
//                                    cert.pem, cert.key, record.json (the other fields);
//                                    kept in memory without the PEMs, read when needed
//
// Ledgers and revocations are split in chunks of at most `chunkSize` lines
// (100) and kMaxChunkBytes (16 KiB before base64, ~22 KiB after), far below
// the 1 MiB Secret limit and etcd's 1.5 MiB request limit whatever the
// subjects: 100,000 serials per CA are 1,000 Secrets. Small, because an
// append rewrites its whole chunk, which comes back in the answer and again
// on the watch: with chunks of 1,000 lines, issuing 1,000 certificates at
// once cost the apiserver 3 ms and revoca 3 ms more per certificate
// (bench/kube_scale.py).
// An append is an update of the last chunk with its resourceVersion, or the
// creation of the next one; a 409 (revocactl appends to ledgers too) re-reads
// that chunk and tries again, so no writer's line is lost.
//
// State Secrets carry no ownerReferences: deleting a CertificateAuthority
// must never garbage-collect its key.
//
// What was read or written is cached, so a reconcile pass costs no API call
// once everything is loaded (the leader is the only writer but revocactl);
// forget() drops the cache when another writer may have changed the state;
// forgetHistory() only the ledgers and revocations, the part revocactl
// writes too (a VaultSecret's record has one writer: the leader).
// Key material never goes into an error message.
#include <cstddef>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <memory>
#include <set>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/api_client.h"
#include "registry/state_store.h"

namespace revoca::kubernetes {

inline constexpr std::size_t kDefaultChunkSize = 100;
inline constexpr std::size_t kMaxChunkBytes = 16 * 1024;

class SecretStateStore final : public StateStore {
 public:
  // `chunkSize`: lines per ledger or revocations Secret (tests use a few).
  explicit SecretStateStore(kube::ApiClient& api, std::size_t chunkSize = kDefaultChunkSize);

  Result<std::string> tenantUuid(const std::string& namespace_) override;
  Result<std::optional<CaRecord>> loadCa(const ObjectKey& ca) override;
  Result<void> saveCa(const ObjectKey& ca, const CaRecord& record) override;
  // The next number (kubernetes/crl_stamps.h: above every number in the
  // Secret, and the clock's floor), written with `draft` as its stamp.
  Result<std::optional<CrlStamp>> stampCrl(const ObjectKey& ca, int version, const CrlStamp& draft) override;
  // The stamp of the CRL the leader last signed for a version (none yet:
  // nullopt), read from the API each time: what a follower signs under.
  Result<std::optional<CrlStamp>> recordedCrlStamp(const ObjectKey& ca, int version);

  Result<std::vector<IssuedCertificate>> loadLedger(const ObjectKey& ca) override;
  Result<void> appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) override;
  Result<std::vector<Revocation>> loadRevocations(const ObjectKey& ca) override;
  Result<void> appendRevocation(const ObjectKey& ca, const Revocation& revocation) override;

  Result<std::optional<SecretRecord>> loadSecret(const ObjectKey& vaultSecret) override;
  Result<void> saveSecret(const ObjectKey& vaultSecret, const SecretRecord& record) override;
  // loadSecret answers from memory, where a record is kept without its PEMs
  // (10,000 of them were 12 MB): this reads them from the Secret.
  Result<std::optional<SecretRecord>> loadSecretWithPems(const ObjectKey& vaultSecret) override;

  // Drops everything cached; the next load reads the API again.
  void forget();
  // Drops the ledgers and revocations only: re-reading 10,000 VaultSecret
  // records because revocactl appended a line would cost 10,000 GETs.
  void forgetHistory();
  void forgetLedger(const ObjectKey& ca) override;

 private:
  using Data = std::map<std::string, std::string>;  // a Secret's data, decoded
  // A Secret as last read or written: the object without its data (so a
  // write keeps labels, annotations and finalizers others put on it), and
  // the data decoded. No resourceVersion: not in the API yet.
  struct Stored {
    nlohmann::json object;
    Data data;
    std::string resourceVersion() const;
  };
  // One chunk of a ledger or of revocations: its Secret and its lines parsed.
  template <typename Entry>
  struct Chunk {
    Stored secret;
    std::size_t lines = 0;
    std::vector<Entry> entries;
  };
  template <typename Entry>
  using Chunks = std::map<int, Chunk<Entry>>;  // by chunk number
  using Labels = std::map<std::string, std::string>;

  Result<std::optional<Stored>> read(const std::string& namespace_, const std::string& name);
  // Writes `data` over `base` (update with its resourceVersion; create when
  // it has none). Returns the ApiError as is, for the caller to retry a 409.
  kube::ApiResult<Stored> write(const std::string& namespace_, const std::string& name, const Labels& labels,
                                const Stored* base, Data data);
  // Read (or take `known`), change, write back with that resourceVersion;
  // on 409 read again and redo the change. `known` is updated.
  Result<void> modify(const std::string& namespace_, const std::string& name, const Labels& labels,
                      std::optional<Stored>& known, const std::function<Result<void>(Data&)>& change);

  template <typename Entry>
  Result<Chunks<Entry>*> loadChunks(std::map<ObjectKey, Chunks<Entry>>& cache, const std::string& state,
                                    const ObjectKey& ca);
  template <typename Entry>
  Result<void> append(std::map<ObjectKey, Chunks<Entry>>& cache, const std::string& state, const ObjectKey& ca,
                      const std::vector<Entry>& entries);

  // Ledger lines waiting for one write (appendIssued's group commit).
  struct PendingAppends {
    std::vector<IssuedCertificate> entries;
    bool done = false;
    Result<void> result;
  };
  std::mutex appendMutex_;  // before mutex_, never inside it
  std::condition_variable appended_;
  std::map<ObjectKey, std::shared_ptr<PendingAppends>> openAppends_;
  std::set<ObjectKey> writingLedger_;

  kube::ApiClient& api_;
  const std::size_t chunkSize_;
  std::mutex mutex_;
  std::map<std::string, std::string> tenants_;
  std::map<ObjectKey, std::optional<CaRecord>> cas_;
  std::map<ObjectKey, std::optional<Stored>> caSecrets_;  // revoca-ca-<ca>, for the next write
  std::map<ObjectKey, Chunks<IssuedCertificate>> ledgers_;
  std::map<ObjectKey, Chunks<Revocation>> revocations_;
  std::map<ObjectKey, std::optional<SecretRecord>> secrets_;
  // Namespaces whose VaultSecret records were all listed at once (a start
  // with 10,000 of them costs 20 pages, not 10,000 GETs): a name missing
  // from secrets_ there has no record yet.
  std::set<std::string> listedNamespaces_;
  std::set<std::string> listAttempted_;  // listed once per start, even when it failed
  std::set<ObjectKey> absent_;  // known to have no Secret: saveSecret creates without reading first

  // VaultSecret records whose write failed, written again at their next
  // load (saveUnsaved). Kept across forget(): they are this process's own.
  std::map<ObjectKey, SecretRecord> unsaved_;
  Result<std::optional<SecretRecord>> saveUnsaved(const ObjectKey& vaultSecret, const SecretRecord& record);

  Result<void> listSecretRecords(const std::string& namespace_);
  Result<std::optional<SecretRecord>> parseSecretRecord(const ObjectKey& vaultSecret, const Data& data);
  // The record in its Secret, read from the API (not the cache); `exists`: the Secret is there.
  Result<std::optional<SecretRecord>> readSecretRecord(const ObjectKey& vaultSecret, bool& exists);
};

// The line formats of the chunks (no newline), exposed for tests. The
// subject goes last, verbatim but for line breaks: it may hold spaces.
std::string ledgerLine(const IssuedCertificate& issued);
std::optional<IssuedCertificate> parseLedgerLine(const std::string& line);
std::string revocationLine(const Revocation& revocation);
std::optional<Revocation> parseRevocationLine(const std::string& line);

}  // namespace revoca::kubernetes
