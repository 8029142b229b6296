#include "kubernetes/secret_state_store.h"

#include <algorithm>
#include <sstream>

#include "kube/config_files.h"
#include "kubernetes/names.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

constexpr int kConflictRetries = 10;

std::string caSecretName(const ObjectKey& ca) { return "revoca-ca-" + ca.name; }
std::string chunkName(const std::string& state, const ObjectKey& ca, int chunk) {
  return "revoca-" + state + "-" + ca.name + "-" + std::to_string(chunk);
}
std::string vaultSecretStateName(const ObjectKey& secret) { return "revoca-vs-" + secret.name; }

// What went wrong, naming the Secret and what to do. Never key material.
Error apiError(const std::string& action, const std::string& namespace_, const std::string& name,
               const kube::ApiError& error) {
  std::string what = action + " Secret " + namespace_ + "/" + name;
  if (error.status == 0) return Error{what + ": the apiserver did not answer (" + error.message + "); revoca retries"};
  if (error.status == 403)
    return Error{what + ": forbidden; revoca's ServiceAccount needs get, list, create and update on secrets in "
                        "namespace " + namespace_ + " (see its Role)"};
  return Error{what + ": " + error.message};
}

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

json versionsJson(const CaRecord& record) {
  json versions = json::array();
  for (const auto& version : record.versions)
    versions.push_back({{"version", version.version},
                        {"certPem", version.certPem},
                        {"keyPem", version.keyPem},
                        {"notBefore", toUnixSeconds(version.notBefore)},
                        {"notAfter", toUnixSeconds(version.notAfter)}});
  return versions;
}

Result<CaRecord> parseVersions(const std::string& text, const std::string& secret) {
  json versions = json::parse(text, nullptr, false);
  if (!versions.is_array()) return makeError("Secret " + secret + ": versions.json is not a JSON array; restore it from a backup");
  CaRecord record;
  try {
    for (const auto& entry : versions)
      record.versions.push_back({entry.at("version").get<int>(), entry.at("certPem").get<std::string>(),
                                 entry.at("keyPem").get<std::string>(),
                                 fromUnixSeconds(entry.at("notBefore").get<std::int64_t>()),
                                 fromUnixSeconds(entry.at("notAfter").get<std::int64_t>())});
  } catch (const json::exception&) {
    return makeError("Secret " + secret + ": versions.json misses a field; restore it from a backup");
  }
  std::sort(record.versions.begin(), record.versions.end(),
            [](const auto& a, const auto& b) { return a.version < b.version; });
  return record;
}

std::map<std::string, std::string> stateLabels(const std::string& state) {
  return {{kManagedByLabel, kManagedByValue}, {kStateLabel, state}};
}

}  // namespace

std::string ledgerLine(const IssuedCertificate& issued) {
  // The subject is last: it is the only field that may hold spaces.
  std::string subject = issued.subject;
  std::replace(subject.begin(), subject.end(), '\n', ' ');
  return issued.serialHex + " " + std::to_string(issued.caVersion) + " " +
         std::to_string(toUnixSeconds(issued.notAfter)) + " " + subject;
}

std::optional<IssuedCertificate> parseLedgerLine(const std::string& line) {
  std::istringstream in(line);
  IssuedCertificate issued;
  std::int64_t notAfter = 0;
  if (!(in >> issued.serialHex >> issued.caVersion >> notAfter)) return std::nullopt;
  issued.notAfter = fromUnixSeconds(notAfter);
  std::getline(in >> std::ws, issued.subject);
  return issued;
}

std::string revocationLine(const Revocation& revocation) {
  return revocation.serialHex + " " + std::to_string(toUnixSeconds(revocation.revokedAt)) + " " +
         std::to_string(static_cast<int>(revocation.reason)) + " " +
         (revocation.invalidityDate ? std::to_string(toUnixSeconds(*revocation.invalidityDate)) : "-");
}

