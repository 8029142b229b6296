#include "standalone/file_state_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

#include "core/atomic_file.h"
#include "core/text.h"
#include "pki/certificate.h"
#include "pki/key.h"
#include "registry/record_codec.h"

namespace revoca {
namespace fs = std::filesystem;
namespace {

constexpr FileAttributes kSecretFile{0600, std::nullopt, std::nullopt};
constexpr FileAttributes kPlainFile{0644, std::nullopt, std::nullopt};

// Whether `path` is there; an error for anything but "no such file", so a
// permission problem is never taken for an absent file (and a new one made).
Result<bool> isPresent(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) return true;
  if (errno == ENOENT) return false;
  return makeError("cannot stat " + path + ": " + std::strerror(errno));
}

// A field of a state file quoted for an error message: safe to log and to
// write as JSON whatever bytes a hand edit left, cut short past 40 bytes.
std::string shown(std::string_view text) { return quotedText(text, 40); }

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
  auto present = isPresent(path);
  if (!present) return present.error();
  if (*present) {
    // Made once, never again: every issued certificate's OCSP URL carries it.
    auto text = readFile(path);
    if (!text) return text.error();
    auto uuid = decodeTenantUuid(*text);
    if (!uuid)
      return makeError(path + ": " + uuid.error().message +
                       "; restore the UUID from a backup: it is the one in the OCSP URLs of the certificates this "
                       "namespace's CAs issued (openssl x509 -noout -ocsp_uri)");
    return uuid;
  }
  std::string uuid = newUuid();
  if (auto written = writeFileAtomically(path, encodeTenantUuid(uuid), kPlainFile); !written) return written.error();
  return uuid;
}

namespace {

constexpr const char* kCrlDistUrlsFile = "/crl-dist-urls";

// Version `number` of a CA from its directory `dir`; nullopt when it never
// finished (the key is written first, the certificate last, so a crash
// leaves a key alone or an empty directory).
Result<std::optional<CaVersionRecord>> loadVersion(const std::string& dir, int number) {
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    return makeError(dir + " is not a directory: versions/ holds one directory per CA version; restore it from a "
                           "backup");
  auto hasCert = isPresent(dir + "/cert.pem");
  if (!hasCert) return hasCert.error();
  auto hasKey = isPresent(dir + "/key.pem");
  if (!hasKey) return hasKey.error();
  if (!*hasCert) return std::optional<CaVersionRecord>();
  if (!*hasKey)
    return makeError(dir + "/key.pem is missing next to its cert.pem: the key of CA version " +
                     std::to_string(number) + " is lost; restore it from a backup (revoca never makes a new key for "
                     "a version that signed certificates)");
  auto cert = readFile(dir + "/cert.pem");
  if (!cert) return cert.error();
  auto key = readFile(dir + "/key.pem");
  if (!key) return key.error();
  auto parsedCert = pki::Certificate::fromPem(*cert);
  if (!parsedCert) return makeError(dir + "/cert.pem: " + parsedCert.error().message + "; restore it from a backup");
  // No OpenSSL detail for the key: nothing about key bytes goes into a message.
  auto parsedKey = pki::PrivateKey::fromPem(*key);
  if (!parsedKey) return makeError(dir + "/key.pem is not a PEM private key; restore it from a backup");
  if (!pki::keyMatchesCertificate(*parsedCert, *parsedKey))
    return makeError(dir + "/key.pem does not belong to " + dir +
                     "/cert.pem (their public keys differ); restore the pair from a backup");
  std::optional<std::vector<std::string>> crlDistUrls;
  auto hasUrls = isPresent(dir + kCrlDistUrlsFile);
  if (!hasUrls) return hasUrls.error();
  if (*hasUrls) {
    auto text = readFile(dir + kCrlDistUrlsFile);
    if (!text) return text.error();
    auto urls = decodeCrlDistUrls(*text, dir + kCrlDistUrlsFile);
    if (!urls)
      return makeError(urls.error().message +
                       "; restore it from a backup (it lists the CRL distribution points of the certificates that "
                       "version signed: openssl x509 -noout -ext crlDistributionPoints)");
    crlDistUrls = std::move(*urls);
  }
  return std::optional<CaVersionRecord>(CaVersionRecord{number, std::move(*cert), std::move(*key),
                                                        parsedCert->notBefore(), parsedCert->notAfter(),
                                                        std::move(crlDistUrls)});
}

}  // namespace

