#include "standalone/file_state_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "pki/certificate.h"
#include "pki/crl.h"
#include "reconcilers/authority_service.h"
#include "registry/ca_registry.h"
#include "tests/standalone/file_probes.h"
#include "testing/fake_clock.h"
#include "testing/temp_dir.h"
#include "testing/unwrap.h"

namespace revoca {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::appendRaw;
using testing::contentsOf;
using testing::modeOf;
using testing::nowSeconds;
using testing::TempDir;
using testing::unwrap;

const TimePoint kT0 = nowSeconds();
constexpr Seconds kDay{86400};

CaVersionRecord caVersion(int version) {
  pki::PrivateKey key = unwrap(pki::PrivateKey::generate({}));
  pki::IssueRequest request;
  request.type = pki::CertType::Authority;
  request.subject.commonName = "mqtt-ca";
  request.serialHex = pki::newSerialHex();
  request.notBefore = kT0 - Seconds(30);
  request.notAfter = kT0 + 365 * kDay;
  pki::Certificate cert = unwrap(pki::issueCertificate(request, key, nullptr, nullptr));
  return CaVersionRecord{version, cert.toPem(), key.toPem(), cert.notBefore(), cert.notAfter(), std::nullopt};
}

class FileStateStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<FileStateStore> open() { return unwrap(FileStateStore::open(dir.file("state"))); }
  std::string caDir() const { return dir.file("state/cas/default/mqtt-ca"); }

  TempDir dir;
  std::unique_ptr<FileStateStore> store = open();
  ObjectKey ca{"default", "mqtt-ca"};
};

TEST_F(FileStateStoreTest, StateDirectoryIsPrivate) {
  EXPECT_EQ(modeOf(dir.file("state")), 0700);
  EXPECT_EQ(store->directory(), dir.file("state"));
}

// Its owner could plant links where revoca writes keys: only revoca's own will do.
TEST_F(FileStateStoreTest, AStateDirectoryAnotherUserOwnsIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root can give a directory away";
  ASSERT_EQ(::chown(dir.file("other").c_str(), 12345, 12345), -1);  // missing yet
  ASSERT_EQ(::mkdir(dir.file("other").c_str(), 0700), 0);
  ASSERT_EQ(::chown(dir.file("other").c_str(), 12345, 12345), 0);
  auto opened = FileStateStore::open(dir.file("other"));
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.error().message, HasSubstr("owned by uid 12345, not by revoca's uid 0"));
}

TEST_F(FileStateStoreTest, TenantUuidIsAVersion4UuidStableAcrossReopen) {
  std::string uuid = unwrap(store->tenantUuid("default"));
  // xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, lower-case hex
  ASSERT_EQ(uuid.size(), 36u);
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    EXPECT_TRUE(dash ? uuid[i] == '-' : std::isxdigit(static_cast<unsigned char>(uuid[i])) && !std::isupper(uuid[i]))
        << uuid;
  }
  EXPECT_EQ(uuid[14], '4') << uuid;
  EXPECT_NE(std::string("89ab").find(uuid[19]), std::string::npos) << uuid;
  EXPECT_EQ(unwrap(store->tenantUuid("default")), uuid);
  EXPECT_NE(unwrap(store->tenantUuid("prod")), uuid);
  auto reopened = open();
  EXPECT_EQ(unwrap(reopened->tenantUuid("default")), uuid);
  EXPECT_EQ(contentsOf(dir.file("state/tenants/default")), uuid + "\n");
}

TEST_F(FileStateStoreTest, CaRecordRoundTripsWithAPrivateKeyFile) {
  EXPECT_FALSE(unwrap(store->loadCa(ca)).has_value());
  CaRecord record;
  record.versions = {caVersion(1), caVersion(2)};
  ASSERT_TRUE(store->saveCa(ca, record).ok());

  EXPECT_EQ(modeOf(caDir() + "/versions/1/key.pem"), 0600);
  EXPECT_EQ(modeOf(caDir() + "/versions/2/key.pem"), 0600);
  EXPECT_EQ(modeOf(caDir() + "/versions/1"), 0700);
  EXPECT_EQ(modeOf(caDir() + "/versions/1/cert.pem"), 0644);

  auto loaded = unwrap(open()->loadCa(ca));
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->versions.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(loaded->versions[i].version, record.versions[i].version);
    EXPECT_EQ(loaded->versions[i].certPem, record.versions[i].certPem);
    EXPECT_EQ(loaded->versions[i].keyPem, record.versions[i].keyPem);
    EXPECT_EQ(loaded->versions[i].notBefore, record.versions[i].notBefore);
    EXPECT_EQ(loaded->versions[i].notAfter, record.versions[i].notAfter);
  }
  EXPECT_EQ(loaded->current()->version, 2);
}

