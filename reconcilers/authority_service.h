#pragma once
// The CA operations every backend and revocactl share: create and rotate CA
// versions, issue leaf certificates into the ledger, revoke, publish CRLs.
// It writes the StateStore first and the CaRegistry second, so nothing the
// responder serves is ever missing from durable state.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "declarations/types.h"
#include "registry/ca_registry.h"
#include "ports/state_store.h"

namespace revoca {

struct TenantInfo {
  std::string name;  // the namespace
  std::string uuid;
};

// A CA as the last reconcile left it.
struct ActiveCa {
  ObjectKey key;
  CertificateAuthoritySpec spec;
  TenantInfo tenant;
  CaRecord record;
  std::vector<int> liveVersions;
  std::vector<CaVersionMaterial> liveMaterial;  // parallel to liveVersions
  std::string parentChainPem;  // the parent's chain: intermediates above this CA, never the root
  std::string trustPem;  // ca-cert.pem: every live version, newest first, and the parent's bundle
  std::optional<ObjectKey> parent;

  // The newest version: in every bundle, but not necessarily signing (signer()).
  const CaVersionMaterial& current() const { return liveMaterial.back(); }
  // The live version that signs a certificate of `type` at `now` (see
  // caSigningWait in reconcilers/renewal.h).
  const CaVersionMaterial& signer(pki::CertType type, TimePoint now) const;
  // When a newer version than the one signing `type` at `now` takes over,
  // if one is waiting; else when the version after the newest will.
  TimePoint nextSignerChange(pki::CertType type, TimePoint now) const;
  // What a leaf of `version` carries after itself: that version's
  // certificate and its parent's chain for an intermediate, nothing for a root.
  std::string chainFor(int version) const;
  // The CRL distribution points of a version's certificates, fixed when it
  // was made (CaVersionRecord::crlDistUrls).
  std::vector<std::string> crlUrls(int version) const;
  std::vector<std::string> ocspUrls(int version) const;
  // trustPem with `version` first: the ca-cert.pem of a certificate that
  // version signed. EMQX builds the OCSP request it staples from the first
  // certificate of that file (its issuer_pem); a broker's certificate
  // signed by an older live version would otherwise be asked about under
  // the newest one's key, and answered "unknown".
  std::string trustPemFor(int version) const;
};

struct LeafRequest {
  std::string host;
  std::vector<std::string> altNames;
  pki::CertType type = pki::CertType::Server;
  Seconds ttl = Seconds(86400);
};

struct IssuedLeaf {
  std::string certPem;  // the leaf, then the CA's chain
  std::string keyPem;   // never logged
  std::string serialHex;
  int caVersion = 1;
  TimePoint notBefore;
  TimePoint notAfter;
};

class AuthorityService {
 public:
  AuthorityService(StateStore& store, CaRegistry& registry, const Clock& clock)
      : store_(store), registry_(registry), clock_(clock) {}

  // Loads the CA, creates its first version or rotates it when its renewal
  // time has come, registers its live versions and refreshes stale CRLs.
  // The parent of an intermediate must have been reconciled first.
  Result<const ActiveCa*> reconcileCa(const CertificateAuthority& ca, const TenantInfo& tenant);
  const ActiveCa* active(const ObjectKey& ca) const;

  Result<IssuedLeaf> issue(const ObjectKey& ca, const LeafRequest& request);
  // True when newly revoked; false when the serial was already revoked
  // (the first revocation stands: revocations are immutable). A serial the
  // CA never issued is refused (requireIssued).
  Result<bool> revoke(const ObjectKey& ca, const Revocation& revocation);
  // An error unless the CA's ledger holds the serial: a revocation of a
  // mistyped serial, or of another CA's, would say "revoked" while the
  // certificate meant stays good. The ledger is read again before refusing:
  // another writer (revocactl against a cluster) may have issued it since.
  Result<void> requireIssued(const ObjectKey& ca, const std::string& serialHex);
  bool isRevoked(const ObjectKey& ca, const std::string& serialHex) const {
    return registry_.revocationOf(ca, serialHex).has_value();
  }
  std::optional<Revocation> revocationOf(const ObjectKey& ca, const std::string& serialHex) const {
    return registry_.revocationOf(ca, serialHex);
  }
  // The number of the first CRL that listed a revoked serial (CrlListing):
  // none for a revocation recorded before revoca kept it, nor while no CRL
  // lists the serial (its certificate expired long before, or its version
  // is no longer live).
  std::optional<std::uint64_t> firstCrlNumber(const ObjectKey& ca, const std::string& serialHex) const;
  // The number of the CRL the responder serves for a version, if any.
  std::optional<std::uint64_t> crlNumber(const ObjectKey& ca, int version) const {
    return registry_.crlNumberOf(ca, version);
  }
  // Signs a new CRL for each live version whose CRL is missing, misses a
  // revocation, or is past half its validity.
  Result<void> publishCrls(const ObjectKey& ca);
  // Reads the ledgers and revocations of the CAs it knows again: another
  // writer (revocactl against a cluster) may have added to them. A CA whose
  // history no longer reads exactly stops signing (it is no longer active)
  // until a reconcile reads it again; the first such error is returned.
  Result<void> reloadHistory();

 private:
  Result<void> loadHistoryOnce(const ObjectKey& ca);
  // `cause`, after having the registry serve the CA's saved CRLs while it
  // has no live versions: its state could not be read, it signs nothing.
  Error failClosed(const ObjectKey& ca, Error cause);
  Result<CaVersionRecord> createVersion(const ActiveCa& ca, int version, const ActiveCa* parent);
  // Versions saved before their CRL URLs were kept (CaVersionRecord::
  // crlDistUrls) take them from the spec as it is when they are first read:
  // what every CRL of theirs named until then.
  void adoptCrlDistUrls(ActiveCa& ca);
  Result<void> activate(ActiveCa& ca, const ActiveCa* parent);
  // Notes, for the serials this process revoked and no CRL listed yet,
  // `crlNumber` as the first CRL that lists them if `entries` do.
  void noteFirstListings(const ObjectKey& ca, const std::vector<pki::RevokedEntry>& entries, std::uint64_t crlNumber);
  // Writes the listings noted and not written yet; stops at the first failure.
  Result<void> saveFirstListings(const ObjectKey& ca);

  StateStore& store_;
  CaRegistry& registry_;
  const Clock& clock_;
  std::map<ObjectKey, ActiveCa> active_;
  std::set<ObjectKey> historyLoaded_;
  std::set<ObjectKey> savedCrlsServed_;  // read once: a CRL of 100,000 entries is 4.5 MB
  std::map<std::pair<ObjectKey, int>, std::uint64_t> publishedRevision_;
  // By CA and serial, the first CRL number that listed it, as read and written.
  std::map<ObjectKey, std::unordered_map<std::string, std::uint64_t>> firstCrls_;
  // Serials revoked here that no CRL signed since has listed. Only this
  // process knows which CRL is the first to list them: one signed before
  // the revocation was recorded does not, and a revocation from before
  // first CRLs were kept is on CRLs whose numbers are gone.
  std::map<ObjectKey, std::set<std::string>> unlisted_;
  // Noted, not written yet (a write failed): written at the CA's next publishCrls.
  std::map<ObjectKey, std::vector<CrlListing>> unsavedListings_;
};

}  // namespace revoca