std::optional<Revocation> parseRevocationLine(const std::string& line) {
  std::istringstream in(line);
  Revocation revocation;
  std::int64_t revokedAt = 0;
  int reason = 0;
  std::string invalidity;
  if (!(in >> revocation.serialHex >> revokedAt >> reason >> invalidity)) return std::nullopt;
  revocation.revokedAt = fromUnixSeconds(revokedAt);
  revocation.reason = static_cast<pki::RevocationReason>(reason);
  if (invalidity != "-") {
    try {
      revocation.invalidityDate = fromUnixSeconds(std::stoll(invalidity));
    } catch (...) {
      return std::nullopt;
    }
  }
  return revocation;
}

Result<std::optional<SecretStateStore::Data>> SecretStateStore::read(const std::string& namespace_,
                                                                     const std::string& name) {
  auto secret = api_.get(secrets(namespace_, name));
  if (!secret.ok()) {
    if (secret.error.status == 404) return std::optional<Data>{};
    return apiError("reading", namespace_, name, secret.error);
  }
  Data data;
  const json fields = secret.value->value("data", json::object());  // items() must not outlive it
  for (const auto& [key, value] : fields.items()) {
    auto decoded = kube::decodeBase64(value.get<std::string>());
    if (!decoded) return makeError("Secret " + namespace_ + "/" + name + ": " + key + " is not base64");
    data[key] = std::move(*decoded);
  }
  return std::optional<Data>{std::move(data)};
}

Result<void> SecretStateStore::modify(const std::string& namespace_, const std::string& name, const std::string& state,
                                      const std::map<std::string, std::string>& labels,
                                      const std::function<void(Data&)>& change) {
  for (int attempt = 0; attempt < kConflictRetries; ++attempt) {
    auto current = api_.get(secrets(namespace_, name));
    bool missing = !current.ok() && current.error.status == 404;
    if (!current.ok() && !missing) return apiError("reading", namespace_, name, current.error);

    Data data;
    json object;
    if (missing) {
      json allLabels = stateLabels(state);
      for (const auto& [key, value] : labels) allLabels[key] = value;
      object = {{"apiVersion", "v1"},
                {"kind", "Secret"},
                {"type", "Opaque"},
                {"metadata", {{"name", name}, {"namespace", namespace_}, {"labels", allLabels}}}};
    } else {
      object = std::move(*current.value);
      const json fields = object.value("data", json::object());  // items() must not outlive it
      for (const auto& [key, value] : fields.items()) {
        auto decoded = kube::decodeBase64(value.get<std::string>());
        if (!decoded) return makeError("Secret " + namespace_ + "/" + name + ": " + key + " is not base64");
        data[key] = std::move(*decoded);
      }
    }
    change(data);
    json encoded = json::object();
    for (const auto& [key, value] : data) encoded[key] = kube::encodeBase64(value);
    object["data"] = encoded;

    auto written = missing ? api_.create(secrets(namespace_), object) : api_.update(secrets(namespace_, name), object);
    if (written.ok()) return {};
    if (written.error.status == 409) continue;  // another writer came first: read again
    return apiError(missing ? "creating" : "updating", namespace_, name, written.error);
  }
  return makeError("Secret " + namespace_ + "/" + name + ": still conflicting after " +
                   std::to_string(kConflictRetries) + " attempts; another writer keeps changing it");
}

Result<std::string> SecretStateStore::tenantUuid(const std::string& namespace_) {
  std::lock_guard lock(mutex_);
  if (auto known = tenants_.find(namespace_); known != tenants_.end()) return known->second;
  auto object = api_.get(namespaces(namespace_));
  if (!object.ok()) {
    if (object.error.status == 403)
      return makeError("reading Namespace " + namespace_ + " (its uid is the tenant UUID): forbidden; revoca's "
                       "ServiceAccount needs get on namespaces");
    return makeError("reading Namespace " + namespace_ + ": " + object.error.message);
  }
  std::string uid = (*object.value)["metadata"].value("uid", "");
  if (uid.empty()) return makeError("Namespace " + namespace_ + " has no uid");
  tenants_[namespace_] = uid;
  return uid;
}

Result<std::optional<CaRecord>> SecretStateStore::loadCa(const ObjectKey& ca) {
  std::lock_guard lock(mutex_);
  if (auto known = cas_.find(ca); known != cas_.end()) return known->second;
  auto data = read(ca.namespace_, caSecretName(ca));
  if (!data) return data.error();
  std::optional<CaRecord> record;
  if (*data && (*data)->count("versions.json")) {
    auto parsed = parseVersions((*data)->at("versions.json"), ca.namespace_ + "/" + caSecretName(ca));
    if (!parsed) return parsed.error();
    if (!parsed->versions.empty()) record = std::move(*parsed);
  }
  cas_[ca] = record;
  return record;
}