TEST_F(FileStateStoreTest, VersionsLoadInNumericOrder) {
  CaRecord record;
  for (int v : {1, 2, 10}) record.versions.push_back(caVersion(v));
  ASSERT_TRUE(store->saveCa(ca, record).ok());
  auto loaded = unwrap(store->loadCa(ca));
  ASSERT_EQ(loaded->versions.size(), 3u);
  EXPECT_EQ(loaded->versions[0].version, 1);
  EXPECT_EQ(loaded->versions[1].version, 2);
  EXPECT_EQ(loaded->versions[2].version, 10);
}

TEST_F(FileStateStoreTest, SavedVersionsAreNeverRewritten) {
  CaRecord record;
  record.versions = {caVersion(1)};
  ASSERT_TRUE(store->saveCa(ca, record).ok());
  CaRecord other;
  other.versions = {caVersion(1), caVersion(2)};
  ASSERT_TRUE(store->saveCa(ca, other).ok());
  auto loaded = unwrap(store->loadCa(ca));
  ASSERT_EQ(loaded->versions.size(), 2u);
  EXPECT_EQ(loaded->versions[0].certPem, record.versions[0].certPem);
  EXPECT_EQ(loaded->versions[1].certPem, other.versions[1].certPem);
}

TEST_F(FileStateStoreTest, AVersionKeepsTheCrlDistributionPointsItWasMadeWith) {
  CaRecord record;
  record.versions = {caVersion(1), caVersion(2)};
  record.versions[0].crlDistUrls = std::vector<std::string>{"http://127.0.0.1:4664/crl-pem/default/mqtt-ca/1"};
  record.versions[1].crlDistUrls = std::vector<std::string>{};  // made while spec.crlDistUrls was empty
  ASSERT_TRUE(store->saveCa(ca, record).ok());
  EXPECT_EQ(contentsOf(caDir() + "/versions/1/crl-dist-urls"), "http://127.0.0.1:4664/crl-pem/default/mqtt-ca/1\n");

  auto loaded = unwrap(open()->loadCa(ca));
  ASSERT_EQ(loaded->versions.size(), 2u);
  EXPECT_EQ(loaded->versions[0].crlDistUrls, record.versions[0].crlDistUrls);
  EXPECT_EQ(loaded->versions[1].crlDistUrls, std::optional<std::vector<std::string>>(std::vector<std::string>{}));
}

TEST_F(FileStateStoreTest, AVersionSavedWithoutItsCrlDistributionPointsGetsThemOnceAndNeverAgain) {
  CaRecord record;
  record.versions = {caVersion(1)};
  ASSERT_TRUE(store->saveCa(ca, record).ok());
  EXPECT_FALSE(unwrap(store->loadCa(ca))->versions[0].crlDistUrls.has_value());

  record.versions[0].crlDistUrls = std::vector<std::string>{"http://a.internal/crl/1"};
  ASSERT_TRUE(store->saveCa(ca, record).ok());
  record.versions[0].crlDistUrls = std::vector<std::string>{"http://b.internal/crl/1"};
  ASSERT_TRUE(store->saveCa(ca, record).ok());
  EXPECT_EQ(unwrap(open()->loadCa(ca))->versions[0].crlDistUrls,
            std::optional<std::vector<std::string>>(std::vector<std::string>{"http://a.internal/crl/1"}));
}

TEST_F(FileStateStoreTest, CrlDistributionPointsNotAsRevocaWritesThemAreAnErrorNamingTheFile) {
  CaRecord record;
  record.versions = {caVersion(1)};
  record.versions[0].crlDistUrls = std::vector<std::string>{"http://a.internal/crl/1"};
  ASSERT_TRUE(store->saveCa(ca, record).ok());
  std::string path = caDir() + "/versions/1/crl-dist-urls";
  for (std::string text : {"http://a.internal/crl/1", "http://a.internal/crl/1\n\n", "http://a b/\n",
                           "http://a.internal/crl/1\r\n"}) {
    SCOPED_TRACE(text);
    ASSERT_TRUE(writeFileAtomically(path, text, FileAttributes{0644, std::nullopt, std::nullopt}).ok());
    auto loaded = open()->loadCa(ca);
    ASSERT_FALSE(loaded);
    EXPECT_THAT(loaded.error().message, HasSubstr(path));
    EXPECT_THAT(loaded.error().message, HasSubstr("restore it from a backup"));
  }
}

TEST_F(FileStateStoreTest, AVersionWithoutCertificateNeverFinished) {
  CaRecord record;
  record.versions = {caVersion(1)};
  ASSERT_TRUE(store->saveCa(ca, record).ok());
  // A crash after the key and before the certificate of version 2.
  ASSERT_TRUE(makeDirectories(caDir() + "/versions/2", 0700).ok());
  ASSERT_TRUE(writeFileAtomically(caDir() + "/versions/2/key.pem", caVersion(2).keyPem, FileAttributes{0600, std::nullopt, std::nullopt}).ok());
  auto loaded = unwrap(store->loadCa(ca));
  ASSERT_EQ(loaded->versions.size(), 1u);
  EXPECT_EQ(loaded->versions[0].version, 1);
  // And the next save finishes it.
  CaRecord two;
  two.versions = {record.versions[0], caVersion(2)};
  ASSERT_TRUE(store->saveCa(ca, two).ok());
  EXPECT_EQ(unwrap(store->loadCa(ca))->versions.size(), 2u);
}

