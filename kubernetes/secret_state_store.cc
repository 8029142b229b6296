#include "kubernetes/secret_state_store.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include <spdlog/spdlog.h>

#include "kubernetes/crl_stamps.h"
#include "kubernetes/names.h"
#include "pki/certificate.h"
#include "pki/digest.h"
#include "registry/record_codec.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

std::string caSecretName(const ObjectKey& ca) { return "revoca-ca-" + ca.name; }
std::string vaultSecretStateName(const ObjectKey& secret) { return "revoca-vs-" + secret.name; }

// What stays in memory of a record: its PEMs (about 1 KiB, a third of
// what revoca holds per VaultSecret at 10,000) only as digests. They are
// read again from the Secret when an output must be written again.
std::optional<SecretRecord> withoutPems(std::optional<SecretRecord> record) {
  if (!record || !record->hasPems()) return record;
  record->certDigest = pki::sha256(record->certPem);
  record->keyDigest = pki::sha256(record->keyPem);
  std::string().swap(record->certPem);
  std::string().swap(record->keyPem);
  return record;
}

// A chunk log's lines as registry/record_codec.h writes them, read as a
// Secret's (which may hold the previous release's).
template <typename Entry>
LineFormat<Entry> chunkLines(std::string (*encode)(const Entry&),
                             Result<std::vector<Entry>> (*decode)(std::string_view, Store, const std::string&)) {
  return {encode, [decode](std::string_view text, const std::string& where) {
            return decode(text, Store::Secrets, where);
          }};
}

Result<std::uint64_t> crlNumberOf(const SecretData& data, const std::string& secret) {
  auto found = data.find("crl-number");
  if (found == data.end()) return std::uint64_t{0};
  auto number = decodeCrlNumber(found->second, Store::Secrets);
  if (!number)
    return makeError("Secret " + secret + ": crl-number: " + number.error().message +
                     "; set it to the number of the CA's last CRL (openssl crl -noout -crlnumber)");
  return number;
}

// The record a revoca-vs-* Secret holds. Anything missing: none, and the
// certificate is issued again, as for a new VaultSecret.
Result<std::optional<SecretRecord>> secretRecordOf(const ObjectKey& vaultSecret, const SecretData& data) {
  auto cert = data.find("cert.pem");
  auto key = data.find("cert.key");
  auto fields = data.find("record.json");
  if (cert == data.end() || key == data.end() || fields == data.end() || cert->second.empty() || key->second.empty())
    return std::optional<SecretRecord>();
  std::string where = "Secret " + vaultSecret.namespace_ + "/" + vaultSecretStateName(vaultSecret) + ": record.json";
  auto record = decodeSecretRecordFields(fields->second, where);
  if (!record) return makeError(record.error().message + "; delete the Secret and revoca issues a new certificate");
  record->certPem = cert->second;
  record->keyPem = key->second;
  return std::optional<SecretRecord>(std::move(*record));
}

}  // namespace

SecretStateStore::SecretStateStore(kubeclient::ApiClient& api, std::size_t chunkSize)
    : secrets_(api),
      ledgers_(api, "ledger", chunkSize, chunkLines(&encodeLedgerLine, &decodeLedgerLines)),
      revocations_(api, "revocations", chunkSize, chunkLines(&encodeRevocationLine, &decodeRevocationLines)),
      crlListings_(api, "first-crls", chunkSize,
                   {&encodeCrlListingLine, [](std::string_view text, const std::string& where) {
                      return decodeCrlListingLines(text, where);
                    }}) {}