Result<void> SecretStateStore::saveCa(const ObjectKey& ca, const CaRecord& record) {
  std::lock_guard lock(mutex_);
  std::string versions = versionsJson(record).dump();
  auto saved = modify(ca.namespace_, caSecretName(ca), "ca", {{kCaLabel, ca.name}},
                      [&](Data& data) { data["versions.json"] = versions; });
  if (!saved) {
    cas_.erase(ca);
    return saved;
  }
  cas_[ca] = record;
  return {};
}

Result<std::uint64_t> SecretStateStore::nextCrlNumber(const ObjectKey& ca) {
  std::lock_guard lock(mutex_);
  std::uint64_t next = 0;
  auto saved = modify(ca.namespace_, caSecretName(ca), "ca", {{kCaLabel, ca.name}}, [&](Data& data) {
    std::uint64_t current = 0;
    if (auto it = data.find("crl-number"); it != data.end()) current = std::strtoull(it->second.c_str(), nullptr, 10);
    next = current + 1;
    data["crl-number"] = std::to_string(next);
  });
  if (!saved) return saved.error();
  return next;
}

Result<std::uint64_t> SecretStateStore::currentCrlNumber(const ObjectKey& ca) {
  std::lock_guard lock(mutex_);
  auto data = read(ca.namespace_, caSecretName(ca));
  if (!data) return data.error();
  if (!*data || !(*data)->count("crl-number")) return std::uint64_t{0};
  return std::strtoull((*data)->at("crl-number").c_str(), nullptr, 10);
}

Result<SecretStateStore::Chunks*> SecretStateStore::chunks(const std::string& state, const ObjectKey& ca) {
  auto key = std::pair{state, ca};
  if (auto known = chunks_.find(key); known != chunks_.end()) return &known->second;
  kube::ListOptions options;
  options.labelSelector = std::string(kManagedSelector) + "," + kStateLabel + "=" + state + "," + kCaLabel + "=" + ca.name;
  auto list = api_.list(secrets(ca.namespace_), options);
  if (!list.ok()) return apiError("listing", ca.namespace_, "revoca-" + state + "-" + ca.name + "-*", list.error);

  std::map<int, std::string> byChunk;
  std::string prefix = "revoca-" + state + "-" + ca.name + "-";
  for (const auto& item : list.value->value("items", json::array())) {
    std::string name = item["metadata"].value("name", "");
    if (name.rfind(prefix, 0) != 0) continue;
    int chunk = std::atoi(name.c_str() + prefix.size());
    auto entries = item.value("data", json::object()).value("entries", std::string());
    auto decoded = kube::decodeBase64(entries);
    if (!decoded) return makeError("Secret " + ca.namespace_ + "/" + name + ": entries is not base64");
    byChunk[chunk] = std::move(*decoded);
  }
  Chunks loaded;
  for (const auto& [chunk, text] : byChunk) {
    for (auto& line : splitLines(text)) loaded.lines.push_back(std::move(line));
    loaded.lastChunk = chunk;
  }
  return &(chunks_[key] = std::move(loaded));
}

Result<void> SecretStateStore::appendLine(const std::string& state, const ObjectKey& ca, const std::string& line) {
  auto known = chunks(state, ca);
  if (!known) return known.error();
  Chunks& cache = **known;
  // A chunk another writer filled meanwhile sends the line to the next one.
  for (int hops = 0; hops < 1000; ++hops) {
    std::string name = chunkName(state, ca, cache.lastChunk);
    bool full = false;
    auto written = modify(ca.namespace_, name, state, {{kCaLabel, ca.name}}, [&](Data& data) {
      std::string& entries = data["entries"];
      full = static_cast<std::size_t>(std::count(entries.begin(), entries.end(), '\n')) >= chunkSize_;
      if (!full) entries += line + "\n";
    });
    if (!written) return written;
    if (!full) {
      cache.lines.push_back(line);
      return {};
    }
    ++cache.lastChunk;
  }
  return makeError("CertificateAuthority " + ca.str() + ": no room found in its " + state + " Secrets");
}