TEST_F(FileStateStoreTest, CrlNumberGrowsAcrossReopen) {
  EXPECT_EQ(unwrap(store->nextCrlNumber(ca)), 1u);
  EXPECT_EQ(unwrap(store->nextCrlNumber(ca)), 2u);
  EXPECT_EQ(unwrap(open()->nextCrlNumber(ca)), 3u);
  EXPECT_EQ(unwrap(store->nextCrlNumber(ObjectKey{"default", "other"})), 1u);
  EXPECT_EQ(contentsOf(caDir() + "/crl-number"), "3\n");
}

TEST_F(FileStateStoreTest, CorruptCrlNumberIsAnErrorNotAReset) {
  ASSERT_TRUE(makeDirectories(caDir()).ok());
  ASSERT_TRUE(writeFileAtomically(caDir() + "/crl-number", "garbage\n").ok());
  auto number = store->nextCrlNumber(ca);
  ASSERT_FALSE(number.ok());
  EXPECT_THAT(number.error().message, HasSubstr("crl-number"));
}

TEST_F(FileStateStoreTest, LedgerRoundTrips) {
  EXPECT_TRUE(unwrap(store->loadLedger(ca)).empty());
  ASSERT_TRUE(store->appendIssued(ca, {"A1B", 1, kT0 + kDay, "mqtt.emqx.internal"}).ok());
  ASSERT_TRUE(store->appendIssued(ca, {"FF", 2, kT0 + 2 * kDay, "a name with spaces"}).ok());
  ASSERT_TRUE(store->appendIssued(ca, {"1", 2, kT0, ""}).ok());
  auto ledger = unwrap(open()->loadLedger(ca));
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[0].serialHex, "A1B");
  EXPECT_EQ(ledger[0].caVersion, 1);
  EXPECT_EQ(ledger[0].notAfter, kT0 + kDay);
  EXPECT_EQ(ledger[0].subject, "mqtt.emqx.internal");
  EXPECT_EQ(ledger[1].caVersion, 2);
  EXPECT_EQ(ledger[1].subject, "a_name_with_spaces");  // one field a line
  EXPECT_EQ(ledger[2].subject, "-");
  EXPECT_EQ(modeOf(caDir() + "/ledger"), 0600);
}

TEST_F(FileStateStoreTest, TornLastLedgerLineIsSkippedAndRepaired) {
  ASSERT_TRUE(store->appendIssued(ca, {"A", 1, kT0, "a"}).ok());
  ASSERT_TRUE(store->appendIssued(ca, {"B", 1, kT0, "b"}).ok());
  std::string intact = contentsOf(caDir() + "/ledger");
  appendRaw(caDir() + "/ledger", "C 1 17");  // a crash mid-append

  auto reopened = open();
  auto ledger = unwrap(reopened->loadLedger(ca));
  ASSERT_EQ(ledger.size(), 2u);
  EXPECT_EQ(ledger[1].serialHex, "B");
  EXPECT_EQ(contentsOf(caDir() + "/ledger"), intact);  // cut off

  ASSERT_TRUE(reopened->appendIssued(ca, {"D", 1, kT0, "d"}).ok());
  ledger = unwrap(open()->loadLedger(ca));
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[2].serialHex, "D");
  EXPECT_EQ(ledger[2].subject, "d");
}

TEST_F(FileStateStoreTest, LedgerWithOnlyATornLineIsEmpty) {
  ASSERT_TRUE(makeDirectories(caDir()).ok());
  appendRaw(caDir() + "/ledger", "C 1");
  EXPECT_TRUE(unwrap(store->loadLedger(ca)).empty());
  EXPECT_EQ(contentsOf(caDir() + "/ledger"), "");
  ASSERT_TRUE(store->appendIssued(ca, {"E", 3, kT0, "e"}).ok());
  auto ledger = unwrap(store->loadLedger(ca));
  ASSERT_EQ(ledger.size(), 1u);
  EXPECT_EQ(ledger[0].caVersion, 3);
}

