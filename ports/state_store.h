#pragma once
// Where revoca keeps what it must not forget: files in the state directory
// (standalone) or Secrets (Kubernetes). Every write is durable before it
// returns, so a crash right after loses nothing that was acknowledged.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "declarations/types.h"
#include "registry/records.h"

namespace revoca {

class StateStore {
 public:
  virtual ~StateStore() = default;

  // The tenant UUID of a namespace, generated once and kept.
  virtual Result<std::string> tenantUuid(const std::string& namespace_) = 0;

  virtual Result<std::optional<CaRecord>> loadCa(const ObjectKey& ca) = 0;
  virtual Result<void> saveCa(const ObjectKey& ca, const CaRecord& record) = 0;
  // The CRL number to sign `draft` under (a CRL of one version): a new one,
  // persisted with the stamp before it is returned, that only grows across
  // restarts. Nothing (std::nullopt) where another replica numbers the CRLs
  // and has not numbered this content: keep serving the CRL signed before.
  virtual Result<std::optional<CrlStamp>> stampCrl(const ObjectKey& ca, int version, const CrlStamp& draft) = 0;
  // The last CRL signed for a CA version, kept where a hand edit of the CRL
  // number cannot lower it (stampCrl counts on from the highest saved),
  // and served when the CA's other state cannot be read. The defaults keep
  // nothing: for a store that has no room for CRLs (a Secret holds 1 MiB,
  // a CRL of 100,000 entries is 4.5 MB).
  virtual Result<void> saveCrl(const ObjectKey& ca, int version, const pki::SignedCrl& crl) {
    (void)ca, (void)version, (void)crl;
    return {};
  }
  // The saved CRLs of a CA, by version.
  virtual Result<std::map<int, pki::SignedCrl>> loadCrls(const ObjectKey& ca) {
    (void)ca;
    return std::map<int, pki::SignedCrl>();
  }

  virtual Result<std::vector<IssuedCertificate>> loadLedger(const ObjectKey& ca) = 0;
  // Drops what the store keeps in memory of a CA's ledger, so that the next
  // loadLedger reads it again: another writer (revocactl against a cluster)
  // may have appended to it. A store that keeps nothing does nothing.
  virtual void forgetLedger(const ObjectKey& ca) {}
  virtual Result<void> appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) = 0;
  virtual Result<std::vector<Revocation>> loadRevocations(const ObjectKey& ca) = 0;
  virtual Result<void> appendRevocation(const ObjectKey& ca, const Revocation& revocation) = 0;
  // The first CRL that listed each serial revoked since revoca kept them
  // (a revocation recorded before has none): written once, when that CRL is
  // signed, so a CertificateRevocation's status.crlNumber stays what it
  // first was. The defaults keep nothing.
  virtual Result<std::vector<CrlListing>> loadCrlListings(const ObjectKey& ca) {
    (void)ca;
    return std::vector<CrlListing>();
  }
  virtual Result<void> appendCrlListing(const ObjectKey& ca, const CrlListing& listing) {
    (void)ca, (void)listing;
    return {};
  }

  virtual Result<std::optional<SecretRecord>> loadSecret(const ObjectKey& vaultSecret) = 0;
  virtual Result<void> saveSecret(const ObjectKey& vaultSecret, const SecretRecord& record) = 0;
  // The record with its PEMs, which loadSecret may leave out (see
  // SecretRecord::certDigest). The default is for stores that never do.
  virtual Result<std::optional<SecretRecord>> loadSecretWithPems(const ObjectKey& vaultSecret) {
    return loadSecret(vaultSecret);
  }
};

}  // namespace revoca