Result<std::vector<IssuedCertificate>> SecretStateStore::loadLedger(const ObjectKey& ca) {
  std::lock_guard lock(mutex_);
  auto known = chunks("ledger", ca);
  if (!known) return known.error();
  std::vector<IssuedCertificate> ledger;
  ledger.reserve((*known)->lines.size());
  for (const auto& line : (*known)->lines)
    if (auto issued = parseLedgerLine(line)) ledger.push_back(std::move(*issued));
  return ledger;
}

Result<void> SecretStateStore::appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) {
  std::lock_guard lock(mutex_);
  return appendLine("ledger", ca, ledgerLine(issued));
}

Result<std::vector<Revocation>> SecretStateStore::loadRevocations(const ObjectKey& ca) {
  std::lock_guard lock(mutex_);
  auto known = chunks("revocations", ca);
  if (!known) return known.error();
  std::vector<Revocation> revocations;
  for (const auto& line : (*known)->lines)
    if (auto revocation = parseRevocationLine(line)) revocations.push_back(std::move(*revocation));
  return revocations;
}

Result<void> SecretStateStore::appendRevocation(const ObjectKey& ca, const Revocation& revocation) {
  std::lock_guard lock(mutex_);
  return appendLine("revocations", ca, revocationLine(revocation));
}

Result<std::optional<SecretRecord>> SecretStateStore::loadSecret(const ObjectKey& vaultSecret) {
  std::lock_guard lock(mutex_);
  if (auto known = secrets_.find(vaultSecret); known != secrets_.end()) return known->second;
  std::string name = vaultSecretStateName(vaultSecret);
  auto data = read(vaultSecret.namespace_, name);
  if (!data) return data.error();
  std::optional<SecretRecord> record;
  if (*data && (*data)->count("record.json")) {
    json fields = json::parse((*data)->at("record.json"), nullptr, false);
    if (!fields.is_object())
      return makeError("Secret " + vaultSecret.namespace_ + "/" + name + ": record.json is not JSON; delete the "
                       "Secret and revoca issues a new certificate");
    SecretRecord loaded;
    loaded.certPem = (*data)->count("cert.pem") ? (*data)->at("cert.pem") : "";
    loaded.keyPem = (*data)->count("cert.key") ? (*data)->at("cert.key") : "";
    loaded.serialHex = fields.value("serialHex", "");
    loaded.issuingCa = fields.value("issuingCa", "");
    loaded.caVersion = fields.value("caVersion", 1);
    loaded.notBefore = fromUnixSeconds(fields.value("notBefore", std::int64_t{0}));
    loaded.notAfter = fromUnixSeconds(fields.value("notAfter", std::int64_t{0}));
    loaded.specGeneration = fields.value("specGeneration", std::int64_t{0});
    if (!loaded.certPem.empty() && !loaded.keyPem.empty()) record = std::move(loaded);
  }
  secrets_[vaultSecret] = record;
  return record;
}

Result<void> SecretStateStore::saveSecret(const ObjectKey& vaultSecret, const SecretRecord& record) {
  std::lock_guard lock(mutex_);
  json fields = {{"serialHex", record.serialHex},
                 {"issuingCa", record.issuingCa},
                 {"caVersion", record.caVersion},
                 {"notBefore", toUnixSeconds(record.notBefore)},
                 {"notAfter", toUnixSeconds(record.notAfter)},
                 {"specGeneration", record.specGeneration}};
  auto saved = modify(vaultSecret.namespace_, vaultSecretStateName(vaultSecret), "vaultsecret",
                      {{kVaultSecretLabel, vaultSecret.name}}, [&](Data& data) {
                        data["cert.pem"] = record.certPem;
                        data["cert.key"] = record.keyPem;
                        data["record.json"] = fields.dump();
                      });
  if (!saved) {
    secrets_.erase(vaultSecret);
    return saved;
  }
  secrets_[vaultSecret] = record;
  return {};
}

void SecretStateStore::forget() {
  std::lock_guard lock(mutex_);
  cas_.clear();
  chunks_.clear();
  secrets_.clear();
}

}  // namespace revoca::kubernetes