TEST_F(FileStateStoreTest, RevocationsRoundTripAndSurviveATornLine) {
  EXPECT_TRUE(unwrap(store->loadRevocations(ca)).empty());
  ASSERT_TRUE(store->appendRevocation(ca, {"A", kT0, pki::RevocationReason::KeyCompromise, std::nullopt}).ok());
  ASSERT_TRUE(store->appendRevocation(ca, {"B", kT0 + Seconds(5), pki::RevocationReason::Superseded, kT0 - kDay}).ok());
  appendRaw(caDir() + "/revocations", "C 123 keyCompro");
  auto revocations = unwrap(open()->loadRevocations(ca));
  ASSERT_EQ(revocations.size(), 2u);
  EXPECT_EQ(revocations[0].serialHex, "A");
  EXPECT_EQ(revocations[0].revokedAt, kT0);
  EXPECT_EQ(revocations[0].reason, pki::RevocationReason::KeyCompromise);
  EXPECT_FALSE(revocations[0].invalidityDate.has_value());
  EXPECT_EQ(revocations[1].reason, pki::RevocationReason::Superseded);
  EXPECT_EQ(revocations[1].invalidityDate, kT0 - kDay);
  ASSERT_TRUE(store->appendRevocation(ca, {"D", kT0, pki::RevocationReason::Unspecified, std::nullopt}).ok());
  revocations = unwrap(store->loadRevocations(ca));
  ASSERT_EQ(revocations.size(), 3u);
  EXPECT_EQ(revocations[2].serialHex, "D");
}

TEST_F(FileStateStoreTest, FirstCrlListingsRoundTripSurviveATornLineAndRefuseWhatTheReaderWould) {
  EXPECT_TRUE(unwrap(store->loadCrlListings(ca)).empty());
  ASSERT_TRUE(store->appendCrlListing(ca, {"A", 2}).ok());
  ASSERT_TRUE(store->appendCrlListing(ca, {"B", 3}).ok());
  appendRaw(caDir() + "/first-crls", "C 4");  // a crash cut the line short
  EXPECT_EQ(unwrap(open()->loadCrlListings(ca)), (std::vector<CrlListing>{{"A", 2}, {"B", 3}}));
  EXPECT_FALSE(store->appendCrlListing(ca, {"0A", 5}).ok());
  EXPECT_FALSE(store->appendCrlListing(ca, {"D", 0}).ok());
  appendRaw(caDir() + "/first-crls", "d 5\n");
  auto refused = open()->loadCrlListings(ca);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr(caDir() + "/first-crls"));
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr("line 3"));
}

TEST_F(FileStateStoreTest, SecretRoundTripsInAPrivateJsonFile) {
  ObjectKey secret{"default", "server-cert"};
  EXPECT_FALSE(unwrap(store->loadSecret(secret)).has_value());
  SecretRecord record{"CERT PEM\n", "KEY PEM\n", "0A1B", "mqtt-ca", 2, kT0, kT0 + 30 * kDay, 7, {}, {}};
  ASSERT_TRUE(store->saveSecret(secret, record).ok());
  std::string path = dir.file("state/secrets/default/server-cert.json");
  EXPECT_EQ(modeOf(path), 0600);
  auto loaded = unwrap(open()->loadSecret(secret));
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->certPem, record.certPem);
  EXPECT_EQ(loaded->keyPem, record.keyPem);
  EXPECT_EQ(loaded->serialHex, record.serialHex);
  EXPECT_EQ(loaded->issuingCa, record.issuingCa);
  EXPECT_EQ(loaded->caVersion, 2);
  EXPECT_EQ(loaded->notBefore, record.notBefore);
  EXPECT_EQ(loaded->notAfter, record.notAfter);
  EXPECT_EQ(loaded->specGeneration, 7);

  record.serialHex = "0C";
  ASSERT_TRUE(store->saveSecret(secret, record).ok());
  EXPECT_EQ(unwrap(store->loadSecret(secret))->serialHex, "0C");
  EXPECT_EQ(modeOf(path), 0600);
}

TEST_F(FileStateStoreTest, BrokenSecretJsonIsAnErrorNamingTheFile) {
  ObjectKey secret{"default", "server-cert"};
  ASSERT_TRUE(makeDirectories(dir.file("state/secrets/default")).ok());
  ASSERT_TRUE(writeFileAtomically(dir.file("state/secrets/default/server-cert.json"), "{not json").ok());
  auto loaded = store->loadSecret(secret);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error().message, HasSubstr("server-cert.json"));
}

// ---- State read exactly: what is not as revoca writes it stops the CA.

constexpr FileAttributes kKeyFile{0600, std::nullopt, std::nullopt};

