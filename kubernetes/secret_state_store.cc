#include "kubernetes/secret_state_store.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <random>
#include <thread>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "core/text.h"
#include "kube/config_files.h"
#include "kubernetes/api_failure.h"
#include "kubernetes/crl_stamps.h"
#include "kubernetes/names.h"
#include "pki/certificate.h"
#include "pki/digest.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

// Two writers (the leader and revocactl) rarely collide twice in a row;
// ten rounds leave room for a burst without spinning forever.
constexpr int kConflictRetries = 20;

// After a 409, a random pause that grows with the conflicts, so two writers
// appending to one chunk in tight loops stop colliding (client-go's
// RetryOnConflict backs off too).
void pauseAfterConflict(int conflicts) {
  thread_local std::mt19937 random{std::random_device{}()};
  int ceiling = std::min(500, 10 << std::min(conflicts, 6));
  std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, ceiling)(random)));
}

constexpr char kLedger[] = "ledger";
constexpr char kRevocations[] = "revocations";

std::string caSecretName(const ObjectKey& ca) { return "revoca-ca-" + ca.name; }
std::string chunkPrefix(const std::string& state, const ObjectKey& ca) { return "revoca-" + state + "-" + ca.name + "-"; }
std::string chunkName(const std::string& state, const ObjectKey& ca, int chunk) {
  return chunkPrefix(state, ca) + std::to_string(chunk);
}
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

std::map<std::string, std::string> labelsOf(const std::string& state, const char* label, const std::string& value) {
  return {{kManagedByLabel, kManagedByValue}, {kStateLabel, state}, {label, value}};
}

// A failed request about a state Secret; a 403 asks for all the store needs.
Error apiError(const std::string& verb, const std::string& namespace_, const std::string& name,
               const kube::ApiError& error) {
  return apiFailure(verb, {"Secret " + namespace_ + "/" + name, "secrets", namespace_, "get, list, create and update"},
                    error);
}

template <typename Number>
bool parseNumber(std::string_view text, Number& out) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// A Secret from the API: its data decoded, and the rest without the data
// and managedFields (nobody reads them here, and they would double what is
// cached). Error: a value that is not base64, named by its key.
Result<std::pair<json, std::map<std::string, std::string>>> splitSecret(json object, const std::string& namespace_,
                                                                      const std::string& name) {
  std::map<std::string, std::string> data;
  if (auto found = object.find("data"); found != object.end() && found->is_object()) {
    for (const auto& [key, value] : found->items()) {
      if (!value.is_string()) return makeError("Secret " + namespace_ + "/" + name + ": data." + key + " is not a string");
      auto decoded = kube::decodeBase64(value.get<std::string>());
      if (!decoded) return makeError("Secret " + namespace_ + "/" + name + ": data." + key + " is not base64");
      data[key] = std::move(*decoded);
    }
    object.erase("data");
  }
  if (object.contains("metadata") && object["metadata"].is_object()) object["metadata"].erase("managedFields");
  return std::pair{std::move(object), std::move(data)};
}

json versionsJson(const CaRecord& record) {
  json versions = json::array();
  for (const auto& version : record.versions) {
    json entry = {{"version", version.version},
                  {"certPem", version.certPem},
                  {"keyPem", version.keyPem},
                  {"notBefore", toUnixSeconds(version.notBefore)},
                  {"notAfter", toUnixSeconds(version.notAfter)}};
    if (version.crlDistUrls) entry["crlDistUrls"] = *version.crlDistUrls;
    versions.push_back(std::move(entry));
  }
  return versions;
}

// One entry of versions.json, every field of exactly its type (json's get
// would turn 2.5 into 2). Never json's own message: it may quote the
// value, and a key must not end up in a log.
Result<CaVersionRecord> parseVersion(const json& entry, std::size_t index, const std::string& secret) {
  std::string where = "Secret " + secret + ": entry " + std::to_string(index + 1) + " of versions.json";
  const char* fix = "; restore the Secret from a backup";
  auto integer = [&](const char* field) -> std::optional<std::int64_t> {
    auto value = entry.find(field);
    if (value == entry.end() || !value->is_number_integer() ||
        (value->is_number_unsigned() &&
         value->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())))
      return std::nullopt;
    return value->get<std::int64_t>();
  };
  if (!entry.is_object()) return makeError(where + " is not an object" + fix);
  for (const char* field : {"certPem", "keyPem"})
    if (!entry.contains(field) || !entry[field].is_string())
      return makeError(where + ": \"" + field + "\" is missing or not a string" + fix);
  auto version = integer("version");
  auto notBefore = integer("notBefore");
  auto notAfter = integer("notAfter");
  if (!version || *version < 1 || *version > std::numeric_limits<int>::max())
    return makeError(where + ": \"version\" is missing or not a version number (1 up)" + fix);
  if (!notBefore || !notAfter)
    return makeError(where + ": \"notBefore\" or \"notAfter\" is missing or not a whole number" + fix);
  // Absent in a version saved before they were kept.
  std::optional<std::vector<std::string>> crlDistUrls;
  if (auto urls = entry.find("crlDistUrls"); urls != entry.end()) {
    bool strings = urls->is_array() && std::all_of(urls->begin(), urls->end(), [](const json& url) {
                     return url.is_string() && !url.get<std::string>().empty();
                   });
    if (!strings) return makeError(where + ": \"crlDistUrls\" is not an array of URLs" + fix);
    crlDistUrls = urls->get<std::vector<std::string>>();
  }
  CaVersionRecord record{static_cast<int>(*version),      entry["certPem"].get<std::string>(),
                         entry["keyPem"].get<std::string>(), fromUnixSeconds(*notBefore),
                         fromUnixSeconds(*notAfter),        std::move(crlDistUrls)};
  return record;
}