Result<std::string> SecretStateStore::tenantUuid(const std::string& namespace_) {
  std::lock_guard lock(mutex_);
  if (auto known = tenants_.find(namespace_); known != tenants_.end()) return known->second;
  auto object = secrets_.api().get(namespaces(namespace_));
  if (!object.ok()) {
    if (object.error.status == 403)
      return makeError("revoca's ServiceAccount may not get namespace " + namespace_ +
                       " (its uid is the tenant UUID); grant it get on namespaces in the ClusterRole");
    if (object.error.status == 404) return makeError("namespace " + namespace_ + " does not exist");
    return makeError("cannot get namespace " + namespace_ + " (its uid is the tenant UUID): " + object.error.message);
  }
  std::string uid;
  if (auto metadata = object.value->find("metadata"); metadata != object.value->end() && metadata->is_object())
    uid = metadata->value("uid", "");
  if (uid.empty()) return makeError("namespace " + namespace_ + " has no metadata.uid; is this a Kubernetes apiserver?");
  tenants_[namespace_] = uid;
  return uid;
}

Result<std::optional<CaRecord>> SecretStateStore::loadCa(const ObjectKey& ca) {
  std::lock_guard lock(mutex_);
  if (auto known = cas_.find(ca); known != cas_.end()) return known->second;
  auto secret = secrets_.read(ca.namespace_, caSecretName(ca));
  if (!secret) return secret.error();
  std::optional<CaRecord> record;
  if (*secret) {
    if (auto versions = (*secret)->data.find("versions.json"); versions != (*secret)->data.end()) {
      auto decoded = decodeCaVersions(versions->second);
      if (!decoded)
        return makeError("Secret " + ca.namespace_ + "/" + caSecretName(ca) + ": " + decoded.error().message +
                         "; restore the Secret from a backup");
      if (!decoded->versions.empty()) record = std::move(*decoded);
    }
  }
  caSecrets_[ca] = *secret ? std::move(**secret) : StoredSecret{};  // for the next write
  cas_[ca] = record;
  return record;
}

Result<void> SecretStateStore::saveCa(const ObjectKey& ca, const CaRecord& given) {
  std::lock_guard lock(mutex_);
  // Ascending, as loadCa returns it: current() is the last one either way.
  CaRecord record = given;
  std::stable_sort(record.versions.begin(), record.versions.end(),
                   [](const auto& a, const auto& b) { return a.version < b.version; });
  std::string versions = encodeCaVersions(record);
  auto saved = secrets_.modify(ca.namespace_, caSecretName(ca), stateLabels("ca", kCaLabel, ca.name), caSecrets_[ca],
                               [&](SecretData& data) -> Result<void> {
                                 data["versions.json"] = versions;
                                 return {};
                               });
  if (!saved) {
    cas_.erase(ca);
    return saved;
  }
  cas_[ca] = record.versions.empty() ? std::nullopt : std::optional<CaRecord>(record);
  return {};
}

Result<std::optional<CrlStamp>> SecretStateStore::stampCrl(const ObjectKey& ca, int version, const CrlStamp& draft) {
  std::lock_guard lock(mutex_);
  std::string name = caSecretName(ca);
  std::string secret = ca.namespace_ + "/" + name;
  CrlStamp stamp = draft;
  auto saved = secrets_.modify(ca.namespace_, name, stateLabels("ca", kCaLabel, ca.name), caSecrets_[ca],
                               [&](SecretData& data) -> Result<void> {
                                 auto last = crlNumberOf(data, secret);
                                 if (!last) return last.error();
                                 auto stamps = parseCrlStamps(data["crl-stamps"], secret);
                                 if (!stamps) return stamps.error();
                                 for (const auto& [_, recorded] : *stamps) *last = std::max(*last, recorded.number);
                                 if (*last == std::numeric_limits<std::uint64_t>::max())
                                   return makeError("Secret " + secret +
                                                    ": the CRL numbers are used up (2^64 - 1 reached)");
                                 stamp.number = crlNumberAfter(*last, draft.thisUpdate);
                                 // Whole seconds, as a CRL encodes them and as the stamp keeps
                                 // them: what a replica signing under it signs too.
                                 stamp.thisUpdate = std::chrono::floor<Seconds>(draft.thisUpdate);
                                 stamp.nextUpdate = std::chrono::floor<Seconds>(draft.nextUpdate);
                                 (*stamps)[version] = stamp;
                                 data["crl-number"] = encodeCrlNumber(stamp.number);
                                 data["crl-stamps"] = formatCrlStamps(*stamps);
                                 if (!data.count("versions.json")) data["versions.json"] = encodeCaVersions({});
                                 return {};
                               });
  if (!saved) return saved.error();
  return std::optional(stamp);
}