Result<std::optional<CaRecord>> FileStateStore::loadCa(const ObjectKey& ca) {
  std::string versions = caDirectory(ca) + "/versions";
  auto present = isPresent(versions);
  if (!present) return present.error();
  CaRecord record;
  std::error_code ec;
  fs::directory_iterator entries(*present ? fs::directory_iterator(versions, ec) : fs::directory_iterator());
  for (; !ec && entries != fs::directory_iterator(); entries.increment(ec)) {
    std::string name = entries->path().filename().string();
    int number = 0;
    if (!parseExactNumber(name, number) || number < 1)
      return makeError(versions + " holds " + shown(name) +
                       ", which is not a CA version (versions/ holds only directories named 1, 2, 3 ...); move it "
                       "out of the state directory");
    auto version = loadVersion(entries->path().string(), number);
    if (!version) return version.error();
    if (*version) record.versions.push_back(std::move(**version));
  }
  if (ec) return makeError("reading " + versions + ": " + ec.message());
  if (record.versions.empty()) {
    // A CA that signed (a ledger, a CRL number) but has no version lost its
    // keys: a new key would be a different CA under the old one's name, and
    // every certificate stranded. Revocations alone may come before the CA.
    for (const char* history : {"/ledger", "/crl-number"}) {
      auto there = isPresent(caDirectory(ca) + history);
      if (!there) return there.error();
      if (*there)
        return makeError(caDirectory(ca) + history + " is there but no CA version under " + versions +
                         ": the CA's keys are missing; restore versions/ from a backup (to start a new CA under "
                         "this name instead, move " + caDirectory(ca) + " out of the state directory)");
    }
    return std::optional<CaRecord>();
  }
  std::sort(record.versions.begin(), record.versions.end(),
            [](const auto& a, const auto& b) { return a.version < b.version; });
  return std::optional<CaRecord>(record);
}

Result<void> FileStateStore::saveCa(const ObjectKey& ca, const CaRecord& record) {
  for (const auto& version : record.versions) {
    std::string dir = caDirectory(ca) + "/versions/" + std::to_string(version.version);
    auto finished = isPresent(dir + "/cert.pem");
    if (!finished) return finished.error();
    if (*finished) {
      // Versions never change once written; one saved before its URLs were
      // kept gets them once (AuthorityService takes them from the spec).
      if (!version.crlDistUrls) continue;
      auto hasUrls = isPresent(dir + kCrlDistUrlsFile);
      if (!hasUrls) return hasUrls.error();
      if (*hasUrls) continue;
      if (auto urls = writeFileAtomically(dir + kCrlDistUrlsFile, encodeCrlDistUrls(*version.crlDistUrls), kPlainFile);
          !urls)
        return urls;
      continue;
    }
    if (auto made = makeDirectories(dir, 0700); !made) return made;
    if (auto key = writeFileAtomically(dir + "/key.pem", version.keyPem, kSecretFile); !key) return key;
    // Before the certificate, which marks the version finished.
    if (version.crlDistUrls)
      if (auto urls = writeFileAtomically(dir + kCrlDistUrlsFile, encodeCrlDistUrls(*version.crlDistUrls), kPlainFile);
          !urls)
        return urls;
    if (auto cert = writeFileAtomically(dir + "/cert.pem", version.certPem, kPlainFile); !cert) return cert;
  }
  return {};
}