Result<CaRecord> parseVersions(const std::string& text, const std::string& secret) {
  json versions = json::parse(text, nullptr, false);
  if (!versions.is_array())
    return makeError("Secret " + secret + ": versions.json is not a JSON array; restore the Secret from a backup");
  CaRecord record;
  for (std::size_t index = 0; index < versions.size(); ++index) {
    auto version = parseVersion(versions[index], index, secret);
    if (!version) return version.error();
    record.versions.push_back(std::move(*version));
  }
  std::sort(record.versions.begin(), record.versions.end(),
            [](const auto& a, const auto& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < record.versions.size(); ++i)
    if (record.versions[i].version == record.versions[i - 1].version)
      return makeError("Secret " + secret + ": versions.json holds version " +
                       std::to_string(record.versions[i].version) + " twice; restore the Secret from a backup");
  return record;
}

Result<std::uint64_t> crlNumberOf(const std::map<std::string, std::string>& data, const std::string& secret) {
  auto found = data.find("crl-number");
  if (found == data.end()) return std::uint64_t{0};
  std::string text = kube::trimSpace(found->second);
  std::uint64_t number = 0;
  if (!parseNumber(text, number))
    return makeError("Secret " + secret + ": crl-number is not a decimal number; set it to the number of the "
                     "CA's last CRL (openssl crl -noout -crlnumber)");
  return number;
}

template <typename Entry>
std::optional<Entry> parseLine(const std::string& line);
template <>
std::optional<IssuedCertificate> parseLine(const std::string& line) {
  return parseLedgerLine(line);
}
template <>
std::optional<Revocation> parseLine(const std::string& line) {
  return parseRevocationLine(line);
}
std::string lineOf(const IssuedCertificate& issued) { return ledgerLine(issued); }
std::string lineOf(const Revocation& revocation) { return revocationLine(revocation); }

}  // namespace

