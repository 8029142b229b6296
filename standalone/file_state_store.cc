#include "standalone/file_state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string_view>

#include "core/atomic_file.h"

namespace revoca {
namespace fs = std::filesystem;
namespace {

constexpr FileAttributes kSecretFile{0600, std::nullopt, std::nullopt};
constexpr FileAttributes kPlainFile{0644, std::nullopt, std::nullopt};

bool exists(const std::string& path) { return fs::exists(path); }

// A ledger or revocations line has at most four fields, separated by spaces.
// Read without a stream: a restart parses 100,000s of them, and an
// istringstream per line was a fifth of a restart with 100,000 revocations.
struct Fields {
  std::array<std::string_view, 4> field;
  std::size_t count = 0;
};

Fields splitFields(std::string_view line) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  Fields fields;
  std::size_t at = 0;
  while (fields.count < fields.field.size()) {
    while (at < line.size() && space(line[at])) ++at;
    if (at == line.size()) break;
    std::size_t end = at;
    while (end < line.size() && !space(line[end])) ++end;
    fields.field[fields.count++] = line.substr(at, end - at);
    at = end;
  }
  return fields;
}

template <typename Number>
bool parseNumber(std::string_view text, Number& out) {
  long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return false;
  out = static_cast<Number>(value);
  return true;
}

// Calls `line` for each non-empty line of `text`, which ends with a newline.
template <typename Line>
void forEachLine(const std::string& text, Line line) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) line(std::string_view(text).substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

std::string newUuid() {
  std::random_device random;
  unsigned char bytes[16];
  for (auto& byte : bytes) byte = static_cast<unsigned char>(random());
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  char text[37];
  std::snprintf(text, sizeof text, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10],
                bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
  return text;
}

Result<std::unique_ptr<FileStateStore>> FileStateStore::open(const std::string& directory) {
  if (auto made = makeDirectories(directory, 0700); !made) return made.error();
  // The state tree is revoca's alone: 0700 and its own user's, so no other
  // user can put a link in it that a write (as root) would follow.
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return makeError("cannot open " + directory + " as a directory");
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    return makeError("cannot stat " + directory);
  }
  bool own = info.st_uid == ::geteuid();
  if (own) ::fchmod(fd, 0700);
  ::close(fd);
  if (!own)
    return makeError("owned by uid " + std::to_string(info.st_uid) + ", not by revoca's uid " +
                     std::to_string(::geteuid()) +
                     ": its owner could steer revoca's writes through links; chown it to revoca's user or use another "
                     "directory");
  for (const char* sub : {"/tenants", "/cas", "/secrets"})
    if (auto made = makeDirectories(directory + sub, 0700); !made) return made.error();
  return std::unique_ptr<FileStateStore>(new FileStateStore(directory));
}

std::string FileStateStore::caDirectory(const ObjectKey& ca) const {
  return directory_ + "/cas/" + ca.namespace_ + "/" + ca.name;
}

Result<std::string> FileStateStore::tenantUuid(const std::string& namespace_) {
  std::string path = directory_ + "/tenants/" + namespace_;
  if (exists(path)) {
    auto text = readFile(path);
    if (!text) return text.error();
    std::string uuid = text->substr(0, text->find('\n'));
    if (uuid.size() == 36) return uuid;
  }
  std::string uuid = newUuid();
  if (auto written = writeFileAtomically(path, uuid + "\n", kPlainFile); !written) return written.error();
  return uuid;
}

