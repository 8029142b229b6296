#pragma once
// StateStore on Kubernetes Secrets (kubernetes/state_secrets.h), each in the
// namespace of the object it belongs to, labelled revoca.io/state=<what>;
// what is in them is written as registry/record_codec.h says:
//
//   Namespace NS                   metadata.uid is the tenant UUID of NS
//   revoca-ca-<ca>                 state=ca, revoca.io/ca=<ca>
//                                    versions.json  the CA's versions, keys and all
//                                    crl-number     the last CRL number handed out
//                                    crl-stamps     what each version's last CRL number
//                                                   names (kubernetes/crl_stamps.h)
//   revoca-ledger-<ca>-<n>         the ledger, a line per serial issued, and
//   revoca-revocations-<ca>-<n>    the revocations, a line each, and
//   revoca-first-crls-<ca>-<n>     the first CRL that listed each (CrlListing):
//                                  chunked logs (kubernetes/secret_chunk_log.h)
//   revoca-vs-<vaultsecret>        state=vaultsecret, revoca.io/vaultsecret=<name>
//                                    cert.pem, cert.key, and record.json (the other fields);
//                                    kept in memory without the PEMs, read when needed
//
// What was read or written is cached, so a reconcile pass costs no API call
// once everything is loaded (the leader is the only writer but revocactl);
// forget() drops the cache when another writer may have changed the state;
// forgetHistory() only the ledgers and revocations, the part revocactl
// writes too (a VaultSecret's record has one writer: the leader).
// Key material never goes into an error message.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kubeclient/api_client.h"
#include "kubernetes/secret_chunk_log.h"
#include "kubernetes/state_secrets.h"
#include "ports/state_store.h"

namespace revoca::kubernetes {

class SecretStateStore final : public StateStore {
 public:
  // `chunkSize`: lines per ledger or revocations Secret (tests use a few).
  explicit SecretStateStore(kubeclient::ApiClient& api, std::size_t chunkSize = kDefaultChunkSize);

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
  Result<std::vector<CrlListing>> loadCrlListings(const ObjectKey& ca) override;
  Result<void> appendCrlListing(const ObjectKey& ca, const CrlListing& listing) override;

  Result<std::optional<SecretRecord>> loadSecret(const ObjectKey& vaultSecret) override;
  Result<void> saveSecret(const ObjectKey& vaultSecret, const SecretRecord& record) override;
  // loadSecret answers from memory, where a record is kept without its PEMs
  // (10,000 of them were 12 MB): this reads them from the Secret.
  Result<std::optional<SecretRecord>> loadSecretWithPems(const ObjectKey& vaultSecret) override;

  // Lists the VaultSecret records of `namespace_` now, ahead of their first
  // load (which would list them then). A failure is left to that load.
  void listRecordsAhead(const std::string& namespace_);
  // Drops everything cached; the next load reads the API again.
  void forget();
  // Drops the ledgers and revocations only: re-reading 10,000 VaultSecret
  // records because revocactl appended a line would cost 10,000 GETs.
  void forgetHistory();
  void forgetLedger(const ObjectKey& ca) override;

 private:
  StateSecrets secrets_;
  SecretChunkLog<IssuedCertificate> ledgers_;
  SecretChunkLog<Revocation> revocations_;
  SecretChunkLog<CrlListing> crlListings_;  // the leader alone writes it: forgetHistory keeps it

  std::mutex mutex_;
  std::map<std::string, std::string> tenants_;
  std::map<ObjectKey, std::optional<CaRecord>> cas_;
  std::map<ObjectKey, std::optional<StoredSecret>> caSecrets_;  // revoca-ca-<ca>, for the next write
  // A VaultSecret's record as last read or written, with its Secret's
  // resourceVersion: a new certificate is written at that version without
  // reading the Secret first (empty: read first).
  struct KnownRecord {
    std::optional<SecretRecord> record;  // without its PEMs
    std::string resourceVersion;
  };
  std::map<ObjectKey, KnownRecord> records_;
  // Namespaces whose VaultSecret records were all listed at once (a start
  // with 10,000 of them costs one list, not 10,000 GETs): a name missing
  // from records_ there has no record yet.
  std::set<std::string> listedNamespaces_;
  std::set<std::string> listAttempted_;  // listed once per start, even when it failed
  std::set<ObjectKey> absent_;  // known to have no Secret: saveSecret creates without reading first

  // VaultSecret records whose write failed, written again at their next
  // load (saveUnsaved). Kept across forget(): they are this process's own.
  std::map<ObjectKey, SecretRecord> unsaved_;
  Result<std::optional<SecretRecord>> saveUnsaved(const ObjectKey& vaultSecret, const SecretRecord& record);

  Result<void> listSecretRecords(const std::string& namespace_);
  void listRecordsOnce(const std::string& namespace_);  // mutex_ held
  // The record in its Secret, read from the API (not the cache); `exists`:
  // the Secret is there, at `resourceVersion`.
  Result<std::optional<SecretRecord>> readSecretRecord(const ObjectKey& vaultSecret, bool& exists,
                                                       std::string& resourceVersion);
};

}  // namespace revoca::kubernetes
