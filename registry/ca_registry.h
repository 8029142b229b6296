#pragma once
// The live view of every CA: signing material of its live versions, the
// ledger of serials it issued, its revocations, its CRLs and cached OCSP
// answers. Reconcilers write it; the responder's threads read it.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "declarations/types.h"
#include "pki/certificate.h"
#include "pki/crl.h"
#include "pki/key.h"
#include "pki/ocsp.h"
#include "registry/records.h"
#include "responder/revocation_source.h"

namespace revoca {

struct CaVersionMaterial {
  int version = 1;
  pki::Certificate cert;
  pki::PrivateKey key;
  pki::IssuerHashes hashes;
};

struct AuthoritySettings {
  pki::Digest digest = pki::Digest::Sha256;
  Seconds ocspValidity = Seconds(3600);
  Seconds crlCacheMaxAge = Seconds(300);  // see CertificateAuthoritySpec
};

class CaRegistry final : public responder::RevocationSource {
 public:
  explicit CaRegistry(const Clock& clock) : clock_(clock) {}

  void setTenant(const std::string& name, const std::string& uuid);

  // Replaces the live versions of a CA, keeping its ledger and revocations.
  void setAuthority(const ObjectKey& ca, std::vector<CaVersionMaterial> liveVersions,
                    const AuthoritySettings& settings);
  void removeAuthority(const ObjectKey& ca);
  bool hasAuthority(const ObjectKey& ca) const;

  void loadHistory(const ObjectKey& ca, const std::vector<IssuedCertificate>& ledger,
                   const std::vector<Revocation>& revocations);
  // Records a newly issued serial and signs its first OCSP answer ahead of time.
  void recordIssued(const ObjectKey& ca, const IssuedCertificate& issued);
  // False when the serial was already revoked (the first revocation stands).
  bool recordRevocation(const ObjectKey& ca, const Revocation& revocation);
  std::optional<Revocation> revocationOf(const ObjectKey& ca, const std::string& serialHex) const;
  // True when the CA's ledger holds the serial.
  bool wasIssued(const ObjectKey& ca, const std::string& serialHex) const;
  std::size_t issuedCount(const ObjectKey& ca) const;
  // The latest notAfter among certificates each version signed.
  std::map<int, TimePoint> latestLeafExpiry(const ObjectKey& ca) const;
  // Grows with every revocation of the CA: a CRL older than this is stale.
  std::uint64_t revocationRevision(const ObjectKey& ca) const;
  std::size_t revokedCount(const ObjectKey& ca) const;

  // The entries for version `version`'s CRL signed at `thisUpdate`: revoked
  // serials it signed, and for the newest version also revoked serials no
  // version is known to have signed. A certificate that expired more than
  // `retention` before thisUpdate is left out (RFC 5280 section 3.3; OCSP
  // still answers "revoked" for it). Decided from thisUpdate, not the clock:
  // the same state and thisUpdate always give the same entries.
  std::vector<pki::RevokedEntry> crlEntries(const ObjectKey& ca, int version, TimePoint thisUpdate,
                                            Seconds retention) const;
  void setCrl(const ObjectKey& ca, int version, pki::SignedCrl crl);
  // Shared, not copied (a CRL of 100,000 entries is megabytes); null when none.
  std::shared_ptr<const pki::SignedCrl> crlOf(const ObjectKey& ca, int version) const;
  // The number of that CRL, without copying it (a CRL of 100,000 entries is megabytes).
  std::optional<std::uint64_t> crlNumberOf(const ObjectKey& ca, int version) const;
  // For a CA whose state cannot be read (it has no live versions here): the
  // CRLs it last signed, saved in the state, served until it has live
  // versions again. A stale CRL still lists every serial revoked until then;
  // no CRL at all would fail every peer's check. Ignored for a live CA.
  void setSavedCrls(const ObjectKey& ca, std::map<int, pki::SignedCrl> crls);

  // The CA's trust bundle (ca-cert.pem: every live version, newest first,
  // then the parent's), served by caBundle() while the CA has live versions.
  void setTrustBundle(const ObjectKey& ca, std::string pem);

  void markReady() { ready_ = true; }

  // responder::RevocationSource
  std::optional<responder::CrlDocument> crl(const std::string& tenant, const std::string& ca,
                                            const std::string& version) const override;
  std::optional<responder::CaBundleDocument> caBundle(const std::string& tenant,
                                                      const std::string& ca) const override;
  responder::OcspReply ocsp(const std::string& tenant, const std::string& ca,
                            const std::string& requestDer) const override;
  bool ready() const override { return ready_; }
  void appendMetricsText(std::string& out) const override;

 private:
  struct IssuedInfo {
    int caVersion;
    TimePoint notAfter;
  };
  struct CachedAnswer {
    std::string der;
    TimePoint thisUpdate;
    TimePoint nextUpdate;
  };
  struct PublishedCrl {
    std::shared_ptr<const pki::SignedCrl> crl;
    bool newerThanEveryEarlierCrl = false;  // see responder::CrlDocument
  };
  struct Authority {
    std::vector<CaVersionMaterial> versions;
    AuthoritySettings settings;
    std::unordered_map<std::string, IssuedInfo> issued;
    std::unordered_map<std::string, Revocation> revoked;
    std::map<int, PublishedCrl> crls;
    // Replaced whole, never changed in place: a response still being
    // written keeps the bundle it started with.
    std::shared_ptr<const std::string> trustBundle;
    // By version, the latest thisUpdate of any CRL held here, kept when the
    // CRL is replaced.
    std::map<int, TimePoint> latestCrlThisUpdate;
    std::map<int, TimePoint> latestLeafExpiry;
    std::uint64_t revocationRevision = 0;
    // Signed answers for single-serial requests without a nonce, keyed by
    // version, hash algorithm and serial.
    mutable std::unordered_map<std::string, CachedAnswer> answers;
  };

  // The CA named by a tenant (UUID or name); with `live`, only one with live versions.
  const Authority* findLocked(const std::string& tenant, const std::string& ca, bool live = true) const;
  std::shared_ptr<const pki::SignedCrl> findCrlLocked(const ObjectKey& ca, int version) const;
  std::string namespaceOfLocked(const std::string& tenant) const;
  pki::SingleAnswer answerLocked(const Authority& authority, const CaVersionMaterial& version,
                                 const pki::CertIdQuery& query, TimePoint now) const;
  static void noteIssuedLocked(Authority& authority, const IssuedCertificate& issued);

  const Clock& clock_;
  mutable std::shared_mutex mutex_;
  mutable std::mutex cacheMutex_;  // guards Authority::answers under a shared lock
  std::map<std::string, std::string> tenantUuidByName_;
  std::map<std::string, std::string> tenantNameByUuid_;
  std::map<ObjectKey, Authority> authorities_;
  std::atomic<bool> ready_{false};
};

}  // namespace revoca
