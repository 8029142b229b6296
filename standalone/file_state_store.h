#pragma once
// StateStore on a directory, for standalone mode:
//
//   STATE/tenants/<namespace>                       tenant UUID
//   STATE/cas/<ns>/<ca>/versions/<n>/{key,cert}.pem  key 0600, written before the cert
//   STATE/cas/<ns>/<ca>/ledger                       one issued serial a line, appended
//   STATE/cas/<ns>/<ca>/revocations                  one revocation a line, appended
//   STATE/cas/<ns>/<ca>/crl-number                   last CRL number handed out
//   STATE/secrets/<ns>/<name>.json                   current certificate of a VaultSecret, 0600
//
// Whole files are replaced atomically; appended files count only complete
// lines, and a torn last line left by a crash is cut off when first read.
#include <string>

#include "registry/state_store.h"

namespace revoca {

class FileStateStore final : public StateStore {
 public:
  static Result<std::unique_ptr<FileStateStore>> open(const std::string& directory);

  Result<std::string> tenantUuid(const std::string& namespace_) override;
  Result<std::optional<CaRecord>> loadCa(const ObjectKey& ca) override;
  Result<void> saveCa(const ObjectKey& ca, const CaRecord& record) override;
  Result<std::uint64_t> nextCrlNumber(const ObjectKey& ca) override;
  Result<std::vector<IssuedCertificate>> loadLedger(const ObjectKey& ca) override;
  Result<void> appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) override;
  Result<std::vector<Revocation>> loadRevocations(const ObjectKey& ca) override;
  Result<void> appendRevocation(const ObjectKey& ca, const Revocation& revocation) override;
  Result<std::optional<SecretRecord>> loadSecret(const ObjectKey& vaultSecret) override;
  Result<void> saveSecret(const ObjectKey& vaultSecret, const SecretRecord& record) override;

  const std::string& directory() const { return directory_; }

 private:
  explicit FileStateStore(std::string directory) : directory_(std::move(directory)) {}
  std::string caDirectory(const ObjectKey& ca) const;
  // The file's complete lines (a torn last line is cut off, in the file too).
  Result<std::string> readCompleteLines(const std::string& path);

  std::string directory_;
};

// A random RFC 4122 version 4 UUID.
std::string newUuid();

}  // namespace revoca
