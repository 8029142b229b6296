#include "registry/ca_registry.h"

#include <algorithm>

namespace revoca {
namespace {

responder::OcspReply errorReply(pki::OcspErrorStatus status, responder::OcspOutcome outcome) {
  responder::OcspReply reply;
  reply.der = pki::ocspErrorResponse(status);
  reply.outcome = outcome;
  return reply;
}

responder::OcspOutcome outcomeOf(pki::CertStatus status) {
  switch (status) {
    case pki::CertStatus::Good: return responder::OcspOutcome::Good;
    case pki::CertStatus::Revoked: return responder::OcspOutcome::Revoked;
    case pki::CertStatus::Unknown: return responder::OcspOutcome::Unknown;
  }
  return responder::OcspOutcome::Unknown;
}

std::string answerKey(int version, pki::CertIdHash hash, const std::string& serialHex) {
  return std::to_string(version) + "/" + std::to_string(static_cast<int>(hash)) + "/" + serialHex;
}

}  // namespace

void CaRegistry::setTenant(const std::string& name, const std::string& uuid) {
  std::unique_lock lock(mutex_);
  tenantUuidByName_[name] = uuid;
  tenantNameByUuid_[uuid] = name;
}

void CaRegistry::setAuthority(const ObjectKey& ca, std::vector<CaVersionMaterial> liveVersions,
                              const AuthoritySettings& settings) {
  std::unique_lock lock(mutex_);
  Authority& authority = authorities_[ca];
  authority.versions = std::move(liveVersions);
  authority.settings = settings;
  std::erase_if(authority.crls, [&](const auto& entry) {
    for (const auto& version : authority.versions)
      if (version.version == entry.first) return false;
    return true;
  });
  std::lock_guard cacheLock(cacheMutex_);
  authority.answers.clear();  // signer or validity may have changed
}

void CaRegistry::removeAuthority(const ObjectKey& ca) {
  std::unique_lock lock(mutex_);
  authorities_.erase(ca);
}

bool CaRegistry::hasAuthority(const ObjectKey& ca) const {
  std::shared_lock lock(mutex_);
  auto it = authorities_.find(ca);
  return it != authorities_.end() && !it->second.versions.empty();
}

void CaRegistry::loadHistory(const ObjectKey& ca, const std::vector<IssuedCertificate>& ledger,
                             const std::vector<Revocation>& revocations) {
  std::unique_lock lock(mutex_);
  Authority& authority = authorities_[ca];
  authority.issued.reserve(ledger.size());
  for (const auto& issued : ledger) noteIssuedLocked(authority, issued);
  authority.revoked.reserve(revocations.size());
  bool newRevocation = false;
  for (const auto& revocation : revocations)
    newRevocation = authority.revoked.emplace(revocation.serialHex, revocation).second || newRevocation;
  // Loading the same history again (a replica re-reading state) changes no CRL.
  if (newRevocation) ++authority.revocationRevision;
}

void CaRegistry::noteIssuedLocked(Authority& authority, const IssuedCertificate& issued) {
  authority.issued[issued.serialHex] = IssuedInfo{issued.caVersion, issued.notAfter};
  TimePoint& latest = authority.latestLeafExpiry[issued.caVersion];
  latest = std::max(latest, issued.notAfter);
}

void CaRegistry::recordIssued(const ObjectKey& ca, const IssuedCertificate& issued) {
  std::unique_lock lock(mutex_);
  noteIssuedLocked(authorities_[ca], issued);
}

bool CaRegistry::recordRevocation(const ObjectKey& ca, const Revocation& revocation) {
  std::unique_lock lock(mutex_);
  Authority& authority = authorities_[ca];
  if (!authority.revoked.emplace(revocation.serialHex, revocation).second) return false;
  ++authority.revocationRevision;
  // Drop every cached "good" answer for the serial: the next request signs "revoked".
  std::lock_guard cacheLock(cacheMutex_);
  for (const auto& version : authority.versions)
    for (auto hash : {pki::CertIdHash::Sha1, pki::CertIdHash::Sha256, pki::CertIdHash::Other})
      authority.answers.erase(answerKey(version.version, hash, revocation.serialHex));
  return true;
}

bool CaRegistry::wasIssued(const ObjectKey& ca, const std::string& serialHex) const {
  std::shared_lock lock(mutex_);
  auto authority = authorities_.find(ca);
  return authority != authorities_.end() && authority->second.issued.count(serialHex) > 0;
}

std::optional<Revocation> CaRegistry::revocationOf(const ObjectKey& ca, const std::string& serialHex) const {
  std::shared_lock lock(mutex_);
  auto authority = authorities_.find(ca);
  if (authority == authorities_.end()) return std::nullopt;
  auto it = authority->second.revoked.find(serialHex);
  if (it == authority->second.revoked.end()) return std::nullopt;
  return it->second;
}

std::size_t CaRegistry::issuedCount(const ObjectKey& ca) const {
  std::shared_lock lock(mutex_);
  auto it = authorities_.find(ca);
  return it == authorities_.end() ? 0 : it->second.issued.size();
}

std::map<int, TimePoint> CaRegistry::latestLeafExpiry(const ObjectKey& ca) const {
  std::shared_lock lock(mutex_);
  auto it = authorities_.find(ca);
  return it == authorities_.end() ? std::map<int, TimePoint>{} : it->second.latestLeafExpiry;
}

std::uint64_t CaRegistry::revocationRevision(const ObjectKey& ca) const {
  std::shared_lock lock(mutex_);
  auto it = authorities_.find(ca);
  return it == authorities_.end() ? 0 : it->second.revocationRevision;
}

std::size_t CaRegistry::revokedCount(const ObjectKey& ca) const {
  std::shared_lock lock(mutex_);
  auto it = authorities_.find(ca);
  return it == authorities_.end() ? 0 : it->second.revoked.size();
}

std::vector<pki::RevokedEntry> CaRegistry::crlEntries(const ObjectKey& ca, int version, TimePoint thisUpdate,
                                                     Seconds retention) const {
  TimePoint expiredBefore = thisUpdate - retention;
  std::shared_lock lock(mutex_);
  std::vector<pki::RevokedEntry> entries;
  auto it = authorities_.find(ca);
  if (it == authorities_.end()) return entries;
  const Authority& authority = it->second;
  int newest = authority.versions.empty() ? version : authority.versions.back().version;
  entries.reserve(authority.revoked.size());
  for (const auto& [serial, revocation] : authority.revoked) {
    auto issued = authority.issued.find(serial);
    bool signedByVersion = issued != authority.issued.end() ? issued->second.caVersion == version
                                                            : version == newest;
    if (!signedByVersion) continue;
    // A serial missing from the ledger has no known notAfter: it stays.
    if (issued != authority.issued.end() && issued->second.notAfter < expiredBefore) continue;
    entries.push_back({serial, revocation.revokedAt, revocation.reason, revocation.invalidityDate});
  }
  return entries;
}

void CaRegistry::setCrl(const ObjectKey& ca, int version, pki::SignedCrl crl) {
  auto shared = std::make_shared<const pki::SignedCrl>(std::move(crl));
  std::unique_lock lock(mutex_);
  Authority& authority = authorities_[ca];
  // What this process served before is all it knows of: a CRL signed in
  // the same second by a process that ended then, or by another replica,
  // is not seen here.
  auto latest = authority.latestCrlThisUpdate.find(version);
  bool newer = latest == authority.latestCrlThisUpdate.end() || shared->thisUpdate > latest->second;
  if (newer) authority.latestCrlThisUpdate[version] = shared->thisUpdate;
  authority.crls[version] = PublishedCrl{std::move(shared), newer};
}

void CaRegistry::setSavedCrls(const ObjectKey& ca, std::map<int, pki::SignedCrl> crls) {
  std::unique_lock lock(mutex_);
  Authority& authority = authorities_[ca];
  if (!authority.versions.empty()) return;  // live: it signs its own
  // Signed by an earlier process, whose other CRLs this one never saw.
  for (auto& [version, crl] : crls) {
    TimePoint& latest = authority.latestCrlThisUpdate[version];
    latest = std::max(latest, crl.thisUpdate);
    authority.crls[version] = PublishedCrl{std::make_shared<const pki::SignedCrl>(std::move(crl)), false};
  }
}

std::shared_ptr<const pki::SignedCrl> CaRegistry::findCrlLocked(const ObjectKey& ca, int version) const {
  auto it = authorities_.find(ca);
  if (it == authorities_.end()) return nullptr;
  auto crl = it->second.crls.find(version);
  return crl == it->second.crls.end() ? nullptr : crl->second.crl;
}

std::optional<std::uint64_t> CaRegistry::crlNumberOf(const ObjectKey& ca, int version) const {
  std::shared_lock lock(mutex_);
  auto crl = findCrlLocked(ca, version);
  return crl ? std::optional(crl->crlNumber) : std::nullopt;
}

std::shared_ptr<const pki::SignedCrl> CaRegistry::crlOf(const ObjectKey& ca, int version) const {
  std::shared_lock lock(mutex_);
  return findCrlLocked(ca, version);
}

std::string CaRegistry::namespaceOfLocked(const std::string& tenant) const {
  auto byUuid = tenantNameByUuid_.find(tenant);
  if (byUuid != tenantNameByUuid_.end()) return byUuid->second;
  return tenantUuidByName_.count(tenant) ? tenant : std::string();
}

const CaRegistry::Authority* CaRegistry::findLocked(const std::string& tenant, const std::string& ca,
                                                    bool live) const {
  std::string namespace_ = namespaceOfLocked(tenant);
  if (namespace_.empty()) return nullptr;
  auto it = authorities_.find(ObjectKey{namespace_, ca});
  if (it == authorities_.end() || (live && it->second.versions.empty())) return nullptr;
  return &it->second;
}

std::optional<responder::CrlDocument> CaRegistry::crl(const std::string& tenant, const std::string& ca,
                                                      const std::string& version) const {
  int number = 0;
  for (char c : version) {
    if (c < '0' || c > '9' || number > 1000000) return std::nullopt;
    number = number * 10 + (c - '0');
  }
  std::shared_lock lock(mutex_);
  // Not only live CAs: one whose state cannot be read serves its saved CRLs.
  const Authority* authority = findLocked(tenant, ca, false);
  if (!authority) return std::nullopt;
  auto it = authority->crls.find(number);
  if (it == authority->crls.end()) return std::nullopt;
  const std::shared_ptr<const pki::SignedCrl>& signedCrl = it->second.crl;
  // Aliasing pointers: each keeps the whole SignedCrl alive, however long
  // the response takes, even if a new CRL replaces it meanwhile.
  return responder::CrlDocument{std::shared_ptr<const std::string>(signedCrl, &signedCrl->der),
                                std::shared_ptr<const std::string>(signedCrl, &signedCrl->pem),
                                number,
                                signedCrl->crlNumber,
                                signedCrl->thisUpdate,
                                signedCrl->nextUpdate,
                                authority->settings.crlCacheMaxAge,
                                it->second.newerThanEveryEarlierCrl};
}

void CaRegistry::setTrustBundle(const ObjectKey& ca, std::string pem) {
  auto shared = std::make_shared<const std::string>(std::move(pem));
  std::unique_lock lock(mutex_);
  authorities_[ca].trustBundle = std::move(shared);
}

std::optional<responder::CaBundleDocument> CaRegistry::caBundle(const std::string& tenant,
                                                                const std::string& ca) const {
  std::shared_lock lock(mutex_);
  // Only a live CA, as for OCSP: one whose state cannot be read has no
  // versions this process can vouch for.
  const Authority* authority = findLocked(tenant, ca);
  if (!authority || !authority->trustBundle) return std::nullopt;
  return responder::CaBundleDocument{authority->trustBundle, authority->settings.crlCacheMaxAge};
}

pki::SingleAnswer CaRegistry::answerLocked(const Authority& authority, const CaVersionMaterial& version,
                                           const pki::CertIdQuery& query, TimePoint now) const {
  pki::SingleAnswer answer;
  answer.query = &query;
  answer.thisUpdate = now;
  answer.nextUpdate = now + authority.settings.ocspValidity;
  auto revoked = authority.revoked.find(query.serialHex);
  auto issued = authority.issued.find(query.serialHex);
  bool issuedHere = issued != authority.issued.end() && issued->second.caVersion == version.version;
  if (revoked != authority.revoked.end() && (issuedHere || issued == authority.issued.end())) {
    answer.status = pki::CertStatus::Revoked;
    answer.revokedAt = revoked->second.revokedAt;
    answer.reason = revoked->second.reason;
  } else if (issuedHere) {
    answer.status = pki::CertStatus::Good;
  } else {
    answer.status = pki::CertStatus::Unknown;
  }
  return answer;
}

responder::OcspReply CaRegistry::ocsp(const std::string& tenant, const std::string& ca,
                                      const std::string& requestDer) const {
  auto request = pki::parseOcspRequest(requestDer);
  if (!request) return errorReply(pki::OcspErrorStatus::MalformedRequest, responder::OcspOutcome::Malformed);

  std::shared_lock lock(mutex_);
  const Authority* authority = findLocked(tenant, ca);
  if (!authority) return errorReply(pki::OcspErrorStatus::Unauthorized, responder::OcspOutcome::Unauthorized);

  // Every CertID must name one of this CA's live versions, and all the same
  // one: a response has a single signer.
  const CaVersionMaterial* signer = nullptr;
  for (const auto& query : request->queries) {
    const CaVersionMaterial* match = nullptr;
    for (const auto& version : authority->versions)
      if (pki::matches(version.hashes, query)) match = &version;
    if (!match || (signer && signer != match))
      return errorReply(pki::OcspErrorStatus::Unauthorized, responder::OcspOutcome::Unauthorized);
    signer = match;
  }

  TimePoint now = clock_.now();
  bool cacheable = request->queries.size() == 1 && !request->nonce;
  std::string key;
  if (cacheable) {
    const auto& query = request->queries.front();
    key = answerKey(signer->version, query.hash, query.serialHex);
    std::lock_guard cacheLock(cacheMutex_);
    auto cached = authority->answers.find(key);
    // Re-sign at half the validity, so a cached answer always has time left.
    if (cached != authority->answers.end() &&
        now < cached->second.thisUpdate + (cached->second.nextUpdate - cached->second.thisUpdate) / 2) {
      auto status = answerLocked(*authority, *signer, query, now).status;
      return responder::OcspReply{cached->second.der, outcomeOf(status), cached->second.thisUpdate,
                                  cached->second.nextUpdate, false};
    }
  }

  std::vector<pki::SingleAnswer> answers;
  for (const auto& query : request->queries) answers.push_back(answerLocked(*authority, *signer, query, now));
  auto signedDer = pki::signOcspResponse(answers, request->nonce, signer->cert, signer->key,
                                         authority->settings.digest, now);
  if (!signedDer) return errorReply(pki::OcspErrorStatus::InternalError, responder::OcspOutcome::Malformed);

  responder::OcspOutcome outcome = outcomeOf(answers.front().status);
  for (const auto& answer : answers)
    if (outcomeOf(answer.status) != outcome) outcome = responder::OcspOutcome::Mixed;
  responder::OcspReply reply{*signedDer, outcome, answers.front().thisUpdate, answers.front().nextUpdate,
                             request->nonce.has_value()};
  // Unknown serials are not cached: random serials must not grow memory.
  if (cacheable && answers.front().status != pki::CertStatus::Unknown) {
    std::lock_guard cacheLock(cacheMutex_);
    authority->answers[key] = CachedAnswer{reply.der, answers.front().thisUpdate, answers.front().nextUpdate};
  }
  return reply;
}

void CaRegistry::appendMetricsText(std::string& out) const {
  std::shared_lock lock(mutex_);
  auto series = [&out](const char* name, const ObjectKey& key) {
    out.append(name).append("{namespace=\"").append(key.namespace_).append("\",ca=\"").append(key.name);
  };
  out += "# HELP revoca_ca_issued_certificates Serials in the CA's ledger.\n"
         "# TYPE revoca_ca_issued_certificates gauge\n";
  for (const auto& [key, authority] : authorities_) {
    series("revoca_ca_issued_certificates", key);
    out.append("\"} ").append(std::to_string(authority.issued.size())).append("\n");
  }
  out += "# HELP revoca_ca_revoked_certificates Revoked serials of the CA.\n"
         "# TYPE revoca_ca_revoked_certificates gauge\n";
  for (const auto& [key, authority] : authorities_) {
    series("revoca_ca_revoked_certificates", key);
    out.append("\"} ").append(std::to_string(authority.revoked.size())).append("\n");
  }
  out += "# HELP revoca_ca_version Newest live version of the CA.\n# TYPE revoca_ca_version gauge\n";
  for (const auto& [key, authority] : authorities_) {
    if (authority.versions.empty()) continue;
    series("revoca_ca_version", key);
    out.append("\"} ").append(std::to_string(authority.versions.back().version)).append("\n");
  }
  out += "# HELP revoca_crl_number CRL number of the published CRL.\n# TYPE revoca_crl_number gauge\n";
  for (const auto& [key, authority] : authorities_)
    for (const auto& [version, published] : authority.crls) {
      series("revoca_crl_number", key);
      out.append("\",version=\"").append(std::to_string(version)).append("\"} ");
      out.append(std::to_string(published.crl->crlNumber)).append("\n");
    }
}

}  // namespace revoca