// A CA reconciled on the store, as the standalone engine runs it.
class CaOnFileStateTest : public FileStateStoreTest {
 protected:
  CertificateAuthority declaration() const {
    CertificateAuthority declared;
    declared.meta.namespace_ = "default";
    declared.meta.name = "mqtt-ca";
    declared.spec.crlValidity = kDay;
    declared.spec.crlDistUrls = {"http://revoca.internal:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}"};
    return declared;
  }
  // A fresh service and registry on a fresh store: what a restart reads.
  struct Restart {
    explicit Restart(const std::string& state) : store(unwrap(FileStateStore::open(state))) {}
    SystemClock clock;
    std::unique_ptr<FileStateStore> store;
    CaRegistry registry{clock};
    AuthorityService service{*store, registry, clock};
  };
  Result<const ActiveCa*> reconcile(Restart& run) {
    run.registry.setTenant("default", unwrap(run.store->tenantUuid("default")));
    return run.service.reconcileCa(declaration(), TenantInfo{"default", unwrap(run.store->tenantUuid("default"))});
  }
  // Reconciles the CA, issues a certificate and revokes it; returns its serial.
  std::string issueAndRevoke() {
    Restart run(dir.file("state"));
    EXPECT_TRUE(reconcile(run).ok());
    auto leaf = unwrap(run.service.issue(ca, LeafRequest{"mqtt.emqx.internal", {}, pki::CertType::Server, kDay}));
    EXPECT_TRUE(unwrap(run.service.revoke(ca, Revocation{leaf.serialHex, kT0, pki::RevocationReason::KeyCompromise, std::nullopt})));
    return leaf.serialHex;
  }
};

// Defect 1, end to end: a revoked serial that would answer OCSP "good".
TEST_F(CaOnFileStateTest, RevocationLineWithLowerCaseSerialStopsTheCa) {
  std::string serial = issueAndRevoke();
  std::string lower = serial;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  ASSERT_TRUE(writeFileAtomically(caDir() + "/revocations", lower + " 1700000000 keyCompromise -\n").ok());

  Restart run(dir.file("state"));
  auto result = reconcile(run);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("line 1 of " + caDir() + "/revocations"));
  EXPECT_THAT(result.error().message, HasSubstr("fix the line, or restore the file from a backup"));
  EXPECT_FALSE(run.registry.hasAuthority(ca));
  EXPECT_FALSE(run.service.issue(ca, LeafRequest{"x.internal", {}, pki::CertType::Server, kDay}).ok());
}

// Each of these second lines is one way a hand edit goes wrong; the first
// line is as revoca writes it. None may be skipped.
TEST_F(FileStateStoreTest, EveryRevocationLineNotAsRevocaWritesItIsAnErrorNamingTheLine) {
  const std::string path = caDir() + "/revocations";
  const std::pair<std::string, std::string> cases[] = {
      {"ab12 1700000000 keyCompromise -", "serial \"ab12\""},
      {"0AB12 1700000000 keyCompromise -", "serial \"0AB12\""},
      {"0x1F 1700000000 keyCompromise -", "serial \"0x1F\""},
      {"AB12 1700000000 keyCompromize -", "reason \"keyCompromize\""},
      {"AB12 1700000000 KeyCompromise -", "reason \"KeyCompromise\""},
      {"AB12 1700000000 keyCompromise", "has 3 fields"},
      {"AB12 1700000000 keyCompromise - extra", "has 5 fields"},
      {"AB12  1700000000 keyCompromise -", "has 5 fields"},
      {"AB12\t1700000000 keyCompromise -", "has 3 fields"},
      {"AB12 17000000x0 keyCompromise -", "revocation time \"17000000x0\""},
      {"AB12 +1700000000 keyCompromise -", "revocation time \"+1700000000\""},
      {"AB12 01700000000 keyCompromise -", "revocation time \"01700000000\""},
      {"AB12 99999999999999999999 keyCompromise -", "revocation time"},
      {"AB12 1700000000 keyCompromise yesterday", "invalidity date \"yesterday\""},
      {"AB12 1700000000 keyCompromise -\r", "carriage return"},
      {"", "is empty"},
  };
  for (const auto& [line, what] : cases) {
    SCOPED_TRACE(line);
    ASSERT_TRUE(makeDirectories(caDir()).ok());
    ASSERT_TRUE(writeFileAtomically(path, "CD34 1700000000 superseded 1699990000\n" + line + "\n").ok());
    auto loaded = open()->loadRevocations(ca);
    ASSERT_FALSE(loaded.ok());
    EXPECT_THAT(loaded.error().message, HasSubstr("line 2 of " + path + ": "));
    EXPECT_THAT(loaded.error().message, HasSubstr(what));
  }
  // Every RFC 5280 spelling revoca reads elsewhere, and "-" or a time for invalidity.
  ASSERT_TRUE(writeFileAtomically(path, "CD34 1700000000 cACompromise -\n0 0 aaCompromise -5\n").ok());
  auto loaded = unwrap(open()->loadRevocations(ca));
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].reason, pki::RevocationReason::CaCompromise);
  EXPECT_EQ(loaded[1].serialHex, "0");
  EXPECT_EQ(loaded[1].invalidityDate, fromUnixSeconds(-5));
}

