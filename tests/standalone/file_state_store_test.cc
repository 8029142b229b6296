#include "standalone/file_state_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>

#include "core/atomic_file.h"
#include "pki/certificate.h"
#include "tests/standalone/temp_dir.h"

namespace revoca {
namespace {

using ::testing::HasSubstr;
using testing::appendRaw;
using testing::modeOf;
using testing::slurp;
using testing::TempDir;

template <typename T>
T unwrap(Result<T> result) {
  if (!result) throw std::runtime_error(result.error().message);
  return std::move(result).value();
}

const TimePoint kT0 = std::chrono::time_point_cast<Seconds>(std::chrono::system_clock::now());
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
  return CaVersionRecord{version, cert.toPem(), key.toPem(), cert.notBefore(), cert.notAfter()};
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
  EXPECT_EQ(slurp(dir.file("state/tenants/default")), uuid + "\n");
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
  EXPECT_EQ(slurp(caDir() + "/crl-number"), "3\n");
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
  ASSERT_TRUE(store->appendIssued(ca, {"0A1B", 1, kT0 + kDay, "mqtt.emqx.internal"}).ok());
  ASSERT_TRUE(store->appendIssued(ca, {"FF", 2, kT0 + 2 * kDay, "a name with spaces"}).ok());
  ASSERT_TRUE(store->appendIssued(ca, {"01", 2, kT0, ""}).ok());
  auto ledger = unwrap(open()->loadLedger(ca));
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[0].serialHex, "0A1B");
  EXPECT_EQ(ledger[0].caVersion, 1);
  EXPECT_EQ(ledger[0].notAfter, kT0 + kDay);
  EXPECT_EQ(ledger[0].subject, "mqtt.emqx.internal");
  EXPECT_EQ(ledger[1].caVersion, 2);
  EXPECT_EQ(ledger[1].subject, "a_name_with_spaces");  // one field a line
  EXPECT_EQ(ledger[2].subject, "-");
  EXPECT_EQ(modeOf(caDir() + "/ledger"), 0600);
}

TEST_F(FileStateStoreTest, TornLastLedgerLineIsSkippedAndRepaired) {
  ASSERT_TRUE(store->appendIssued(ca, {"0A", 1, kT0, "a"}).ok());
  ASSERT_TRUE(store->appendIssued(ca, {"0B", 1, kT0, "b"}).ok());
  std::string intact = slurp(caDir() + "/ledger");
  appendRaw(caDir() + "/ledger", "0C 1 17");  // a crash mid-append

  auto reopened = open();
  auto ledger = unwrap(reopened->loadLedger(ca));
  ASSERT_EQ(ledger.size(), 2u);
  EXPECT_EQ(ledger[1].serialHex, "0B");
  EXPECT_EQ(slurp(caDir() + "/ledger"), intact);  // cut off

  ASSERT_TRUE(reopened->appendIssued(ca, {"0D", 1, kT0, "d"}).ok());
  ledger = unwrap(open()->loadLedger(ca));
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[2].serialHex, "0D");
  EXPECT_EQ(ledger[2].subject, "d");
}

// The lines are split by hand, not by a stream: the same fields as before.
TEST_F(FileStateStoreTest, LedgerAndRevocationLinesToleratePeopleEditingThem) {
  ASSERT_TRUE(makeDirectories(caDir()).ok());
  appendRaw(caDir() + "/ledger",
            "0A 1 17 a\n\n  0B\t2   18  b extra\r\n0C x 19 c\n0D 1 20\n0E 1\n0F 1 2x f\n");
  auto ledger = unwrap(store->loadLedger(ca));
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[0].serialHex, "0A");
  EXPECT_EQ(ledger[0].notAfter, fromUnixSeconds(17));
  EXPECT_EQ(ledger[1].serialHex, "0B");
  EXPECT_EQ(ledger[1].caVersion, 2);
  EXPECT_EQ(ledger[1].subject, "b");
  EXPECT_EQ(ledger[2].serialHex, "0D");
  EXPECT_EQ(ledger[2].subject, "");

  appendRaw(caDir() + "/revocations",
            "0A 5 keyCompromise -\n0B 6 superseded\n0C 7 noSuchReason -\n 0D  8  superseded  9 \n0E -1x unspecified -\n");
  auto revocations = unwrap(store->loadRevocations(ca));
  ASSERT_EQ(revocations.size(), 2u);
  EXPECT_EQ(revocations[0].serialHex, "0A");
  EXPECT_EQ(revocations[0].revokedAt, fromUnixSeconds(5));
  EXPECT_EQ(revocations[1].serialHex, "0D");
  EXPECT_EQ(revocations[1].reason, pki::RevocationReason::Superseded);
  EXPECT_EQ(revocations[1].invalidityDate, fromUnixSeconds(9));
}

TEST_F(FileStateStoreTest, LedgerWithOnlyATornLineIsEmpty) {
  ASSERT_TRUE(makeDirectories(caDir()).ok());
  appendRaw(caDir() + "/ledger", "0C 1");
  EXPECT_TRUE(unwrap(store->loadLedger(ca)).empty());
  EXPECT_EQ(slurp(caDir() + "/ledger"), "");
  ASSERT_TRUE(store->appendIssued(ca, {"0E", 3, kT0, "e"}).ok());
  auto ledger = unwrap(store->loadLedger(ca));
  ASSERT_EQ(ledger.size(), 1u);
  EXPECT_EQ(ledger[0].caVersion, 3);
}

TEST_F(FileStateStoreTest, RevocationsRoundTripAndSurviveATornLine) {
  EXPECT_TRUE(unwrap(store->loadRevocations(ca)).empty());
  ASSERT_TRUE(store->appendRevocation(ca, {"0A", kT0, pki::RevocationReason::KeyCompromise, std::nullopt}).ok());
  ASSERT_TRUE(store->appendRevocation(ca, {"0B", kT0 + Seconds(5), pki::RevocationReason::Superseded, kT0 - kDay}).ok());
  appendRaw(caDir() + "/revocations", "0C 123 keyCompro");
  auto revocations = unwrap(open()->loadRevocations(ca));
  ASSERT_EQ(revocations.size(), 2u);
  EXPECT_EQ(revocations[0].serialHex, "0A");
  EXPECT_EQ(revocations[0].revokedAt, kT0);
  EXPECT_EQ(revocations[0].reason, pki::RevocationReason::KeyCompromise);
  EXPECT_FALSE(revocations[0].invalidityDate.has_value());
  EXPECT_EQ(revocations[1].reason, pki::RevocationReason::Superseded);
  EXPECT_EQ(revocations[1].invalidityDate, kT0 - kDay);
  ASSERT_TRUE(store->appendRevocation(ca, {"0D", kT0, pki::RevocationReason::Unspecified, std::nullopt}).ok());
  revocations = unwrap(store->loadRevocations(ca));
  ASSERT_EQ(revocations.size(), 3u);
  EXPECT_EQ(revocations[2].serialHex, "0D");
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

}  // namespace
}  // namespace revoca