std::string ledgerLine(const IssuedCertificate& issued) {
  std::string subject = issued.subject;
  std::replace_if(subject.begin(), subject.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return issued.serialHex + " " + std::to_string(issued.caVersion) + " " +
         std::to_string(toUnixSeconds(issued.notAfter)) + " " + subject;
}

std::optional<IssuedCertificate> parseLedgerLine(const std::string& line) {
  std::string_view rest = line;
  IssuedCertificate issued;
  std::string_view serial = nextField(rest);
  std::int64_t notAfter = 0;
  // Exactly as ledgerLine writes it: a serial in canonical form, numbers as
  // std::to_string writes them. Only the subject, last, is free text.
  if (!pki::isNormalizedSerialHex(serial) || !parseExactNumber(nextField(rest), issued.caVersion) ||
      issued.caVersion < 1 || !parseExactNumber(nextField(rest), notAfter))
    return std::nullopt;
  issued.serialHex = std::string(serial);
  issued.notAfter = fromUnixSeconds(notAfter);
  issued.subject = std::string(rest);  // the rest of the line, spaces and all
  return issued;
}

std::string revocationLine(const Revocation& revocation) {
  return revocation.serialHex + " " + std::to_string(toUnixSeconds(revocation.revokedAt)) + " " +
         std::to_string(static_cast<int>(revocation.reason)) + " " +
         (revocation.invalidityDate ? std::to_string(toUnixSeconds(*revocation.invalidityDate)) : "-");
}

std::optional<Revocation> parseRevocationLine(const std::string& line) {
  std::string_view rest = line;
  Revocation revocation;
  std::string_view serial = nextField(rest);
  std::int64_t revokedAt = 0;
  int reason = 0;
  if (!pki::isNormalizedSerialHex(serial) || !parseExactNumber(nextField(rest), revokedAt) ||
      !parseExactNumber(nextField(rest), reason))
    return std::nullopt;
  // 7 is unassigned in RFC 5280; anything else outside 0..10 is not a reason.
  if (reason < 0 || reason > 10 || reason == 7) return std::nullopt;
  revocation.serialHex = std::string(serial);
  revocation.revokedAt = fromUnixSeconds(revokedAt);
  revocation.reason = static_cast<pki::RevocationReason>(reason);
  std::string_view invalidity = nextField(rest);
  if (!rest.empty()) return std::nullopt;
  if (invalidity != "-") {
    std::int64_t seconds = 0;
    if (!parseExactNumber(invalidity, seconds)) return std::nullopt;
    revocation.invalidityDate = fromUnixSeconds(seconds);
  }
  return revocation;
}

SecretStateStore::SecretStateStore(kube::ApiClient& api, std::size_t chunkSize)
    : api_(api), chunkSize_(std::max<std::size_t>(chunkSize, 1)) {}

std::string SecretStateStore::Stored::resourceVersion() const {
  if (!object.is_object() || !object.contains("metadata")) return "";
  return object["metadata"].value("resourceVersion", "");
}

Result<std::optional<SecretStateStore::Stored>> SecretStateStore::read(const std::string& namespace_,
                                                                       const std::string& name) {
  auto secret = api_.get(secrets(namespace_, name));
  if (!secret.ok()) {
    if (secret.error.status == 404) return std::optional<Stored>();
    return apiError("get", namespace_, name, secret.error);
  }
  auto split = splitSecret(std::move(*secret.value), namespace_, name);
  if (!split) return split.error();
  return std::optional<Stored>(Stored{std::move(split->first), std::move(split->second)});
}

kube::ApiResult<SecretStateStore::Stored> SecretStateStore::write(const std::string& namespace_,
                                                                  const std::string& name, const Labels& labels,
                                                                  const Stored* base, Data data) {
  bool creating = !base || base->resourceVersion().empty();
  json object = creating ? json{{"apiVersion", "v1"},
                                {"kind", "Secret"},
                                {"type", "Opaque"},
                                {"metadata", {{"name", name}, {"namespace", namespace_}}}}
                         : base->object;
  // Also puts back labels someone removed: listing by label must find every chunk.
  for (const auto& [key, value] : labels) object["metadata"]["labels"][key] = value;
  json encoded = json::object();
  for (const auto& [key, value] : data) encoded[key] = kube::encodeBase64(value);
  object["data"] = std::move(encoded);

  auto written = creating ? api_.create(secrets(namespace_), object) : api_.update(secrets(namespace_, name), object);
  if (!written.ok()) return {std::nullopt, written.error};
  // The answer echoes the data just sent: decoding it again would cost as
  // much as the write (a ledger chunk is up to ~22 KiB of base64).
  written.value->erase("data");
  auto split = splitSecret(std::move(*written.value), namespace_, name);
  json rest = split ? std::move(split->first) : json::object();
  if (!split) {
    // The write took; only its echo is odd. Keep what was sent, minus the data.
    rest = std::move(object);
    rest.erase("data");
  }
  return {Stored{std::move(rest), std::move(data)}, {}};
}

Result<void> SecretStateStore::modify(const std::string& namespace_, const std::string& name, const Labels& labels,
                                      std::optional<Stored>& known, const std::function<Result<void>(Data&)>& change) {
  for (int attempt = 0; attempt <= kConflictRetries; ++attempt) {
    if (!known) {
      auto current = read(namespace_, name);
      if (!current) return current.error();
      known = current->value_or(Stored{});  // no resourceVersion: absent, to be created
    }
    Data data = known->data;
    if (auto changed = change(data); !changed) return changed;
    bool creating = known->resourceVersion().empty();
    auto written = write(namespace_, name, labels, creating ? nullptr : &*known, std::move(data));
    if (written.ok()) {
      known = std::move(*written.value);
      return {};
    }
    known.reset();  // whatever happened, what was known is stale now
    // 409: another writer came first (or created it first); 404 on update: deleted meanwhile.
    if (written.error.status == 409 || (!creating && written.error.status == 404)) {
      spdlog::debug("Secret {}/{}: {} on {}, reading it again (attempt {})", namespace_, name, written.error.status,
                    creating ? "create" : "update", attempt + 1);
      pauseAfterConflict(attempt);
      continue;
    }
    return apiError(creating ? "create" : "update", namespace_, name, written.error);
  }
  return makeError("cannot update Secret " + namespace_ + "/" + name + ": still conflicting after " +
                   std::to_string(kConflictRetries + 1) + " attempts; another writer keeps changing it");
}

Result<std::string> SecretStateStore::tenantUuid(const std::string& namespace_) {
  std::lock_guard lock(mutex_);
  if (auto known = tenants_.find(namespace_); known != tenants_.end()) return known->second;
  auto object = api_.get(namespaces(namespace_));
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
  auto secret = read(ca.namespace_, caSecretName(ca));
  if (!secret) return secret.error();
  std::optional<CaRecord> record;
  if (*secret) {
    if (auto versions = (*secret)->data.find("versions.json"); versions != (*secret)->data.end()) {
      auto parsed = parseVersions(versions->second, ca.namespace_ + "/" + caSecretName(ca));
      if (!parsed) return parsed.error();
      if (!parsed->versions.empty()) record = std::move(*parsed);
    }
  }
  caSecrets_[ca] = *secret ? std::move(**secret) : Stored{};  // for the next write
  cas_[ca] = record;
  return record;
}

Result<void> SecretStateStore::saveCa(const ObjectKey& ca, const CaRecord& given) {
  std::lock_guard lock(mutex_);
  // Ascending, as loadCa returns it: current() is the last one either way.
  CaRecord record = given;
  std::stable_sort(record.versions.begin(), record.versions.end(),
                   [](const auto& a, const auto& b) { return a.version < b.version; });
  std::string versions = versionsJson(record).dump();
  auto saved = modify(ca.namespace_, caSecretName(ca), labelsOf("ca", kCaLabel, ca.name), caSecrets_[ca],
                      [&](Data& data) -> Result<void> {
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
  auto saved = modify(ca.namespace_, name, labelsOf("ca", kCaLabel, ca.name), caSecrets_[ca],
                      [&](Data& data) -> Result<void> {
                        auto last = crlNumberOf(data, secret);
                        if (!last) return last.error();
                        auto stamps = parseCrlStamps(data["crl-stamps"], secret);
                        if (!stamps) return stamps.error();
                        for (const auto& [_, recorded] : *stamps) *last = std::max(*last, recorded.number);
                        if (*last == std::numeric_limits<std::uint64_t>::max())
                          return makeError("Secret " + secret + ": the CRL numbers are used up (2^64 - 1 reached)");
                        stamp.number = crlNumberAfter(*last, draft.thisUpdate);
                        // Whole seconds, as a CRL encodes them and as the stamp keeps them:
                        // what a replica signing under it signs too.
                        stamp.thisUpdate = std::chrono::floor<Seconds>(draft.thisUpdate);
                        stamp.nextUpdate = std::chrono::floor<Seconds>(draft.nextUpdate);
                        (*stamps)[version] = stamp;
                        data["crl-number"] = std::to_string(stamp.number);
                        data["crl-stamps"] = formatCrlStamps(*stamps);
                        if (!data.count("versions.json")) data["versions.json"] = "[]";
                        return {};
                      });
  if (!saved) return saved.error();
  return std::optional(stamp);
}

Result<std::optional<CrlStamp>> SecretStateStore::recordedCrlStamp(const ObjectKey& ca, int version) {
  std::lock_guard lock(mutex_);
  std::string secret = ca.namespace_ + "/" + caSecretName(ca);
  auto stored = read(ca.namespace_, caSecretName(ca));
  if (!stored) return stored.error();
  if (!*stored) return std::optional<CrlStamp>();
  auto text = (*stored)->data.find("crl-stamps");
  if (text == (*stored)->data.end()) return std::optional<CrlStamp>();
  auto stamps = parseCrlStamps(text->second, secret);
  if (!stamps) return stamps.error();
  auto found = stamps->find(version);
  return found == stamps->end() ? std::nullopt : std::optional(found->second);
}

namespace {

// A chunk's lines, parsed. A line that is not as revoca writes it is an
// error naming the Secret and the line: skipping it would drop a revoked
// serial from the CRL (OCSP "good") or an issued one from the ledger.
template <typename Entry>
Result<void> parseChunk(const std::string& text, std::size_t& lines, std::vector<Entry>& entries,
                        const std::string& secret) {
  lines = 0;
  entries.clear();
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++lines;
    auto entry = parseLine<Entry>(text.substr(start, end - start));
    if (!entry)
      return makeError("line " + std::to_string(lines) + " of data.entries in Secret " + secret + " is not a " +
                       (std::is_same_v<Entry, Revocation> ? "revocation (\"SERIAL REVOKEDAT REASONCODE INVALIDITY|-\")"
                                                          : "ledger line (\"SERIAL CAVERSION NOTAFTER SUBJECT\")") +
                       " as revoca writes it; fix the line, or restore the Secret from a backup");
    entries.push_back(std::move(*entry));
    start = end + 1;
  }
  return {};
}

}  // namespace

template <typename Entry>
Result<SecretStateStore::Chunks<Entry>*> SecretStateStore::loadChunks(std::map<ObjectKey, Chunks<Entry>>& cache,
                                                                      const std::string& state, const ObjectKey& ca) {
  if (auto known = cache.find(ca); known != cache.end()) return &known->second;
  kube::ListOptions options;
  options.labelSelector =
      std::string(kManagedSelector) + "," + kStateLabel + "=" + state + "," + kCaLabel + "=" + ca.name;
  std::string prefix = chunkPrefix(state, ca);
  auto list = api_.list(secrets(ca.namespace_), options);
  if (!list.ok()) return apiError("list", ca.namespace_, prefix + "*", list.error);

  Chunks<Entry> loaded;
  auto items = list.value->find("items");
  if (items != list.value->end() && items->is_array()) {
    for (auto& item : *items) {
      std::string name = item.contains("metadata") ? item["metadata"].value("name", "") : "";
      int number = 0;
      // Labels someone copied onto another Secret do not make it a chunk.
      if (name.rfind(prefix, 0) != 0 || !parseNumber(std::string_view(name).substr(prefix.size()), number) ||
          number < 0)
        continue;
      auto split = splitSecret(std::move(item), ca.namespace_, name);
      if (!split) return split.error();
      Chunk<Entry>& chunk = loaded[number];
      chunk.secret = Stored{std::move(split->first), std::move(split->second)};
      if (auto parsed = parseChunk(chunk.secret.data["entries"], chunk.lines, chunk.entries, ca.namespace_ + "/" + name);
          !parsed)
        return parsed.error();
    }
  }
  return &(cache[ca] = std::move(loaded));
}

template <typename Entry>
Result<void> SecretStateStore::append(std::map<ObjectKey, Chunks<Entry>>& cache, const std::string& state,
                                      const ObjectKey& ca, const std::vector<Entry>& entries) {
  auto loaded = loadChunks(cache, state, ca);
  if (!loaded) return loaded.error();
  Chunks<Entry>& chunks = **loaded;
  Labels labels = labelsOf(state, kCaLabel, ca.name);
  int number = chunks.empty() ? 0 : chunks.rbegin()->first;
  int conflicts = 0;
  std::size_t done = 0;
  // Each hop passes a full chunk; conflicts re-read the one written to.
  while (done < entries.size() && conflicts <= kConflictRetries) {
    auto found = chunks.find(number);
    Chunk<Entry>* chunk = found == chunks.end() ? nullptr : &found->second;
    // As many of the entries left as this chunk takes (at least one, in an empty chunk).
    std::string lines;
    std::size_t taken = 0, used = chunk ? chunk->lines : 0,
                bytes = chunk ? chunk->secret.data["entries"].size() : 0;
    while (done + taken < entries.size()) {
      std::string line = lineOf(entries[done + taken]) + "\n";
      if (used + taken > 0 && (used + taken >= chunkSize_ || bytes + lines.size() + line.size() > kMaxChunkBytes))
        break;
      lines += line;
      ++taken;
    }
    if (taken == 0) {
      ++number;
      continue;
    }
    std::string name = chunkName(state, ca, number);
    Data data = chunk ? chunk->secret.data : Data{};
    data["entries"] += lines;
    auto written = write(ca.namespace_, name, labels, chunk ? &chunk->secret : nullptr, std::move(data));
    if (written.ok()) {
      Chunk<Entry>& stored = chunks[number];
      stored.secret = std::move(*written.value);
      stored.lines += taken;
      stored.entries.insert(stored.entries.end(), entries.begin() + done, entries.begin() + done + taken);
      done += taken;
      continue;
    }
    // 409: another writer appended first, or created this chunk first;
    // 404 on update: it was deleted. Re-read it, others' lines and all.
    // No answer, or a server error: the write may have taken all the same
    // (the connection died after the request went out); the chunk says.
    const int status = written.error.status;
    const bool unknown = status == 0 || status >= 500;
    if (status != 409 && !(chunk && status == 404) && !unknown)
      return apiError(chunk ? "update" : "create", ca.namespace_, name, written.error);
    spdlog::debug("Secret {}/{}: {} on {}, reading it again (attempt {})", ca.namespace_, name,
                  unknown ? "no answer" : std::to_string(status), chunk ? "update" : "create", conflicts + 1);
    pauseAfterConflict(conflicts++);
    auto current = read(ca.namespace_, name);
    if (!current) return unknown ? apiError(chunk ? "update" : "create", ca.namespace_, name, written.error)
                                 : current.error();
    if (!*current) {
      chunks.erase(number);
      continue;
    }
    Chunk<Entry>& fresh = chunks[number];
    fresh.secret = std::move(**current);
    if (auto parsed = parseChunk(fresh.secret.data["entries"], fresh.lines, fresh.entries, ca.namespace_ + "/" + name);
        !parsed) {
      cache.erase(ca);  // `chunks` with it: the next load reads them all again
      return parsed.error();
    }
    // The lost answer was a success: appending the lines again would list
    // these serials twice. (Serials are random: no one else wrote these lines.)
    if (fresh.secret.data["entries"].find(lines) != std::string::npos) {
      spdlog::debug("Secret {}/{}: the write without an answer took", ca.namespace_, name);
      done += taken;
    }
  }
  if (done == entries.size()) return {};
  return makeError("cannot append to " + state + " of CertificateAuthority " + ca.str() + " (Secret " +
                   ca.namespace_ + "/" + chunkName(state, ca, number) + "): still conflicting after " +
                   std::to_string(kConflictRetries + 1) + " attempts; another writer keeps changing it");
}

Result<std::vector<IssuedCertificate>> SecretStateStore::loadLedger(const ObjectKey& ca) {
  std::lock_guard lock(mutex_);
  auto loaded = loadChunks(ledgers_, kLedger, ca);
  if (!loaded) return loaded.error();
  std::vector<IssuedCertificate> ledger;
  std::size_t total = 0;
  for (const auto& [number, chunk] : **loaded) total += chunk.entries.size();
  ledger.reserve(total);
  for (const auto& [number, chunk] : **loaded) ledger.insert(ledger.end(), chunk.entries.begin(), chunk.entries.end());
  return ledger;
}

// A group commit: appends that arrive while one is being written (the
// engine reconciles VaultSecrets several at a time) wait, and the first of
// them writes all their lines at once. Each returns only once its line is
// in the ledger, as before.
Result<void> SecretStateStore::appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) {
  // Never write what the reader refuses: the CA would stop at its next load.
  if (!pki::isNormalizedSerialHex(issued.serialHex) || issued.caVersion < 1)
    return makeError("CertificateAuthority " + ca.str() + ": refusing to record a serial that is not canonical "
                     "(or of version " + std::to_string(issued.caVersion) + ") in the ledger");
  std::unique_lock lock(appendMutex_);
  std::shared_ptr<PendingAppends>& open = openAppends_[ca];
  if (!open) open = std::make_shared<PendingAppends>();
  std::shared_ptr<PendingAppends> batch = open;
  batch->entries.push_back(issued);
  appended_.wait(lock, [&] { return batch->done || !writingLedger_.count(ca); });
  if (batch->done) return batch->result;
  // This caller writes the batch and closes it: later appends open the next.
  openAppends_.erase(ca);
  writingLedger_.insert(ca);
  lock.unlock();
  Result<void> result;
  {
    std::lock_guard state(mutex_);
    result = append(ledgers_, kLedger, ca, batch->entries);
  }
  lock.lock();
  writingLedger_.erase(ca);
  batch->done = true;
  batch->result = result;
  appended_.notify_all();
  return result;
}

Result<std::vector<Revocation>> SecretStateStore::loadRevocations(const ObjectKey& ca) {
  std::lock_guard lock(mutex_);
  auto loaded = loadChunks(revocations_, kRevocations, ca);
  if (!loaded) return loaded.error();
  std::vector<Revocation> revocations;
  for (const auto& [number, chunk] : **loaded)
    revocations.insert(revocations.end(), chunk.entries.begin(), chunk.entries.end());
  return revocations;
}

Result<void> SecretStateStore::appendRevocation(const ObjectKey& ca, const Revocation& revocation) {
  if (!pki::isNormalizedSerialHex(revocation.serialHex))
    return makeError("CertificateAuthority " + ca.str() + ": refusing to record the revocation of a serial that is "
                     "not canonical");
  std::lock_guard lock(mutex_);
  return append(revocations_, kRevocations, ca, std::vector<Revocation>{revocation});
}

Result<std::optional<SecretRecord>> SecretStateStore::parseSecretRecord(const ObjectKey& vaultSecret,
                                                                         const Data& data) {
  std::string name = vaultSecretStateName(vaultSecret);
  auto cert = data.find("cert.pem");
  auto key = data.find("cert.key");
  auto fields = data.find("record.json");
  // Anything missing: the certificate is issued again, as for a new VaultSecret.
  if (cert == data.end() || key == data.end() || fields == data.end() || cert->second.empty() || key->second.empty())
    return std::optional<SecretRecord>();
  json parsed = json::parse(fields->second, nullptr, false);
  if (!parsed.is_object())
    return makeError("Secret " + vaultSecret.namespace_ + "/" + name +
                     ": record.json is not a JSON object; delete the Secret and revoca issues a new certificate");
  SecretRecord loaded;
  loaded.certPem = cert->second;
  loaded.keyPem = key->second;
  // Every field of exactly its type (json::value throws on another type, and
  // a missing one read as a default is a guess): the error names the field.
  std::string where = "Secret " + vaultSecret.namespace_ + "/" + name + ": record.json field \"";
  const char* fix = "; delete the Secret and revoca issues a new certificate";
  for (auto [field, into] : {std::pair{"serialHex", &loaded.serialHex}, std::pair{"issuingCa", &loaded.issuingCa}}) {
    auto value = parsed.find(field);
    if (value == parsed.end() || !value->is_string())
      return makeError(where + field + "\" is " + (value == parsed.end() ? "missing" : "not a string") + fix);
    *into = value->get<std::string>();
  }
  std::int64_t numbers[4] = {};
  const char* numberFields[4] = {"caVersion", "notBefore", "notAfter", "specGeneration"};
  for (int i = 0; i < 4; ++i) {
    auto value = parsed.find(numberFields[i]);
    bool fits = value != parsed.end() && value->is_number_integer() &&
                !(value->is_number_unsigned() &&
                  value->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    if (!fits)
      return makeError(where + numberFields[i] + "\" is " +
                       (value == parsed.end() ? "missing" : "not a whole number (64 bits)") + fix);
    numbers[i] = value->get<std::int64_t>();
  }
  if (numbers[0] < 1 || numbers[0] > std::numeric_limits<int>::max())
    return makeError(where + "caVersion\" is not a CA version (1 up)" + fix);
  loaded.caVersion = static_cast<int>(numbers[0]);
  loaded.notBefore = fromUnixSeconds(numbers[1]);
  loaded.notAfter = fromUnixSeconds(numbers[2]);
  loaded.specGeneration = numbers[3];
  return std::optional<SecretRecord>(std::move(loaded));
}

Result<void> SecretStateStore::listSecretRecords(const std::string& namespace_) {
  kube::ListOptions options;
  options.labelSelector = std::string(kManagedSelector) + "," + kStateLabel + "=vaultsecret";
  options.limit = kSecretListPage;
  std::map<ObjectKey, std::optional<SecretRecord>> found;
  std::optional<Error> broken;
  // Each item is taken as its page arrives and left empty: the whole list
  // never sits in memory as JSON.
  options.transform = [&](json& item) {
    std::string name = item.contains("metadata") ? item["metadata"].value("name", "") : "";
    std::string owner = item.contains("metadata") && item["metadata"].contains("labels")
                            ? item["metadata"]["labels"].value(kVaultSecretLabel, "")
                            : "";
    ObjectKey key{namespace_, owner};
    // A copied label does not make a record: the name must match too.
    if (!owner.empty() && name == vaultSecretStateName(key) && !broken) {
      auto split = splitSecret(std::move(item), namespace_, name);
      auto record = split ? parseSecretRecord(key, split->second) : Result<std::optional<SecretRecord>>(split.error());
      if (record)
        found[key] = withoutPems(std::move(*record));
      else
        broken = record.error();
    }
    item = nullptr;
  };
  auto list = api_.list(secrets(namespace_), options);
  if (!list.ok()) return apiError("list", namespace_, "revoca-vs-*", list.error);
  if (broken) return *broken;
  // Node by node, not copies: at 10,000 records a second map is 2 MB.
  secrets_.merge(found);
  listedNamespaces_.insert(namespace_);
  return {};
}

Result<std::optional<SecretRecord>> SecretStateStore::loadSecret(const ObjectKey& vaultSecret) {
  std::unique_lock lock(mutex_);
  if (auto unsaved = unsaved_.find(vaultSecret); unsaved != unsaved_.end()) {
    SecretRecord record = unsaved->second;
    lock.unlock();
    return saveUnsaved(vaultSecret, record);
  }
  if (auto known = secrets_.find(vaultSecret); known != secrets_.end()) return known->second;
  if (listAttempted_.insert(vaultSecret.namespace_).second) {
    // One broken record must not stop the others: then each is read alone.
    if (auto listed = listSecretRecords(vaultSecret.namespace_); !listed)
      spdlog::debug("listing VaultSecret records in {}: {}", vaultSecret.namespace_, listed.error().message);
    if (auto known = secrets_.find(vaultSecret); known != secrets_.end()) return known->second;
  }
  if (listedNamespaces_.count(vaultSecret.namespace_)) {
    absent_.insert(vaultSecret);
    secrets_[vaultSecret] = std::nullopt;
    return std::optional<SecretRecord>();
  }
  bool exists = false;
  auto record = readSecretRecord(vaultSecret, exists);
  if (!record) return record;
  if (!exists) absent_.insert(vaultSecret);
  secrets_[vaultSecret] = withoutPems(*record);
  return record;
}

Result<std::optional<SecretRecord>> SecretStateStore::loadSecretWithPems(const ObjectKey& vaultSecret) {
  auto loaded = loadSecret(vaultSecret);
  if (!loaded || !*loaded || (*loaded)->hasPems()) return loaded;
  bool exists = false;
  auto record = readSecretRecord(vaultSecret, exists);
  if (!record) return record;
  // Deleted or replaced behind revoca's back: what is there now counts.
  if (!*record || (*record)->serialHex != (*loaded)->serialHex) {
    std::lock_guard lock(mutex_);
    if (!unsaved_.count(vaultSecret)) secrets_[vaultSecret] = withoutPems(*record);
  }
  return record;
}

Result<std::optional<SecretRecord>> SecretStateStore::readSecretRecord(const ObjectKey& vaultSecret, bool& exists) {
  auto secret = read(vaultSecret.namespace_, vaultSecretStateName(vaultSecret));
  if (!secret) return secret.error();
  exists = secret->has_value();
  if (!exists) return std::optional<SecretRecord>();
  return parseSecretRecord(vaultSecret, (*secret)->data);
}

Result<void> SecretStateStore::saveSecret(const ObjectKey& vaultSecret, const SecretRecord& record) {
  json fields = {{"serialHex", record.serialHex},
                 {"issuingCa", record.issuingCa},
                 {"caVersion", record.caVersion},
                 {"notBefore", toUnixSeconds(record.notBefore)},
                 {"notAfter", toUnixSeconds(record.notAfter)},
                 {"specGeneration", record.specGeneration}};
  // Not kept for the next write: VaultSecrets are many and written seldom.
  // Known absent: created at once (a 409 reads it and tries again).
  std::optional<Stored> known;
  {
    std::lock_guard lock(mutex_);
    if (absent_.erase(vaultSecret)) known = Stored{};
  }
  // Written unlocked (modify() keeps to the API and `known`): the engine
  // saves several VaultSecrets at once, each under its own name.
  auto saved = modify(vaultSecret.namespace_, vaultSecretStateName(vaultSecret),
                      labelsOf("vaultsecret", kVaultSecretLabel, vaultSecret.name), known,
                      [&](Data& data) -> Result<void> {
                        data["cert.pem"] = record.certPem;
                        data["cert.key"] = record.keyPem;
                        data["record.json"] = fields.dump();
                        return {};
                      });
  std::lock_guard lock(mutex_);
  if (!saved) {
    // Whether the write took is unknown: the next load reads the Secret,
    // and writes this record if it is not there (see saveUnsaved).
    secrets_.erase(vaultSecret);
    listedNamespaces_.erase(vaultSecret.namespace_);
    unsaved_[vaultSecret] = record;
    return saved;
  }
  unsaved_.erase(vaultSecret);
  secrets_[vaultSecret] = withoutPems(record);
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
  auto found = readSecretRecord(vaultSecret, exists);
  if (!found && !exists) return found.error();  // unreadable; a broken record is written over
  std::optional<SecretRecord> stored = found ? std::move(*found) : std::nullopt;
  if (stored && (stored->serialHex == record.serialHex || stored->notBefore > record.notBefore)) {
    std::lock_guard lock(mutex_);
    unsaved_.erase(vaultSecret);
    secrets_[vaultSecret] = withoutPems(stored);
    return stored;
  }
  spdlog::info("VaultSecret {}: saving the record of serial {} again (its last write failed)", vaultSecret.str(),
               record.serialHex);
  if (auto saved = saveSecret(vaultSecret, record); !saved) return saved.error();
  return std::optional<SecretRecord>(record);
}

void SecretStateStore::forget() {
  std::lock_guard lock(mutex_);
  tenants_.clear();
  cas_.clear();
  caSecrets_.clear();
  ledgers_.clear();
  revocations_.clear();
  secrets_.clear();
  listedNamespaces_.clear();
  listAttempted_.clear();
  absent_.clear();
}

void SecretStateStore::forgetLedger(const ObjectKey& ca) {
  std::lock_guard lock(mutex_);
  ledgers_.erase(ca);
}

void SecretStateStore::forgetHistory() {
  std::lock_guard lock(mutex_);
  ledgers_.clear();
  revocations_.clear();
}

}  // namespace revoca::kubernetes