// A garbled ledger line would turn an issued certificate "unknown".
TEST_F(FileStateStoreTest, EveryLedgerLineNotAsRevocaWritesItIsAnErrorNamingTheLine) {
  const std::string path = caDir() + "/ledger";
  const std::pair<std::string, std::string> cases[] = {
      {"ab12 1 1700000000 mqtt.internal", "serial \"ab12\""},
      {"AB12 0 1700000000 mqtt.internal", "CA version \"0\""},
      {"AB12 x 1700000000 mqtt.internal", "CA version \"x\""},
      {"AB12 99999999999 1700000000 mqtt.internal", "CA version"},
      {"AB12 1 17e8 mqtt.internal", "expiry \"17e8\""},
      {"AB12 1 1700000000", "has 3 fields"},
      {"AB12 1 1700000000 a name", "has 5 fields"},
      {"AB12 1 1700000000 ", "subject \"\""},
      {"AB12 1 1700000000 caf\xc3\xa9", "subject \"caf\xc3\xa9\" is not printable ASCII"},
      {"AB12 1 1700000000 mqtt.internal\r", "carriage return"},
      {"", "is empty"},
  };
  for (const auto& [line, what] : cases) {
    SCOPED_TRACE(line);
    ASSERT_TRUE(makeDirectories(caDir()).ok());
    ASSERT_TRUE(writeFileAtomically(path, "CD34 2 1700000000 -\n" + line + "\n").ok());
    auto loaded = open()->loadLedger(ca);
    ASSERT_FALSE(loaded.ok());
    EXPECT_THAT(loaded.error().message, HasSubstr("line 2 of " + path + ": "));
    EXPECT_THAT(loaded.error().message, HasSubstr(what));
    EXPECT_THAT(loaded.error().message, HasSubstr("restore the file from a backup"));
  }
}

// Error text goes into JSON status files: raw bytes must never reach it.
TEST_F(FileStateStoreTest, AFieldThatIsNotPrintableIsNeverEchoedInTheError) {
  ASSERT_TRUE(makeDirectories(caDir()).ok());
  ASSERT_TRUE(writeFileAtomically(caDir() + "/revocations", "AB12 1700000000 \xff\x01\"key -\n").ok());
  auto loaded = store->loadRevocations(ca);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error().message, HasSubstr(R"(reason "\xff\x01"key")"));
  for (char c : loaded.error().message) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
}

// What the reader refuses, the writer never writes: the CA would stop at its next start.
TEST_F(FileStateStoreTest, AppendRefusesWhatTheReaderWouldRefuse) {
  EXPECT_FALSE(store->appendIssued(ca, {"0A", 1, kT0, "a"}).ok());
  EXPECT_FALSE(store->appendIssued(ca, {"ab", 1, kT0, "a"}).ok());
  EXPECT_FALSE(store->appendIssued(ca, {"AB", 0, kT0, "a"}).ok());
  EXPECT_FALSE(store->appendRevocation(ca, {"0A", kT0, pki::RevocationReason::Unspecified, std::nullopt}).ok());
  ASSERT_TRUE(store->appendIssued(ca, {"AB", 1, kT0, "tab\there\r\xc3\xa9"}).ok());
  auto ledger = unwrap(open()->loadLedger(ca));
  ASSERT_EQ(ledger.size(), 1u);
  EXPECT_EQ(ledger[0].subject, "tab_here___");
}

pki::SignedCrl signedCrl(const CaVersionRecord& version, std::uint64_t number) {
  pki::CrlRequest request;
  request.crlNumber = number;
  request.thisUpdate = kT0;
  request.nextUpdate = kT0 + kDay;
  return unwrap(pki::signCrl(request, unwrap(pki::Certificate::fromPem(version.certPem)),
                             unwrap(pki::PrivateKey::fromPem(version.keyPem))));
}