Result<std::optional<CrlStamp>> FileStateStore::stampCrl(const ObjectKey& ca, int, const CrlStamp& draft) {
  auto number = nextCrlNumber(ca);
  if (!number) return number.error();
  CrlStamp stamp = draft;
  stamp.number = *number;
  return std::optional(stamp);
}

Result<std::uint64_t> FileStateStore::nextCrlNumber(const ObjectKey& ca) {
  std::string path = caDirectory(ca) + "/crl-number";
  std::uint64_t last = 0;
  auto present = isPresent(path);
  if (!present) return present.error();
  if (*present) {
    auto text = readFile(path);
    if (!text) return text.error();
    auto number = decodeCrlNumber(*text, Store::Files);
    if (!number)
      return makeError(path + ": " + number.error().message +
                       "; restore it from a backup (or write in it the number of the CA's last CRL: openssl crl "
                       "-noout -crlnumber)");
    last = *number;
  }
  // A hand edit may have lowered the file; the saved CRLs say how far it went.
  auto saved = highestSavedCrlNumber(ca);
  if (!saved) return saved.error();
  last = std::max(last, *saved);
  if (last == std::numeric_limits<std::uint64_t>::max())
    return makeError(path + ": the CRL numbers are used up (2^64 - 1 reached)");
  if (auto made = makeDirectories(caDirectory(ca), 0700); !made) return made.error();
  if (auto written = writeFileAtomically(path, encodeCrlNumber(last + 1), kPlainFile); !written)
    return written.error();
  return last + 1;
}

Result<std::uint64_t> FileStateStore::highestSavedCrlNumber(const ObjectKey& ca) {
  {
    std::lock_guard lock(crlMutex_);
    if (auto known = highestSavedCrl_.find(ca); known != highestSavedCrl_.end()) return known->second;
  }
  auto crls = loadCrls(ca);
  if (!crls) return crls.error();
  std::uint64_t highest = 0;
  for (const auto& [version, crl] : *crls) highest = std::max(highest, crl.crlNumber);
  std::lock_guard lock(crlMutex_);
  std::uint64_t& known = highestSavedCrl_[ca];
  known = std::max(known, highest);
  return known;
}

Result<void> FileStateStore::saveCrl(const ObjectKey& ca, int version, const pki::SignedCrl& crl) {
  std::string path = caDirectory(ca) + "/versions/" + std::to_string(version) + "/crl.der";
  if (auto written = writeFileAtomically(path, crl.der, kPlainFile); !written) return written;
  std::lock_guard lock(crlMutex_);
  if (auto known = highestSavedCrl_.find(ca); known != highestSavedCrl_.end())
    known->second = std::max(known->second, crl.crlNumber);
  return {};
}

Result<std::map<int, pki::SignedCrl>> FileStateStore::loadCrls(const ObjectKey& ca) {
  std::string versions = caDirectory(ca) + "/versions";
  std::map<int, pki::SignedCrl> crls;
  auto present = isPresent(versions);
  if (!present) return present.error();
  if (!*present) return crls;
  std::error_code ec;
  for (fs::directory_iterator entries(versions, ec); !ec && entries != fs::directory_iterator();
       entries.increment(ec)) {
    int number = 0;
    // Not a version: loadCa says so; here only the CRLs count.
    if (!parseExactNumber(entries->path().filename().string(), number)) continue;
    std::string path = entries->path().string() + "/crl.der";
    auto there = isPresent(path);
    if (!there) return there.error();
    if (!*there) continue;
    auto der = readFile(path);
    if (!der) return der.error();
    auto crl = pki::readCrl(*der);
    if (!crl)
      return makeError(path + ": " + crl.error().message +
                       "; restore it from a backup, or delete it (revoca then counts CRL numbers from crl-number "
                       "alone: make sure that is at least the number of the last CRL published)");
    crls.emplace(number, std::move(*crl));
  }
  if (ec) return makeError("reading " + versions + ": " + ec.message());
  return crls;
}