Result<std::optional<CrlStamp>> SecretStateStore::recordedCrlStamp(const ObjectKey& ca, int version) {
  std::lock_guard lock(mutex_);
  std::string secret = ca.namespace_ + "/" + caSecretName(ca);
  auto stored = secrets_.read(ca.namespace_, caSecretName(ca));
  if (!stored) return stored.error();
  if (!*stored) return std::optional<CrlStamp>();
  auto text = (*stored)->data.find("crl-stamps");
  if (text == (*stored)->data.end()) return std::optional<CrlStamp>();
  auto stamps = parseCrlStamps(text->second, secret);
  if (!stamps) return stamps.error();
  auto found = stamps->find(version);
  return found == stamps->end() ? std::nullopt : std::optional(found->second);
}

Result<std::vector<IssuedCertificate>> SecretStateStore::loadLedger(const ObjectKey& ca) { return ledgers_.load(ca); }

Result<void> SecretStateStore::appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) {
  // Never write what the reader refuses: the CA would stop at its next load.
  if (!pki::isNormalizedSerialHex(issued.serialHex) || issued.caVersion < 1)
    return makeError("CertificateAuthority " + ca.str() + ": refusing to record a serial that is not canonical "
                     "(or of version " + std::to_string(issued.caVersion) + ") in the ledger");
  return ledgers_.append(ca, issued);
}

Result<std::vector<Revocation>> SecretStateStore::loadRevocations(const ObjectKey& ca) {
  return revocations_.load(ca);
}

Result<void> SecretStateStore::appendRevocation(const ObjectKey& ca, const Revocation& revocation) {
  if (!pki::isNormalizedSerialHex(revocation.serialHex))
    return makeError("CertificateAuthority " + ca.str() + ": refusing to record the revocation of a serial that is "
                     "not canonical");
  return revocations_.append(ca, revocation);
}

Result<std::vector<CrlListing>> SecretStateStore::loadCrlListings(const ObjectKey& ca) {
  return crlListings_.load(ca);
}

Result<void> SecretStateStore::appendCrlListing(const ObjectKey& ca, const CrlListing& listing) {
  if (!pki::isNormalizedSerialHex(listing.serialHex) || listing.crlNumber == 0)
    return makeError("CertificateAuthority " + ca.str() + ": refusing to record a CRL listing that is not canonical");
  return crlListings_.append(ca, listing);
}

Result<void> SecretStateStore::listSecretRecords(const std::string& namespace_) {
  kubeclient::ListOptions options;
  options.labelSelector = std::string(kManagedSelector) + "," + kStateLabel + "=vaultsecret";
  options.limit = kSecretListLimit;
  std::map<ObjectKey, KnownRecord> found;
  std::optional<Error> broken;
  // Each item is taken as it arrives and left empty: the whole list never
  // sits in memory as JSON.
  options.transform = [&](json& item) {
    std::string name = item.contains("metadata") ? item["metadata"].value("name", "") : "";
    std::string owner = item.contains("metadata") && item["metadata"].contains("labels")
                            ? item["metadata"]["labels"].value(kVaultSecretLabel, "")
                            : "";
    ObjectKey key{namespace_, owner};
    // A copied label does not make a record: the name must match too.
    if (!owner.empty() && name == vaultSecretStateName(key) && !broken) {
      auto stored = storedSecret(std::move(item), namespace_, name);
      auto record = stored ? secretRecordOf(key, stored->data) : Result<std::optional<SecretRecord>>(stored.error());
      if (record)
        found[key] = {withoutPems(std::move(*record)), stored->resourceVersion()};
      else
        broken = record.error();
    }
    item = nullptr;
  };
  auto list = secrets_.api().list(secrets(namespace_), options);
  if (!list.ok()) return stateSecretError("list", namespace_, "revoca-vs-*", list.error);
  if (broken) return *broken;
  // Node by node, not copies: at 10,000 records a second map is 2 MB.
  records_.merge(found);
  listedNamespaces_.insert(namespace_);
  return {};
}