// Defect 2: crl-number lowered or deleted by hand.
TEST_F(FileStateStoreTest, CrlNumberNeverGoesBackWhenTheCrlNumberFileIsLoweredOrDeleted) {
  CaRecord record;
  record.versions = {caVersion(1), caVersion(2)};
  ASSERT_TRUE(store->saveCa(ca, record).ok());
  for (int i = 0; i < 6; ++i) unwrap(store->nextCrlNumber(ca));
  ASSERT_TRUE(store->saveCrl(ca, 1, signedCrl(record.versions[0], 5)).ok());
  ASSERT_TRUE(store->saveCrl(ca, 2, signedCrl(record.versions[1], 6)).ok());
  EXPECT_EQ(modeOf(caDir() + "/versions/2/crl.der"), 0644);

  ASSERT_TRUE(writeFileAtomically(caDir() + "/crl-number", "2\n").ok());
  EXPECT_EQ(unwrap(store->nextCrlNumber(ca)), 7u);
  ASSERT_TRUE(std::filesystem::remove(caDir() + "/crl-number"));
  EXPECT_EQ(unwrap(open()->nextCrlNumber(ca)), 7u);  // 7 was reserved, never signed
  ASSERT_TRUE(writeFileAtomically(caDir() + "/crl-number", "0\n").ok());
  ASSERT_TRUE(store->saveCrl(ca, 2, signedCrl(record.versions[1], 9)).ok());
  EXPECT_EQ(unwrap(store->nextCrlNumber(ca)), 10u);  // the saved one counts at once
  EXPECT_EQ(contentsOf(caDir() + "/crl-number"), "10\n");

  auto crls = unwrap(open()->loadCrls(ca));
  ASSERT_EQ(crls.size(), 2u);
  EXPECT_EQ(crls.at(1).crlNumber, 5u);
  EXPECT_EQ(crls.at(2).crlNumber, 9u);
  EXPECT_EQ(crls.at(2).thisUpdate, kT0);
  EXPECT_EQ(crls.at(2).nextUpdate, kT0 + kDay);
  EXPECT_THAT(crls.at(2).pem, HasSubstr("-----BEGIN X509 CRL-----"));

  for (std::string bad : {"-3\n", "07\n", " 7\n", "7\r\n", "7\n8\n", ""}) {
    ASSERT_TRUE(writeFileAtomically(caDir() + "/crl-number", bad).ok());
    EXPECT_FALSE(store->nextCrlNumber(ca).ok()) << bad;
  }
  ASSERT_TRUE(writeFileAtomically(caDir() + "/crl-number", "12\n").ok());
  ASSERT_TRUE(writeFileAtomically(caDir() + "/versions/1/crl.der", "not a CRL").ok());
  auto broken = open()->nextCrlNumber(ca);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.error().message, HasSubstr(caDir() + "/versions/1/crl.der"));
}

// Defect 4: a CRLF (an editor, a copy from Windows) must not make a new tenant.
TEST_F(FileStateStoreTest, TenantFileWithTrailingCrlfKeepsItsUuid) {
  const std::string uuid = "5a3e0c1d-7f2b-4c9e-8d41-0b6a2f1cab12";
  for (std::string ending : {"", "\n", "\r\n", "\r\n\r\n", " \n"}) {
    ASSERT_TRUE(writeFileAtomically(dir.file("state/tenants/default"), uuid + ending).ok());
    EXPECT_EQ(unwrap(open()->tenantUuid("default")), uuid);
    EXPECT_EQ(contentsOf(dir.file("state/tenants/default")), uuid + ending);  // never rewritten
  }
}

TEST_F(FileStateStoreTest, TenantFileThatIsNotExactlyAUuidIsAnErrorNeverANewUuid) {
  const std::string uuid = "5a3e0c1d-7f2b-4c9e-8d41-0b6a2f1cab12";
  for (std::string text : std::vector<std::string>{"", "\n", uuid.substr(1) + "\n", "5A3E0C1D-7F2B-4C9E-8D41-0B6A2F1CAB12\n",
                           " " + uuid + "\n", uuid + "x\n", uuid + "\n" + uuid + "\n", "5a3e0c1d+7f2b-4c9e-8d41-0b6a2f1cab12"}) {
    SCOPED_TRACE(text);
    ASSERT_TRUE(writeFileAtomically(dir.file("state/tenants/default"), text).ok());
    auto loaded = open()->tenantUuid("default");
    ASSERT_FALSE(loaded.ok());
    EXPECT_THAT(loaded.error().message, HasSubstr(dir.file("state/tenants/default")));
    EXPECT_THAT(loaded.error().message, HasSubstr("restore the UUID from a backup"));
    EXPECT_EQ(contentsOf(dir.file("state/tenants/default")), text);
  }
}

// Defect 5: a new key under the old name would be a different CA.
TEST_F(CaOnFileStateTest, MissingCaKeyStopsTheCaAndNothingIsMadeAgain) {
  issueAndRevoke();
  std::string version1 = caDir() + "/versions/1";
  std::string cert = contentsOf(version1 + "/cert.pem");
  ASSERT_TRUE(std::filesystem::remove(version1 + "/key.pem"));

  Restart run(dir.file("state"));
  auto result = reconcile(run);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr(version1 + "/key.pem is missing"));
  EXPECT_THAT(result.error().message, HasSubstr("restore it from a backup"));
  EXPECT_FALSE(run.registry.hasAuthority(ca));
  EXPECT_FALSE(std::filesystem::exists(version1 + "/key.pem"));
  EXPECT_FALSE(std::filesystem::exists(caDir() + "/versions/2"));
  EXPECT_EQ(contentsOf(version1 + "/cert.pem"), cert);
  // The responder still serves the CRL version 1 signed last.
  auto served = run.registry.crl(unwrap(run.store->tenantUuid("default")), "mqtt-ca", "1");
  ASSERT_TRUE(served.has_value());
  EXPECT_EQ(*served->der, contentsOf(version1 + "/crl.der"));
}