Result<std::string> FileStateStore::readCompleteLines(const std::string& path) {
  auto present = isPresent(path);
  if (!present) return present.error();
  if (!*present) return std::string();
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
  return loadLog<IssuedCertificate>(
      ca, "ledger", [](std::string_view text, const std::string& path) { return decodeLedgerLines(text, Store::Files, path); },
      "fix the line, or restore the file from a backup (a serial missing from the ledger answers OCSP unknown)");
}

Result<void> FileStateStore::appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) {
  // Never write what loadLedger would refuse: the CA would stop at its next start.
  if (!pki::isNormalizedSerialHex(issued.serialHex) || issued.caVersion < 1)
    return makeError("CertificateAuthority " + ca.str() + ": refusing to record serial " + shown(issued.serialHex) +
                     " of version " + std::to_string(issued.caVersion) + " in the ledger: not a canonical serial");
  if (auto made = makeDirectories(caDirectory(ca), 0700); !made) return made;
  return appendLineDurably(caDirectory(ca) + "/ledger", encodeLedgerLine(issued));
}

Result<std::vector<Revocation>> FileStateStore::loadRevocations(const ObjectKey& ca) {
  return loadLog<Revocation>(
      ca, "revocations",
      [](std::string_view text, const std::string& path) { return decodeRevocationLines(text, Store::Files, path); },
      "fix the line, or restore the file from a backup (a revoked serial must stay revoked)");
}

Result<void> FileStateStore::appendRevocation(const ObjectKey& ca, const Revocation& revocation) {
  if (!pki::isNormalizedSerialHex(revocation.serialHex))
    return makeError("CertificateAuthority " + ca.str() + ": refusing to record the revocation of serial " +
                     shown(revocation.serialHex) + ": not a canonical serial");
  if (auto made = makeDirectories(caDirectory(ca), 0700); !made) return made;
  return appendLineDurably(caDirectory(ca) + "/revocations", encodeRevocationLine(revocation));
}

Result<std::vector<CrlListing>> FileStateStore::loadCrlListings(const ObjectKey& ca) {
  return loadLog<CrlListing>(
      ca, "first-crls", [](std::string_view text, const std::string& path) { return decodeCrlListingLines(text, path); },
      "fix the line, or delete the file (the CertificateRevocations of its serials then show no status.crlNumber)");
}

Result<void> FileStateStore::appendCrlListing(const ObjectKey& ca, const CrlListing& listing) {
  if (!pki::isNormalizedSerialHex(listing.serialHex) || listing.crlNumber == 0)
    return makeError("CertificateAuthority " + ca.str() + ": refusing to record that serial " +
                     shown(listing.serialHex) + " was first listed by CRL number " +
                     std::to_string(listing.crlNumber) + ": not a canonical serial and number");
  if (auto made = makeDirectories(caDirectory(ca), 0700); !made) return made;
  return appendLineDurably(caDirectory(ca) + "/first-crls", encodeCrlListingLine(listing));
}

Result<std::optional<SecretRecord>> FileStateStore::loadSecret(const ObjectKey& secret) {
  std::string path = directory_ + "/secrets/" + secret.namespace_ + "/" + secret.name + ".json";
  auto present = isPresent(path);
  if (!present) return present.error();
  if (!*present) return std::optional<SecretRecord>();
  auto text = readFile(path);
  if (!text) return text.error();
  auto record = decodeSecretRecordDocument(*text, path);
  if (!record) return makeError(record.error().message + "; delete the file to have the certificate issued again");
  return std::optional<SecretRecord>(std::move(*record));
}

Result<void> FileStateStore::saveSecret(const ObjectKey& secret, const SecretRecord& record) {
  std::string dir = directory_ + "/secrets/" + secret.namespace_;
  if (auto made = makeDirectories(dir, 0700); !made) return made;
  return writeFileAtomically(dir + "/" + secret.name + ".json", encodeSecretRecordDocument(record), kSecretFile);
}

}  // namespace revoca