void SecretStateStore::listRecordsOnce(const std::string& namespace_) {
  if (!listAttempted_.insert(namespace_).second) return;
  // One broken record must not stop the others: then each is read alone.
  if (auto listed = listSecretRecords(namespace_); !listed)
    spdlog::debug("listing VaultSecret records in {}: {}", namespace_, listed.error().message);
}

void SecretStateStore::listRecordsAhead(const std::string& namespace_) {
  std::lock_guard lock(mutex_);
  listRecordsOnce(namespace_);
}

Result<std::optional<SecretRecord>> SecretStateStore::loadSecret(const ObjectKey& vaultSecret) {
  std::unique_lock lock(mutex_);
  if (auto unsaved = unsaved_.find(vaultSecret); unsaved != unsaved_.end()) {
    SecretRecord record = unsaved->second;
    lock.unlock();
    return saveUnsaved(vaultSecret, record);
  }
  if (auto known = records_.find(vaultSecret); known != records_.end()) return known->second.record;
  if (!listAttempted_.count(vaultSecret.namespace_)) {
    listRecordsOnce(vaultSecret.namespace_);
    if (auto known = records_.find(vaultSecret); known != records_.end()) return known->second.record;
  }
  if (listedNamespaces_.count(vaultSecret.namespace_)) {
    absent_.insert(vaultSecret);
    records_[vaultSecret] = {};
    return std::optional<SecretRecord>();
  }
  bool exists = false;
  std::string version;
  auto record = readSecretRecord(vaultSecret, exists, version);
  if (!record) return record;
  if (!exists) absent_.insert(vaultSecret);
  records_[vaultSecret] = {withoutPems(*record), std::move(version)};
  return record;
}

Result<std::optional<SecretRecord>> SecretStateStore::loadSecretWithPems(const ObjectKey& vaultSecret) {
  auto loaded = loadSecret(vaultSecret);
  if (!loaded || !*loaded || (*loaded)->hasPems()) return loaded;
  bool exists = false;
  std::string version;
  auto record = readSecretRecord(vaultSecret, exists, version);
  if (!record) return record;
  std::lock_guard lock(mutex_);
  if (!unsaved_.count(vaultSecret)) {
    auto& known = records_[vaultSecret];
    // Deleted or replaced behind revoca's back: what is there now counts.
    if (!*record || (*record)->serialHex != (*loaded)->serialHex) known.record = withoutPems(*record);
    known.resourceVersion = std::move(version);
  }
  return record;
}

Result<std::optional<SecretRecord>> SecretStateStore::readSecretRecord(const ObjectKey& vaultSecret, bool& exists,
                                                                       std::string& resourceVersion) {
  auto secret = secrets_.read(vaultSecret.namespace_, vaultSecretStateName(vaultSecret));
  if (!secret) return secret.error();
  exists = secret->has_value();
  if (!exists) return std::optional<SecretRecord>();
  resourceVersion = (*secret)->resourceVersion();
  return secretRecordOf(vaultSecret, (*secret)->data);
}