Result<std::optional<CaRecord>> FileStateStore::loadCa(const ObjectKey& ca) {
  std::string versions = caDirectory(ca) + "/versions";
  if (!exists(versions)) return std::optional<CaRecord>();
  CaRecord record;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(versions, ec)) {
    int number = 0;
    if (!parseNumber(entry.path().filename().string(), number)) continue;
    std::string dir = entry.path().string();
    // The certificate is written last: a version without one never finished.
    if (!exists(dir + "/cert.pem") || !exists(dir + "/key.pem")) continue;
    auto cert = readFile(dir + "/cert.pem");
    auto key = readFile(dir + "/key.pem");
    if (!cert) return cert.error();
    if (!key) return key.error();
    auto parsed = pki::Certificate::fromPem(*cert);
    if (!parsed) return makeError(dir + "/cert.pem: " + parsed.error().message);
    record.versions.push_back({number, *cert, *key, parsed->notBefore(), parsed->notAfter()});
  }
  if (ec) return makeError("reading " + versions + ": " + ec.message());
  if (record.versions.empty()) return std::optional<CaRecord>();
  std::sort(record.versions.begin(), record.versions.end(),
            [](const auto& a, const auto& b) { return a.version < b.version; });
  return std::optional<CaRecord>(record);
}

Result<void> FileStateStore::saveCa(const ObjectKey& ca, const CaRecord& record) {
  for (const auto& version : record.versions) {
    std::string dir = caDirectory(ca) + "/versions/" + std::to_string(version.version);
    if (exists(dir + "/cert.pem")) continue;  // versions never change once written
    if (auto made = makeDirectories(dir, 0700); !made) return made;
    if (auto key = writeFileAtomically(dir + "/key.pem", version.keyPem, kSecretFile); !key) return key;
    if (auto cert = writeFileAtomically(dir + "/cert.pem", version.certPem, kPlainFile); !cert) return cert;
  }
  return {};
}

Result<std::uint64_t> FileStateStore::nextCrlNumber(const ObjectKey& ca) {
  std::string path = caDirectory(ca) + "/crl-number";
  std::uint64_t last = 0;
  if (exists(path)) {
    auto text = readFile(path);
    if (!text) return text.error();
    std::string line = text->substr(0, text->find('\n'));
    if (!parseNumber(line, last)) return makeError(path + ": not a number; restore it from a backup");
  }
  if (auto made = makeDirectories(caDirectory(ca), 0700); !made) return made.error();
  if (auto written = writeFileAtomically(path, std::to_string(last + 1) + "\n", kPlainFile); !written)
    return written.error();
  return last + 1;
}

Result<std::string> FileStateStore::readCompleteLines(const std::string& path) {
  if (!exists(path)) return std::string();
  auto text = readFile(path);
  if (!text) return text.error();
  std::size_t complete = text->rfind('\n');
  complete = complete == std::string::npos ? 0 : complete + 1;
  if (complete != text->size()) {
    // A crash cut the last append short: drop it so the next append starts clean.
    if (::truncate(path.c_str(), static_cast<off_t>(complete)) != 0)
      return makeError("truncate " + path + ": cannot repair a torn last line");
    text->resize(complete);
  }
  return text;
}

Result<std::vector<IssuedCertificate>> FileStateStore::loadLedger(const ObjectKey& ca) {
  auto text = readCompleteLines(caDirectory(ca) + "/ledger");
  if (!text) return text.error();
  std::vector<IssuedCertificate> ledger;
  ledger.reserve(static_cast<std::size_t>(std::count(text->begin(), text->end(), '\n')));
  forEachLine(*text, [&](std::string_view line) {
    Fields fields = splitFields(line);
    IssuedCertificate issued;
    std::int64_t notAfter = 0;
    if (fields.count < 3 || !parseNumber(fields.field[1], issued.caVersion) ||
        !parseNumber(fields.field[2], notAfter))
      return;
    issued.serialHex = fields.field[0];
    issued.notAfter = fromUnixSeconds(notAfter);
    if (fields.count > 3) issued.subject = fields.field[3];
    ledger.push_back(std::move(issued));
  });
  return ledger;
}

