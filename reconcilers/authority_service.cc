#include "reconcilers/authority_service.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "declarations/url_template.h"
#include "declarations/values.h"
#include "reconcilers/crl_retention.h"
#include "reconcilers/renewal.h"

namespace revoca {
namespace {

std::vector<std::string> render(const std::vector<std::string>& templates, const ActiveCa& ca, int version) {
  std::vector<std::string> urls;
  for (const auto& text : templates) {
    auto url = renderUrlTemplate(text, {ca.tenant.name, ca.tenant.uuid, ca.key.name, version});
    if (url) urls.push_back(*url);  // templates were validated when the declaration was read
  }
  return urls;
}

Error caError(const ObjectKey& ca, const std::string& what, const Error& cause) {
  return makeError("CertificateAuthority " + ca.str() + ": " + what + ": " + cause.message);
}

}  // namespace

std::vector<std::string> ActiveCa::crlUrls(int version) const {
  for (const auto& made : record.versions)
    if (made.version == version && made.crlDistUrls) return *made.crlDistUrls;
  return render(spec.crlDistUrls, *this, version);
}
std::vector<std::string> ActiveCa::ocspUrls(int version) const {
  return render(spec.ocspResponderUrls, *this, version);
}

std::string ActiveCa::trustPemFor(int version) const {
  for (const auto& made : record.versions) {
    if (made.version != version) continue;
    std::size_t at = trustPem.find(made.certPem);
    if (at == 0 || at == std::string::npos) return trustPem;
    return made.certPem + trustPem.substr(0, at) + trustPem.substr(at + made.certPem.size());
  }
  return trustPem;
}

namespace {

std::vector<MadeVersion> madeVersions(const std::vector<CaVersionMaterial>& material) {
  std::vector<MadeVersion> made;
  for (const auto& version : material) made.push_back({version.version, caVersionMadeAt(version.cert.notBefore())});
  return made;
}

}  // namespace

const CaVersionMaterial& ActiveCa::signer(pki::CertType type, TimePoint now) const {
  int version = caSigningVersion(madeVersions(liveMaterial), caSigningWait(spec, type), now);
  for (const auto& material : liveMaterial)
    if (material.version == version) return material;
  return current();
}

TimePoint ActiveCa::nextSignerChange(pki::CertType type, TimePoint now) const {
  Seconds wait = caSigningWait(spec, type);
  int signing = signer(type, now).version;
  for (const auto& version : madeVersions(liveMaterial))
    if (version.version > signing) return version.madeAt + wait;
  return caRenewalTime(*record.current(), spec) + wait;
}

std::string ActiveCa::chainFor(int version) const {
  if (!parent) return "";
  for (const auto& material : liveMaterial)
    if (material.version == version) return material.cert.toPem() + parentChainPem;
  return current().cert.toPem() + parentChainPem;
}

const ActiveCa* AuthorityService::active(const ObjectKey& ca) const {
  auto it = active_.find(ca);
  return it == active_.end() ? nullptr : &it->second;
}

Result<void> AuthorityService::loadHistoryOnce(const ObjectKey& ca) {
  if (historyLoaded_.count(ca)) return {};
  auto ledger = store_.loadLedger(ca);
  if (!ledger) return caError(ca, "reading the ledger", ledger.error());
  auto revocations = store_.loadRevocations(ca);
  if (!revocations) return caError(ca, "reading the revocations", revocations.error());
  auto listings = store_.loadCrlListings(ca);
  if (!listings) return caError(ca, "reading the first CRL of each revocation", listings.error());
  registry_.loadHistory(ca, *ledger, *revocations);
  auto& first = firstCrls_[ca];
  first.clear();
  // Written once per serial; should a line be there twice, the lower number came first.
  for (const auto& listing : *listings)
    if (auto [at, added] = first.emplace(listing.serialHex, listing.crlNumber); !added)
      at->second = std::min(at->second, listing.crlNumber);
  if (auto unsaved = unsavedListings_.find(ca); unsaved != unsavedListings_.end())
    for (const auto& listing : unsaved->second) first.emplace(listing.serialHex, listing.crlNumber);
  historyLoaded_.insert(ca);
  return {};
}

Error AuthorityService::failClosed(const ObjectKey& ca, Error cause) {
  // Live from an earlier pass: it serves fresh CRLs.
  if (registry_.hasAuthority(ca) || !savedCrlsServed_.insert(ca).second) return cause;
  // Only the error matters to the caller: without saved CRLs there is simply nothing to serve.
  if (auto saved = store_.loadCrls(ca); saved && !saved->empty()) registry_.setSavedCrls(ca, std::move(*saved));
  return cause;
}

Result<void> AuthorityService::reloadHistory() {
  std::set<ObjectKey> loaded;
  loaded.swap(historyLoaded_);
  std::optional<Error> failed;
  for (const auto& ca : loaded) {
    if (auto reloaded = loadHistoryOnce(ca); !reloaded) {
      // State that no longer reads exactly (a hand edit) stops the CA from
      // signing until it does: its next reconcile reads it again and reports
      // the error. The responder keeps answering from what it last read.
      active_.erase(ca);
      if (!failed) failed = reloaded.error();
    }
  }
  if (failed) return *failed;
  return {};
}

Result<CaVersionRecord> AuthorityService::createVersion(const ActiveCa& ca, int version, const ActiveCa* parent) {
  auto key = pki::PrivateKey::generate(ca.spec.key);
  if (!key) return caError(ca.key, "generating the key (spec.certKeyType)", key.error());
  TimePoint now = clock_.now();
  pki::IssueRequest request;
  request.type = pki::CertType::Authority;
  request.subject = ca.spec.subject;
  if (request.subject.commonName.empty()) request.subject.commonName = ca.key.name;
  request.serialHex = pki::newSerialHex();
  request.notBefore = now - kNotBeforeBackdate;
  request.notAfter = now + ca.spec.ttl;
  request.digest = ca.spec.digest;
  // Devices check an intermediate as they check a broker's certificate: it
  // is signed by the parent version they have had time to trust.
  const CaVersionMaterial* signer = parent ? &parent->signer(pki::CertType::Authority, now) : nullptr;
  if (parent) {
    // An intermediate ends no later than the version that signs it, and
    // carries its parent's revocation URLs. The parent signs it as it signs
    // everything else: with its own declared digest (a P-384 root with
    // sha384 signs ecdsa-with-SHA384, whatever the intermediate declares).
    request.digest = parent->spec.digest;
    request.notAfter = std::min(request.notAfter, signer->cert.notAfter());
    request.crlDistributionUrls = parent->crlUrls(signer->version);
    request.ocspUrls = parent->ocspUrls(signer->version);
  }
  auto cert = parent ? pki::issueCertificate(request, *key, &signer->cert, &signer->key)
                     : pki::issueCertificate(request, *key, nullptr, nullptr);
  if (!cert) return caError(ca.key, "signing version " + std::to_string(version), cert.error());
  if (parent) {
    IssuedCertificate issued{cert->serialHex(), signer->version, cert->notAfter(), ca.key.name};
    if (auto saved = store_.appendIssued(parent->key, issued); !saved) return saved.error();
    registry_.recordIssued(parent->key, issued);
  }
  CaVersionRecord made{version, cert->toPem(), key->toPem(), cert->notBefore(), cert->notAfter(), std::nullopt};
  made.crlDistUrls = render(ca.spec.crlDistUrls, ca, version);
  return made;
}

void AuthorityService::adoptCrlDistUrls(ActiveCa& ca) {
  bool adopted = false;
  for (auto& version : ca.record.versions) {
    if (version.crlDistUrls) continue;
    version.crlDistUrls = render(ca.spec.crlDistUrls, ca, version.version);
    adopted = true;
  }
  // Best effort: a follower or revocactl cannot write, and keeps them in
  // memory; the leader writes them now, or with the CA's next version.
  if (adopted)
    if (auto saved = store_.saveCa(ca.key, ca.record); !saved)
      spdlog::debug("CertificateAuthority {}: recording the CRL URLs of its versions: {}", ca.key.str(),
                    saved.error().message);
}

Result<void> AuthorityService::activate(ActiveCa& ca, const ActiveCa* parent) {
  TimePoint now = clock_.now();
  std::vector<int> live = liveCaVersions(ca.record, registry_.latestLeafExpiry(ca.key), now);
  // A version that still signs stays live, whether or not anything it signed is.
  std::vector<MadeVersion> unexpired;
  for (const auto& version : ca.record.versions)
    if (version.notAfter > now) unexpired.push_back({version.version, caVersionMadeAt(version.notBefore)});
  for (pki::CertType type : {pki::CertType::Client, pki::CertType::Server}) {
    int signing = caSigningVersion(unexpired, caSigningWait(ca.spec, type), now);
    if (signing && std::find(live.begin(), live.end(), signing) == live.end())
      live.insert(std::upper_bound(live.begin(), live.end(), signing), signing);
  }
  // Newest first: EMQX builds its OCSP request from the first certificate of
  // its issuer_pem (ca-cert.pem), and the newest version signs the leaves.
  std::string trust;
  for (auto version = ca.record.versions.rbegin(); version != ca.record.versions.rend(); ++version)
    if (std::find(live.begin(), live.end(), version->version) != live.end()) trust += version->certPem;
  if (parent) trust += parent->trustPem;
  bool trustChanged = trust != ca.trustPem;
  ca.trustPem = std::move(trust);
  ca.parentChainPem = parent ? parent->chainFor(parent->signer(pki::CertType::Authority, now).version) : "";
  if (live == ca.liveVersions && !ca.liveMaterial.empty()) {
    if (trustChanged) registry_.setTrustBundle(ca.key, ca.trustPem);  // the parent's part may have changed
    return {};
  }
  std::vector<CaVersionMaterial> material;
  for (const auto& version : ca.record.versions) {
    if (std::find(live.begin(), live.end(), version.version) == live.end()) continue;
    auto cert = pki::Certificate::fromPem(version.certPem);
    if (!cert) return caError(ca.key, "reading version " + std::to_string(version.version), cert.error());
    auto key = pki::PrivateKey::fromPem(version.keyPem);
    if (!key) return caError(ca.key, "reading the key of version " + std::to_string(version.version), key.error());
    // The store reads its files or Secret exactly; this is the check no
    // format catches: a pair put together by hand would sign certificates
    // that nothing verifies against the certificate brokers trust.
    if (!pki::keyMatchesCertificate(*cert, *key))
      return makeError("CertificateAuthority " + ca.key.str() + ": the key of version " +
                       std::to_string(version.version) +
                       " does not belong to its certificate (their public keys differ); restore the pair from a "
                       "backup (revoca never makes a new key for a version that signed certificates)");
    material.push_back({version.version, *cert, *key, pki::issuerHashesOf(*cert)});
  }
  ca.liveVersions = live;
  ca.liveMaterial = std::move(material);
  registry_.setAuthority(ca.key, ca.liveMaterial,
                         AuthoritySettings{ca.spec.digest, ca.spec.ocspValidity, ca.spec.crlCacheMaxAge});
  // Served once every version in it has been read and checked.
  registry_.setTrustBundle(ca.key, ca.trustPem);
  return {};
}

Result<const ActiveCa*> AuthorityService::reconcileCa(const CertificateAuthority& declaration,
                                                      const TenantInfo& tenant) {
  ObjectKey key = declaration.key();
  const ActiveCa* parent = nullptr;
  if (declaration.spec.issuingCa) {
    parent = active(ObjectKey{key.namespace_, *declaration.spec.issuingCa});
    if (!parent)
      return makeError("spec.issuingCa: CertificateAuthority " + key.namespace_ + "/" +
                       *declaration.spec.issuingCa + " is not Ready; create it or fix its errors first");
  }
  if (auto loaded = loadHistoryOnce(key); !loaded) return failClosed(key, loaded.error());

  auto existing = active_.find(key);
  bool fresh = existing == active_.end();
  ActiveCa& ca = active_[key];
  if (fresh) {
    auto record = store_.loadCa(key);
    if (!record) {
      // Nothing is made in place of what cannot be read: no new version.
      active_.erase(key);
      return failClosed(key, caError(key, "reading its state", record.error()));
    }
    if (*record) ca.record = **record;
  }
  bool specChanged = fresh || ca.spec.ocspValidity != declaration.spec.ocspValidity ||
                     ca.spec.crlCacheMaxAge != declaration.spec.crlCacheMaxAge ||
                     ca.spec.digest != declaration.spec.digest || ca.parent != (parent ? std::optional(parent->key) : std::nullopt);
  ca.key = key;
  ca.spec = declaration.spec;
  ca.tenant = tenant;
  ca.parent = parent ? std::optional(parent->key) : std::nullopt;
  if (fresh) adoptCrlDistUrls(ca);

  const CaVersionRecord* current = ca.record.current();
  // An intermediate cut short by its parent's version would get the same
  // notAfter again: it rotates once the parent has rotated.
  bool cappedByParent =
      current && parent && current->notAfter >= parent->signer(pki::CertType::Authority, clock_.now()).cert.notAfter();
  // A version's CRL URLs are fixed (CaVersionRecord::crlDistUrls): other
  // URLs take effect with a new version.
  bool urlsChanged = current && ca.crlUrls(current->version) != render(ca.spec.crlDistUrls, ca, current->version);
  if (!current || urlsChanged || (clock_.now() >= caRenewalTime(*current, ca.spec) && !cappedByParent)) {
    int next = current ? current->version + 1 : 1;
    if (urlsChanged)
      spdlog::info("CertificateAuthority {}: spec.crlDistUrls changed: version {} carries the new URLs; the "
                   "certificates of version {} keep theirs, and so does its CRL",
                   key.str(), next, current->version);
    auto version = createVersion(ca, next, parent);
    if (!version) {
      if (ca.record.versions.empty()) active_.erase(key);
      return version.error();
    }
    ca.record.versions.push_back(*version);
    if (auto saved = store_.saveCa(key, ca.record); !saved) {
      ca.record.versions.pop_back();
      if (ca.record.versions.empty()) active_.erase(key);
      return caError(key, "saving version " + std::to_string(next), saved.error());
    }
    specChanged = true;
  }
  if (specChanged) ca.liveMaterial.clear();  // forces activate() to re-register
  if (auto activated = activate(ca, parent); !activated) {
    active_.erase(key);
    return activated.error();
  }
  if (auto published = publishCrls(key); !published) return published.error();
  return &ca;
}

Result<IssuedLeaf> AuthorityService::issue(const ObjectKey& caKey, const LeafRequest& leaf) {
  const ActiveCa* ca = active(caKey);
  if (!ca) return makeError("CertificateAuthority " + caKey.str() + " is not Ready; check its status");
  TimePoint now = clock_.now();
  const CaVersionMaterial& signer = ca->signer(leaf.type, now);
  auto key = pki::PrivateKey::generate(ca->spec.key);
  if (!key) return makeError("generating a key: " + key.error().message);
  pki::IssueRequest request;
  request.type = leaf.type;
  request.subject.commonName = leaf.host;
  auto addSubjectAltName = [&](const std::string& name) {
    (decl::isIpAddress(name) ? request.ipAddresses : request.dnsNames).push_back(name);
  };
  addSubjectAltName(leaf.host);
  for (const auto& name : leaf.altNames)
    if (name != leaf.host) addSubjectAltName(name);
  request.serialHex = pki::newSerialHex();
  request.notBefore = now - kNotBeforeBackdate;
  // A certificate never outlives the CA version that signs it.
  request.notAfter = std::min(now + leaf.ttl, signer.cert.notAfter());
  request.digest = ca->spec.digest;
  request.crlDistributionUrls = ca->crlUrls(signer.version);
  request.ocspUrls = ca->ocspUrls(signer.version);
  auto cert = pki::signCertificate(request, *key, &signer.cert, &signer.key);
  if (!cert) return makeError("CertificateAuthority " + caKey.str() + ": signing: " + cert.error().message);

  // The ledger is durable before anyone sees the certificate, so OCSP never
  // answers "unknown" for a certificate in use, even after a crash.
  IssuedCertificate issued{cert->serialHex, signer.version, cert->notAfter, leaf.host};
  if (auto saved = store_.appendIssued(caKey, issued); !saved)
    return makeError("CertificateAuthority " + caKey.str() + ": recording serial: " + saved.error().message);
  registry_.recordIssued(caKey, issued);
  return IssuedLeaf{cert->pem + ca->chainFor(signer.version), key->toPem(), issued.serialHex, signer.version, cert->notBefore,
                    cert->notAfter};
}

Result<bool> AuthorityService::revoke(const ObjectKey& caKey, const Revocation& revocation) {
  if (!active(caKey)) return makeError("CertificateAuthority " + caKey.str() + " is not Ready; check its status");
  if (registry_.revocationOf(caKey, revocation.serialHex)) return false;
  if (auto issued = requireIssued(caKey, revocation.serialHex); !issued) return issued.error();
  if (auto saved = store_.appendRevocation(caKey, revocation); !saved)
    return makeError("CertificateAuthority " + caKey.str() + ": recording revocation: " + saved.error().message);
  registry_.recordRevocation(caKey, revocation);
  unlisted_[caKey].insert(revocation.serialHex);
  if (auto published = publishCrls(caKey); !published) return published.error();
  return true;
}

Result<void> AuthorityService::requireIssued(const ObjectKey& caKey, const std::string& serialHex) {
  if (registry_.wasIssued(caKey, serialHex)) return {};
  store_.forgetLedger(caKey);
  historyLoaded_.erase(caKey);
  if (auto reloaded = loadHistoryOnce(caKey); !reloaded) return reloaded.error();
  if (registry_.wasIssued(caKey, serialHex)) return {};
  return makeError("CertificateAuthority " + caKey.str() + " never issued serial " + serialHex +
                   " (its ledger has no such serial, so OCSP answers \"unknown\" for it); check the serial "
                   "(`openssl x509 -noout -serial -in cert.pem`) and that it names the CA that signed the certificate");
}

Result<void> AuthorityService::publishCrls(const ObjectKey& caKey) {
  const ActiveCa* ca = active(caKey);
  if (!ca) return {};
  TimePoint now = clock_.now();  // to the millisecond: a cluster's CRL numbers follow it
  // Whole seconds, as the CRL carries it: its entries are decided from it.
  TimePoint thisUpdate = std::chrono::floor<Seconds>(now);
  auto retention = crlRetentionAfterExpiry(ca->spec.crlValidity);
  std::uint64_t revision = registry_.revocationRevision(caKey);
  for (const auto& version : ca->liveMaterial) {
    auto existing = registry_.crlOf(caKey, version.version);
    auto published = publishedRevision_.find({caKey, version.version});
    bool stale = !existing || published == publishedRevision_.end() || published->second != revision ||
                 now >= existing->thisUpdate + (existing->nextUpdate - existing->thisUpdate) / 2;
    if (!stale) continue;
    auto entries = registry_.crlEntries(caKey, version.version, thisUpdate, retention);
    CrlStamp draft{0, now, now + ca->spec.crlValidity, pki::entriesDigest(entries)};
    auto stamp = store_.stampCrl(caKey, version.version, draft);
    if (!stamp) return caError(caKey, "reserving a CRL number", stamp.error());
    if (!*stamp) continue;
    // Another replica numbers this CA's CRLs: sign under its number only
    // the content it numbered, with its times. Until what this one read
    // gives the same entries (a revocation one of them has not read yet),
    // the CRL signed before is served.
    TimePoint stampedAt = std::chrono::floor<Seconds>((*stamp)->thisUpdate);
    if (stampedAt != thisUpdate) entries = registry_.crlEntries(caKey, version.version, stampedAt, retention);
    if ((stampedAt != thisUpdate ? pki::entriesDigest(entries) : draft.entries) != (*stamp)->entries) continue;
    if (existing && existing->crlNumber == (*stamp)->number) {
      publishedRevision_[{caKey, version.version}] = revision;
      continue;
    }
    pki::CrlRequest request;
    request.entries = std::move(entries);
    request.crlNumber = (*stamp)->number;
    request.thisUpdate = stampedAt;
    request.nextUpdate = std::chrono::floor<Seconds>((*stamp)->nextUpdate);
    auto urls = ca->crlUrls(version.version);
    if (!urls.empty()) request.issuingDistributionPointUrl = urls.front();
    request.digest = ca->spec.digest;
    auto crl = pki::signCrl(request, version.cert, version.key);
    if (!crl) return caError(caKey, "signing the CRL of version " + std::to_string(version.version), crl.error());
    // Saved before served, like every other state: its number is the CRL
    // number's floor should the crl-number record be lowered.
    if (auto saved = store_.saveCrl(caKey, version.version, *crl); !saved)
      return caError(caKey, "saving the CRL of version " + std::to_string(version.version), saved.error());
    std::uint64_t number = crl->crlNumber;
    registry_.setCrl(caKey, version.version, std::move(*crl));
    publishedRevision_[{caKey, version.version}] = revision;
    noteFirstListings(caKey, request.entries, number);
  }
  return saveFirstListings(caKey);
}

std::optional<std::uint64_t> AuthorityService::firstCrlNumber(const ObjectKey& ca, const std::string& serialHex) const {
  auto known = firstCrls_.find(ca);
  if (known == firstCrls_.end()) return std::nullopt;
  auto found = known->second.find(serialHex);
  return found == known->second.end() ? std::nullopt : std::optional(found->second);
}

void AuthorityService::noteFirstListings(const ObjectKey& ca, const std::vector<pki::RevokedEntry>& entries,
                                         std::uint64_t crlNumber) {
  auto unlisted = unlisted_.find(ca);
  if (unlisted == unlisted_.end() || unlisted->second.empty()) return;
  for (const auto& entry : entries) {
    if (!unlisted->second.erase(entry.serialHex)) continue;
    firstCrls_[ca].emplace(entry.serialHex, crlNumber);
    unsavedListings_[ca].push_back({entry.serialHex, crlNumber});
  }
}

Result<void> AuthorityService::saveFirstListings(const ObjectKey& ca) {
  auto unsaved = unsavedListings_.find(ca);
  if (unsaved == unsavedListings_.end()) return {};
  auto& listings = unsaved->second;
  while (!listings.empty()) {
    if (auto saved = store_.appendCrlListing(ca, listings.front()); !saved)
      return caError(ca, "recording the first CRL that listed serial " + listings.front().serialHex, saved.error());
    listings.erase(listings.begin());
  }
  unsavedListings_.erase(unsaved);
  return {};
}

}  // namespace revoca