Result<void> SecretStateStore::saveSecret(const ObjectKey& vaultSecret, const SecretRecord& record) {
  SecretData written{{"cert.pem", record.certPem}, {"cert.key", record.keyPem},
                     {"record.json", encodeSecretRecordFields(record)}};
  std::string name = vaultSecretStateName(vaultSecret);
  SecretLabels labels = stateLabels("vaultsecret", kVaultSecretLabel, vaultSecret.name);
  // Known absent: created at once (a 409 reads it and tries again). Known
  // at a version: written at it. Else read first. Only the version is kept,
  // not the Secret: VaultSecrets are many and written seldom.
  std::optional<StoredSecret> known;
  std::string version;
  {
    std::lock_guard lock(mutex_);
    if (absent_.erase(vaultSecret))
      known = StoredSecret{};
    else if (auto found = records_.find(vaultSecret); found != records_.end())
      version = found->second.resourceVersion;
  }
  // Written unlocked (writeAt() and modify() keep to the API and `known`):
  // the engine saves several VaultSecrets at once, each under its own name.
  Result<void> saved;
  std::string savedVersion;
  bool writtenAt = false;
  if (!version.empty()) {
    auto applied = secrets_.writeAt(vaultSecret.namespace_, name, labels, version, written);
    writtenAt = applied.ok();
    if (writtenAt) {
      savedVersion = std::move(*applied.value);
    } else if (applied.error.status != 409 && applied.error.status != 404) {
      saved = stateSecretError("patch", vaultSecret.namespace_, name, applied.error);
    } else {
      // Written or deleted by someone else since: read it, as for a record never read.
      spdlog::debug("Secret {}/{}: {} on apply at its last known version, reading it again", vaultSecret.namespace_,
                    name, applied.error.status);
    }
  }
  if (saved && !writtenAt) {
    saved = secrets_.modify(vaultSecret.namespace_, name, labels, known, [&](SecretData& data) -> Result<void> {
      for (const auto& [key, value] : written) data[key] = value;
      return {};
    });
    if (saved && known) savedVersion = known->resourceVersion();
  }
  std::lock_guard lock(mutex_);
  if (!saved) {
    // Whether the write took is unknown: the next load reads the Secret,
    // and writes this record if it is not there (see saveUnsaved).
    records_.erase(vaultSecret);
    listedNamespaces_.erase(vaultSecret.namespace_);
    unsaved_[vaultSecret] = record;
    return saved;
  }
  unsaved_.erase(vaultSecret);
  records_[vaultSecret] = {withoutPems(record), std::move(savedVersion)};
  return {};
}

// The certificate of a record that could not be saved is issued and in the
// ledger already: issuing another because the apiserver was away for a
// moment would be a second certificate for one VaultSecret. So the next
// load saves this one, unless the Secret holds it already (the write took,
// its answer was lost) or a newer one (another leader issued meanwhile).
Result<std::optional<SecretRecord>> SecretStateStore::saveUnsaved(const ObjectKey& vaultSecret,
                                                                  const SecretRecord& record) {
  bool exists = false;
  std::string version;
  auto found = readSecretRecord(vaultSecret, exists, version);
  if (!found && !exists) return found.error();  // unreadable; a broken record is written over
  std::optional<SecretRecord> stored = found ? std::move(*found) : std::nullopt;
  if (stored && (stored->serialHex == record.serialHex || stored->notBefore > record.notBefore)) {
    std::lock_guard lock(mutex_);
    unsaved_.erase(vaultSecret);
    records_[vaultSecret] = {withoutPems(stored), std::move(version)};
    return stored;
  }
  spdlog::info("VaultSecret {}: saving the record of serial {} again (its last write failed)", vaultSecret.str(),
               record.serialHex);
  if (auto saved = saveSecret(vaultSecret, record); !saved) return saved.error();
  return std::optional<SecretRecord>(record);
}

void SecretStateStore::forget() {
  {
    std::lock_guard lock(mutex_);
    tenants_.clear();
    cas_.clear();
    caSecrets_.clear();
    records_.clear();
    listedNamespaces_.clear();
    listAttempted_.clear();
    absent_.clear();
  }
  crlListings_.forgetAll();
  forgetHistory();
}

void SecretStateStore::forgetLedger(const ObjectKey& ca) { ledgers_.forget(ca); }

void SecretStateStore::forgetHistory() {
  ledgers_.forgetAll();
  revocations_.forgetAll();
}

}  // namespace revoca::kubernetes