Result<void> FileStateStore::appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) {
  if (auto made = makeDirectories(caDirectory(ca), 0700); !made) return made;
  std::string subject = issued.subject.empty() ? "-" : issued.subject;
  std::replace_if(subject.begin(), subject.end(), [](char c) { return c == ' ' || c == '\n'; }, '_');
  return appendLineDurably(caDirectory(ca) + "/ledger", issued.serialHex + " " + std::to_string(issued.caVersion) +
                                                            " " + std::to_string(toUnixSeconds(issued.notAfter)) +
                                                            " " + subject);
}

Result<std::vector<Revocation>> FileStateStore::loadRevocations(const ObjectKey& ca) {
  auto text = readCompleteLines(caDirectory(ca) + "/revocations");
  if (!text) return text.error();
  std::vector<Revocation> revocations;
  revocations.reserve(static_cast<std::size_t>(std::count(text->begin(), text->end(), '\n')));
  forEachLine(*text, [&](std::string_view line) {
    Fields fields = splitFields(line);
    Revocation revocation;
    std::int64_t revokedAt = 0, invalidity = 0;
    auto reason = fields.count >= 4 ? pki::parseRevocationReason(std::string(fields.field[2])) : std::nullopt;
    if (!reason || !parseNumber(fields.field[1], revokedAt)) return;
    revocation.serialHex = fields.field[0];
    revocation.revokedAt = fromUnixSeconds(revokedAt);
    revocation.reason = *reason;
    if (fields.field[3] != "-" && parseNumber(fields.field[3], invalidity))
      revocation.invalidityDate = fromUnixSeconds(invalidity);
    revocations.push_back(std::move(revocation));
  });
  return revocations;
}

Result<void> FileStateStore::appendRevocation(const ObjectKey& ca, const Revocation& revocation) {
  if (auto made = makeDirectories(caDirectory(ca), 0700); !made) return made;
  std::string invalidity =
      revocation.invalidityDate ? std::to_string(toUnixSeconds(*revocation.invalidityDate)) : std::string("-");
  return appendLineDurably(caDirectory(ca) + "/revocations",
                           revocation.serialHex + " " + std::to_string(toUnixSeconds(revocation.revokedAt)) + " " +
                               pki::revocationReasonName(revocation.reason) + " " + invalidity);
}

Result<std::optional<SecretRecord>> FileStateStore::loadSecret(const ObjectKey& secret) {
  std::string path = directory_ + "/secrets/" + secret.namespace_ + "/" + secret.name + ".json";
  if (!exists(path)) return std::optional<SecretRecord>();
  auto text = readFile(path);
  if (!text) return text.error();
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return makeError(path + ": not valid JSON; delete it to have the certificate issued again");
  SecretRecord record;
  record.certPem = json.value("cert", "");
  record.keyPem = json.value("key", "");
  record.serialHex = json.value("serial", "");
  record.issuingCa = json.value("issuingCa", "");
  record.caVersion = json.value("caVersion", 1);
  record.notBefore = fromUnixSeconds(json.value("notBefore", std::int64_t{0}));
  record.notAfter = fromUnixSeconds(json.value("notAfter", std::int64_t{0}));
  record.specGeneration = json.value("specGeneration", std::int64_t{0});
  return std::optional<SecretRecord>(record);
}

Result<void> FileStateStore::saveSecret(const ObjectKey& secret, const SecretRecord& record) {
  std::string dir = directory_ + "/secrets/" + secret.namespace_;
  if (auto made = makeDirectories(dir, 0700); !made) return made;
  nlohmann::json json = {{"cert", record.certPem},
                         {"key", record.keyPem},
                         {"serial", record.serialHex},
                         {"issuingCa", record.issuingCa},
                         {"caVersion", record.caVersion},
                         {"notBefore", toUnixSeconds(record.notBefore)},
                         {"notAfter", toUnixSeconds(record.notAfter)},
                         {"specGeneration", record.specGeneration}};
  return writeFileAtomically(dir + "/" + secret.name + ".json", json.dump(), kSecretFile);
}

}  // namespace revoca
