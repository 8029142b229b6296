#pragma once
// StateStore on a directory, for standalone mode; what is in the files is
// written as registry/record_codec.h says:
//
//   STATE/tenants/<namespace>                       tenant UUID
//   STATE/cas/<ns>/<ca>/versions/<n>/{key,cert}.pem  key 0600, written before the cert
//   STATE/cas/<ns>/<ca>/versions/<n>/crl.der         the last CRL version n signed
//   STATE/cas/<ns>/<ca>/ledger                       a line per serial issued
//   STATE/cas/<ns>/<ca>/revocations                  a line per revocation
//   STATE/cas/<ns>/<ca>/first-crls                   the first CRL that listed each (CrlListing)
//   STATE/cas/<ns>/<ca>/crl-number                   last CRL number handed out
//   STATE/secrets/<ns>/<name>.json                   current certificate of a VaultSecret, 0600
//
// Whole files are replaced atomically; appended files count only complete
// lines, and a torn last line left by a crash is cut off when first read.
//
// State is the CA's memory, so it is read exactly: a line, a file or a
// version directory that is not as revoca writes it is an error naming the
// file (and line) and the fix, which stops that CA from signing. Nothing is
// skipped, reset or made again: a dropped revocation would answer OCSP
// "good", a new tenant UUID or CA key would strand every certificate issued.
// The exceptions are what a crash leaves: a torn last line, and a version
// directory with its key and no certificate yet.
#include <map>
#include <mutex>
#include <string>

#include "ports/state_store.h"

namespace revoca {

class FileStateStore final : public StateStore {
 public:
  static Result<std::unique_ptr<FileStateStore>> open(const std::string& directory);

  Result<std::string> tenantUuid(const std::string& namespace_) override;
  Result<std::optional<CaRecord>> loadCa(const ObjectKey& ca) override;
  Result<void> saveCa(const ObjectKey& ca, const CaRecord& record) override;
  // One process numbers the CRLs: `draft` with nextCrlNumber.
  Result<std::optional<CrlStamp>> stampCrl(const ObjectKey& ca, int version, const CrlStamp& draft) override;
  // max(crl-number, the highest number among the saved CRLs) + 1.
  Result<std::uint64_t> nextCrlNumber(const ObjectKey& ca);
  Result<void> saveCrl(const ObjectKey& ca, int version, const pki::SignedCrl& crl) override;
  Result<std::map<int, pki::SignedCrl>> loadCrls(const ObjectKey& ca) override;
  Result<std::vector<IssuedCertificate>> loadLedger(const ObjectKey& ca) override;
  Result<void> appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) override;
  Result<std::vector<Revocation>> loadRevocations(const ObjectKey& ca) override;
  Result<void> appendRevocation(const ObjectKey& ca, const Revocation& revocation) override;
  Result<std::vector<CrlListing>> loadCrlListings(const ObjectKey& ca) override;
  Result<void> appendCrlListing(const ObjectKey& ca, const CrlListing& listing) override;
  Result<std::optional<SecretRecord>> loadSecret(const ObjectKey& vaultSecret) override;
  Result<void> saveSecret(const ObjectKey& vaultSecret, const SecretRecord& record) override;

  const std::string& directory() const { return directory_; }

 private:
  explicit FileStateStore(std::string directory) : directory_(std::move(directory)) {}
  std::string caDirectory(const ObjectKey& ca) const;
  // The file's complete lines (a torn last line is cut off, in the file too).
  Result<std::string> readCompleteLines(const std::string& path);
  // A line log of the CA's directory (ledger, revocations, first-crls),
  // read whole by `decode`; a line it refuses is an error ending in `fix`.
  template <typename Entry, typename Decode>
  Result<std::vector<Entry>> loadLog(const ObjectKey& ca, const char* file, Decode decode, const char* fix) {
    std::string path = caDirectory(ca) + "/" + file;
    auto text = readCompleteLines(path);
    if (!text) return text.error();
    Result<std::vector<Entry>> entries = decode(*text, path);
    if (!entries) return makeError(entries.error().message + "; " + fix);
    return entries;
  }
  // The highest CRL number among the saved CRLs, read once, then kept up by saveCrl.
  Result<std::uint64_t> highestSavedCrlNumber(const ObjectKey& ca);

  std::string directory_;
  std::mutex crlMutex_;
  std::map<ObjectKey, std::uint64_t> highestSavedCrl_;
};

// A random RFC 4122 version 4 UUID.
std::string newUuid();

}  // namespace revoca