TEST_F(FileStateStoreTest, CaKeyThatDoesNotBelongToItsCertificateIsAnError) {
  CaRecord record;
  record.versions = {caVersion(1)};
  ASSERT_TRUE(store->saveCa(ca, record).ok());
  ASSERT_TRUE(writeFileAtomically(caDir() + "/versions/1/key.pem", caVersion(2).keyPem, kKeyFile).ok());
  auto loaded = store->loadCa(ca);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error().message, HasSubstr(caDir() + "/versions/1/key.pem does not belong to"));
  EXPECT_THAT(loaded.error().message, Not(HasSubstr("PRIVATE KEY")));

  ASSERT_TRUE(writeFileAtomically(caDir() + "/versions/1/key.pem", "garbage", kKeyFile).ok());
  loaded = store->loadCa(ca);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error().message, HasSubstr("key.pem is not a PEM private key"));
}

TEST_F(FileStateStoreTest, VersionsEntryThatIsNotAVersionNumberIsAnError) {
  CaRecord record;
  record.versions = {caVersion(1)};
  ASSERT_TRUE(store->saveCa(ca, record).ok());
  for (std::string name : {"2.bak", "01", "0", "old"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(makeDirectories(caDir() + "/versions/" + name).ok());
    auto loaded = store->loadCa(ca);
    ASSERT_FALSE(loaded.ok());
    EXPECT_THAT(loaded.error().message, HasSubstr("\"" + name + "\", which is not a CA version"));
    std::filesystem::remove(caDir() + "/versions/" + name);
  }
  ASSERT_TRUE(writeFileAtomically(caDir() + "/versions/3", "a file").ok());
  auto loaded = store->loadCa(ca);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error().message, HasSubstr(caDir() + "/versions/3 is not a directory"));
}

TEST_F(FileStateStoreTest, CaHistoryWithoutAnyVersionIsAnErrorNotANewCa) {
  // Revocations may be declared before their CA is: not yet a history.
  ASSERT_TRUE(store->appendRevocation(ca, {"AB", kT0, pki::RevocationReason::Unspecified, std::nullopt}).ok());
  EXPECT_FALSE(unwrap(store->loadCa(ca)).has_value());
  ASSERT_TRUE(store->appendIssued(ca, {"AB", 1, kT0, "a"}).ok());
  auto loaded = store->loadCa(ca);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error().message, HasSubstr(caDir() + "/ledger is there but no CA version"));
  // A key alone is a version that never finished: still no version.
  ASSERT_TRUE(makeDirectories(caDir() + "/versions/1").ok());
  ASSERT_TRUE(writeFileAtomically(caDir() + "/versions/1/key.pem", caVersion(1).keyPem, kKeyFile).ok());
  EXPECT_FALSE(store->loadCa(ca).ok());
}

// Defect 6: json.value() throws on a field of another type; a hand edit must not crash revoca.
TEST_F(FileStateStoreTest, SecretFieldOfTheWrongTypeIsAnErrorNamingTheFieldNotACrash) {
  ObjectKey secret{"default", "server-cert"};
  const std::string path = dir.file("state/secrets/default/server-cert.json");
  SecretRecord record{"CERT PEM\n", "KEY PEM\n", "A1B", "mqtt-ca", 2, kT0, kT0 + 30 * kDay, 7, {}, {}};
  ASSERT_TRUE(store->saveSecret(secret, record).ok());
  const std::pair<std::string, nlohmann::json> cases[] = {
      {"caVersion", "2"},      {"caVersion", 2.5},        {"caVersion", 0},       {"caVersion", 1ll << 40},
      {"notBefore", "yesterday"}, {"notAfter", nullptr}, {"specGeneration", 18446744073709551615ull},
      {"cert", 1},             {"key", nlohmann::json::array()}, {"serial", false}, {"issuingCa", nlohmann::json::object()},
  };
  for (const auto& [field, value] : cases) {
    SCOPED_TRACE(field + " = " + value.dump());
    auto json = nlohmann::json::parse(contentsOf(path));
    json[field] = value;
    std::string edited = json.dump();
    ASSERT_TRUE(store->saveSecret(secret, record).ok());
    ASSERT_TRUE(writeFileAtomically(path, edited).ok());
    auto loaded = open()->loadSecret(secret);
    ASSERT_FALSE(loaded.ok());
    EXPECT_THAT(loaded.error().message, HasSubstr(path + ": field \"" + field + "\""));
    EXPECT_THAT(loaded.error().message, Not(HasSubstr("KEY PEM")));
    ASSERT_TRUE(store->saveSecret(secret, record).ok());
  }
  auto json = nlohmann::json::parse(contentsOf(path));
  json.erase("key");
  ASSERT_TRUE(writeFileAtomically(path, json.dump()).ok());
  auto loaded = store->loadSecret(secret);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error().message, HasSubstr("field \"key\" is missing"));
}

}  // namespace
}  // namespace revoca
