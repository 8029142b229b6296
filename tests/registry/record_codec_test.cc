#include "registry/record_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include <nlohmann/json.hpp>

namespace revoca {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// ---- what the previous release wrote, byte for byte (both stores, run on
// the same records: subjects with spaces, none, line breaks, tabs and UTF-8;
// every reason; a chain and a key)

const char kSecretLedger[] =
    "4F0A01 2 1800000000 client-1.mqtt.example.com\n"
    "4F0A01 2 1800000000  mqtt  client 7\n"
    "4F0A01 2 1800000000 \n"
    "4F0A01 2 1800000000 evil FFFF 1 1 forged \n"
    "4F0A01 2 1800000000 tab\there\n"
    "4F0A01 2 1800000000 caf\xc3\xa9\n"
    "4F0A01 2 1800000000 -\n"
    "4F0A01 2 1800000000 a_b\n";
const char kFileLedger[] =
    "4F0A01 2 1800000000 client-1.mqtt.example.com\n"
    "4F0A01 2 1800000000 _mqtt__client_7\n"
    "4F0A01 2 1800000000 -\n"
    "4F0A01 2 1800000000 evil_FFFF_1_1_forged_\n"
    "4F0A01 2 1800000000 tab_here\n"
    "4F0A01 2 1800000000 caf__\n"
    "4F0A01 2 1800000000 -\n"
    "4F0A01 2 1800000000 a_b\n";
// The subjects both were given.
const char* const kSubjects[] = {"client-1.mqtt.example.com", " mqtt  client 7", "", "evil\nFFFF 1 1 forged\r",
                                 "tab\there", "caf\xc3\xa9", "-", "a_b"};

const char kSecretRevocations[] =
    "4F0A01 1800000000 1 1790000000\n"
    "A0 1800000100 0 -\nA1 1800000100 1 -\nA2 1800000100 2 -\nA3 1800000100 3 -\nA4 1800000100 4 -\n"
    "A5 1800000100 5 -\nA6 1800000100 6 -\nA8 1800000100 8 -\nA9 1800000100 9 -\nA10 1800000100 10 -\n";
const char kFileRevocations[] =
    "4F0A01 1800000000 keyCompromise 1790000000\n"
    "A0 1800000100 unspecified -\nA1 1800000100 keyCompromise -\nA2 1800000100 cACompromise -\n"
    "A3 1800000100 affiliationChanged -\nA4 1800000100 superseded -\nA5 1800000100 cessationOfOperation -\n"
    "A6 1800000100 certificateHold -\nA8 1800000100 removeFromCRL -\nA9 1800000100 privilegeWithdrawn -\n"
    "A10 1800000100 aACompromise -\n";

const char kSecretVersionsJson[] =
    "[{\"certPem\":\"-----BEGIN CERTIFICATE-----\\nMIIB1\\n-----END CERTIFICATE-----\\n\",\"keyPem\":\"-----BEGIN "
    "PRIVATE KEY-----\\nKEY1\\n-----END PRIVATE "
    "KEY-----\\n\",\"notAfter\":1800000000,\"notBefore\":1700000000,\"version\":1},{\"certPem\":\"-----BEGIN "
    "CERTIFICATE-----\\nMIIB2\\n-----END CERTIFICATE-----\\n\",\"crlDistUrls\":[\"http://revoca.internal:4664/"
    "crl-pem/ns/mqtt-ca/2\",\"http://b/c\"],\"keyPem\":\"-----BEGIN PRIVATE KEY-----\\nKEY2\\n-----END PRIVATE "
    "KEY-----\\n\",\"notAfter\":1850000000,\"notBefore\":1750000000,\"version\":2}]";
const char kSecretCrlNumber[] = "1700000000000";
const char kSecretCrlStamps[] =
    "2 1700000000000 1700000000 1700086400 7421c576a5fa7b68aa91868a30530bcb3f0de51bf2e8d759fbae5a4dc7ba21c6\n";
const char kSecretRecordJson[] =
    "{\"caVersion\":2,\"issuingCa\":\"mqtt-ca\",\"notAfter\":1731536000,\"notBefore\":1700000000,\"serialHex\":"
    "\"4F0A01\",\"specGeneration\":7}";

const char kFileCrlNumber[] = "2\n";
const char kFileCrlDistUrls[] = "http://revoca.internal:4664/crl-pem/ns/mqtt-ca/1\nhttp://b/c\n";
const char kFileTenant[] = "eb88057f-c894-4655-ae13-dcedca055421\n";
const char kFileSecretJson[] =
    "{\"caVersion\":2,\"cert\":\"-----BEGIN CERTIFICATE-----\\nLEAF\\n-----END CERTIFICATE-----\\n-----BEGIN "
    "CERTIFICATE-----\\nMIIB2\\n-----END CERTIFICATE-----\\n\",\"issuingCa\":\"mqtt-ca\",\"key\":\"-----BEGIN PRIVATE "
    "KEY-----\\nLEAFKEY\\n-----END PRIVATE "
    "KEY-----\\n\",\"notAfter\":1731536000,\"notBefore\":1700000000,\"serial\":\"4F0A01\",\"specGeneration\":7}";

const char kLeafChain[] =
    "-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIB2\n-----END "
    "CERTIFICATE-----\n";
const char kLeafKey[] = "-----BEGIN PRIVATE KEY-----\nLEAFKEY\n-----END PRIVATE KEY-----\n";

template <typename T>
T unwrap(Result<T> result) {
  EXPECT_TRUE(result) << result.error().message;
  return std::move(result).value();
}

std::vector<std::string> subjectsOf(const std::vector<IssuedCertificate>& ledger) {
  std::vector<std::string> subjects;
  for (const auto& issued : ledger) {
    EXPECT_EQ(issued.serialHex, "4F0A01");
    EXPECT_EQ(issued.caVersion, 2);
    EXPECT_EQ(issued.notAfter, fromUnixSeconds(1800000000));
    subjects.push_back(issued.subject);
  }
  return subjects;
}

std::vector<Revocation> expectedRevocations() {
  std::vector<Revocation> revocations{
      {"4F0A01", fromUnixSeconds(1800000000), pki::RevocationReason::KeyCompromise, fromUnixSeconds(1790000000)}};
  for (int reason : {0, 1, 2, 3, 4, 5, 6, 8, 9, 10})
    revocations.push_back({"A" + std::to_string(reason), fromUnixSeconds(1800000100),
                           static_cast<pki::RevocationReason>(reason), std::nullopt});
  return revocations;
}

void expectSameRevocations(const std::vector<Revocation>& read, const std::vector<Revocation>& expected) {
  ASSERT_EQ(read.size(), expected.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    SCOPED_TRACE(expected[i].serialHex);
    EXPECT_EQ(read[i].serialHex, expected[i].serialHex);
    EXPECT_EQ(read[i].revokedAt, expected[i].revokedAt);
    EXPECT_EQ(read[i].reason, expected[i].reason);
    EXPECT_EQ(read[i].invalidityDate, expected[i].invalidityDate);
  }
}

void expectLeafRecord(const SecretRecord& record, bool withPems) {
  EXPECT_EQ(record.certPem, withPems ? kLeafChain : "");
  EXPECT_EQ(record.keyPem, withPems ? kLeafKey : "");
  EXPECT_EQ(record.serialHex, "4F0A01");
  EXPECT_EQ(record.issuingCa, "mqtt-ca");
  EXPECT_EQ(record.caVersion, 2);
  EXPECT_EQ(record.notBefore, fromUnixSeconds(1700000000));
  EXPECT_EQ(record.notAfter, fromUnixSeconds(1731536000));
  EXPECT_EQ(record.specGeneration, 7);
}

SecretRecord leafRecord() {
  return {kLeafChain, kLeafKey, "4F0A01", "mqtt-ca", 2, fromUnixSeconds(1700000000), fromUnixSeconds(1731536000),
          7,          {},       {}};
}

// ---- the previous release's state reads back unchanged

TEST(RecordCodecPreviousRelease, SecretLedgerChunksKeepTheirSubjectsVerbatim) {
  auto ledger = unwrap(decodeLedgerLines(kSecretLedger, Store::Secrets, "data.entries"));
  EXPECT_THAT(subjectsOf(ledger), ::testing::ElementsAre("client-1.mqtt.example.com", " mqtt  client 7", "",
                                                         "evil FFFF 1 1 forged ", "tab\there", "caf\xc3\xa9", "-",
                                                         "a_b"));
}

TEST(RecordCodecPreviousRelease, FileLedgersReadAsTheyWereWritten) {
  auto ledger = unwrap(decodeLedgerLines(kFileLedger, Store::Files, "ledger"));
  EXPECT_THAT(subjectsOf(ledger),
              ::testing::ElementsAre("client-1.mqtt.example.com", "_mqtt__client_7", "-", "evil_FFFF_1_1_forged_",
                                     "tab_here", "caf__", "-", "a_b"));
  // The file store's lines are canonical: a Secret reads them the same.
  EXPECT_THAT(subjectsOf(unwrap(decodeLedgerLines(kFileLedger, Store::Secrets, "data.entries"))),
              ::testing::ElementsAreArray(subjectsOf(ledger)));
}

TEST(RecordCodecPreviousRelease, RevocationsReadWithTheirReasonsCodesOrNames) {
  expectSameRevocations(unwrap(decodeRevocationLines(kSecretRevocations, Store::Secrets, "data.entries")),
                        expectedRevocations());
  expectSameRevocations(unwrap(decodeRevocationLines(kFileRevocations, Store::Files, "revocations")),
                        expectedRevocations());
  // Codes are canonical: a file reads the Secret store's lines too.
  expectSameRevocations(unwrap(decodeRevocationLines(kSecretRevocations, Store::Files, "revocations")),
                        expectedRevocations());
}

TEST(RecordCodecPreviousRelease, CaVersionsReadWithAndWithoutTheirCrlDistributionPoints) {
  auto record = unwrap(decodeCaVersions(kSecretVersionsJson));
  ASSERT_EQ(record.versions.size(), 2u);
  const CaVersionRecord& one = record.versions[0];
  EXPECT_EQ(one.version, 1);
  EXPECT_EQ(one.certPem, "-----BEGIN CERTIFICATE-----\nMIIB1\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(one.keyPem, "-----BEGIN PRIVATE KEY-----\nKEY1\n-----END PRIVATE KEY-----\n");
  EXPECT_EQ(one.notBefore, fromUnixSeconds(1700000000));
  EXPECT_EQ(one.notAfter, fromUnixSeconds(1800000000));
  EXPECT_FALSE(one.crlDistUrls.has_value());
  EXPECT_EQ(record.versions[1].version, 2);
  EXPECT_EQ(record.versions[1].crlDistUrls,
            (std::vector<std::string>{"http://revoca.internal:4664/crl-pem/ns/mqtt-ca/2", "http://b/c"}));
  EXPECT_EQ(unwrap(decodeCrlDistUrls(kFileCrlDistUrls, "crl-dist-urls")),
            (std::vector<std::string>{"http://revoca.internal:4664/crl-pem/ns/mqtt-ca/1", "http://b/c"}));
}

TEST(RecordCodecPreviousRelease, CrlNumbersStampsAndTenants) {
  EXPECT_EQ(unwrap(decodeCrlNumber(kSecretCrlNumber, Store::Secrets)), 1700000000000u);
  EXPECT_EQ(unwrap(decodeCrlNumber(kFileCrlNumber, Store::Files)), 2u);
  auto stamps = unwrap(decodeCrlStamps(kSecretCrlStamps));
  ASSERT_EQ(stamps.size(), 1u);
  EXPECT_EQ(stamps.at(2), (CrlStamp{1700000000000u, fromUnixSeconds(1700000000), fromUnixSeconds(1700086400),
                                    pki::sha256("A 1 0 -")}));
  EXPECT_EQ(unwrap(decodeTenantUuid(kFileTenant)), "eb88057f-c894-4655-ae13-dcedca055421");
}

TEST(RecordCodecPreviousRelease, VaultSecretRecordsUnderEitherNameOfTheSerial) {
  expectLeafRecord(unwrap(decodeSecretRecordDocument(kFileSecretJson, "server-cert.json")), true);
  expectLeafRecord(unwrap(decodeSecretRecordFields(kSecretRecordJson, "record.json")), false);
}

// ---- what is written now

TEST(RecordCodecCanonical, LedgerLinesAreTheFileStoresSubjectAsOneWord) {
  std::string lines;
  for (const char* subject : kSubjects)
    lines += encodeLedgerLine({"4F0A01", 2, fromUnixSeconds(1800000000), subject}) + "\n";
  EXPECT_EQ(lines, kFileLedger);
}

TEST(RecordCodecCanonical, RevocationLinesCarryTheReasonCode) {
  std::string lines;
  for (const auto& revocation : expectedRevocations()) lines += encodeRevocationLine(revocation) + "\n";
  EXPECT_EQ(lines, kSecretRevocations);
}

TEST(RecordCodecCanonical, TheSecretStoresRecordsAreWrittenAsBefore) {
  CaRecord record = unwrap(decodeCaVersions(kSecretVersionsJson));
  EXPECT_EQ(encodeCaVersions(record), kSecretVersionsJson);
  EXPECT_EQ(encodeCrlStamps(unwrap(decodeCrlStamps(kSecretCrlStamps))), kSecretCrlStamps);
  EXPECT_EQ(encodeSecretRecordFields(leafRecord()), kSecretRecordJson);
  EXPECT_EQ(encodeCaVersions({}), "[]");
}

TEST(RecordCodecCanonical, FilesGetTheSerialAsSecretsNameIt) {
  std::string document = encodeSecretRecordDocument(leafRecord());
  auto fields = nlohmann::json::parse(document);
  EXPECT_EQ(fields["serialHex"], "4F0A01");
  EXPECT_FALSE(fields.contains("serial"));
  EXPECT_EQ(fields["cert"], kLeafChain);
  EXPECT_EQ(fields["key"], kLeafKey);
  fields.erase("cert");
  fields.erase("key");
  EXPECT_EQ(fields.dump(), kSecretRecordJson);
}

TEST(RecordCodecCanonical, CrlNumbersTenantsAndUrlsAsTheFileStoreWroteThem) {
  EXPECT_EQ(encodeCrlNumber(2), kFileCrlNumber);
  EXPECT_EQ(unwrap(decodeCrlNumber(encodeCrlNumber(1700000000000u), Store::Secrets)), 1700000000000u);
  EXPECT_EQ(encodeTenantUuid("eb88057f-c894-4655-ae13-dcedca055421"), kFileTenant);
  EXPECT_EQ(encodeCrlDistUrls({"http://revoca.internal:4664/crl-pem/ns/mqtt-ca/1", "http://b/c"}), kFileCrlDistUrls);
  EXPECT_EQ(encodeCrlDistUrls({}), "");
}

// ---- round trips, read back by both stores

TEST(RecordCodecRoundTrip, LedgerLines) {
  const IssuedCertificate ledger[] = {{"0", 1, fromUnixSeconds(0), "a"},
                                      {std::string(40, 'F'), 2147483647, fromUnixSeconds(-5), "x.y"},
                                      {"4F0A01", 3, fromUnixSeconds(4102444800), std::string(253, 'h')}};
  for (const IssuedCertificate& issued : ledger) {
    for (Store from : {Store::Files, Store::Secrets}) {
      auto read = unwrap(decodeLedgerLine(encodeLedgerLine(issued), from));
      EXPECT_EQ(read.serialHex, issued.serialHex);
      EXPECT_EQ(read.caVersion, issued.caVersion);
      EXPECT_EQ(read.notAfter, issued.notAfter);
      EXPECT_EQ(read.subject, issued.subject);
    }
  }
  // A line break never splits a line, whatever the subject holds.
  std::string line = encodeLedgerLine({"AB", 1, fromUnixSeconds(1), "evil\nFFFF 1 1 forged\r"});
  EXPECT_EQ(line, "AB 1 1 evil_FFFF_1_1_forged_");
}

TEST(RecordCodecRoundTrip, RevocationLines) {
  for (const auto& revocation : expectedRevocations())
    for (Store from : {Store::Files, Store::Secrets})
      expectSameRevocations({unwrap(decodeRevocationLine(encodeRevocationLine(revocation), from))}, {revocation});
  Revocation beforeEpoch{"1", fromUnixSeconds(-1), pki::RevocationReason::AaCompromise, fromUnixSeconds(-2)};
  expectSameRevocations({unwrap(decodeRevocationLine(encodeRevocationLine(beforeEpoch), Store::Files))},
                        {beforeEpoch});
}

TEST(RecordCodecRoundTrip, CaVersions) {
  CaRecord record;
  record.versions.push_back({3, "C3", "K3", fromUnixSeconds(3), fromUnixSeconds(4), std::vector<std::string>{}});
  record.versions.push_back({1, "C1", "K1", fromUnixSeconds(-1), fromUnixSeconds(2), std::nullopt});
  auto read = unwrap(decodeCaVersions(encodeCaVersions(record)));
  ASSERT_EQ(read.versions.size(), 2u);
  EXPECT_EQ(read.versions[0].version, 1);  // ascending
  EXPECT_EQ(read.versions[1].version, 3);
  EXPECT_EQ(read.versions[1].keyPem, "K3");
  EXPECT_EQ(read.versions[0].notBefore, fromUnixSeconds(-1));
  EXPECT_EQ(read.versions[1].crlDistUrls, std::optional(std::vector<std::string>{}));
  EXPECT_FALSE(read.versions[0].crlDistUrls);
}

TEST(RecordCodecRoundTrip, CrlNumbersAndStamps) {
  for (std::uint64_t number : {std::uint64_t{0}, std::uint64_t{7}, std::numeric_limits<std::uint64_t>::max()})
    for (Store from : {Store::Files, Store::Secrets})
      EXPECT_EQ(unwrap(decodeCrlNumber(encodeCrlNumber(number), from)), number);
  CrlStamps stamps;
  stamps[1] = {5, fromUnixSeconds(10), fromUnixSeconds(20), pki::sha256("")};
  stamps[4] = {6, fromUnixSeconds(11), fromUnixSeconds(21), pki::sha256("x")};
  EXPECT_EQ(unwrap(decodeCrlStamps(encodeCrlStamps(stamps))), stamps);
}

TEST(RecordCodecRoundTrip, VaultSecretRecordsAndTenants) {
  expectLeafRecord(unwrap(decodeSecretRecordDocument(encodeSecretRecordDocument(leafRecord()), "f")), true);
  expectLeafRecord(unwrap(decodeSecretRecordFields(encodeSecretRecordFields(leafRecord()), "r")), false);
  EXPECT_EQ(unwrap(decodeTenantUuid(encodeTenantUuid("5a3e0c1d-7f2b-4c9e-8d41-0b6a2f1cab12"))),
            "5a3e0c1d-7f2b-4c9e-8d41-0b6a2f1cab12");
}

// ---- read exactly: what neither store wrote is an error saying what is wrong

TEST(RecordCodecStrict, EachStoreTakesOnlyItsOwnPreviousForms) {
  // Reason names were only ever in files.
  auto named = decodeRevocationLine("AB 1700000000 keyCompromise -", Store::Secrets);
  ASSERT_FALSE(named);
  EXPECT_THAT(named.error().message, HasSubstr("the reason \"keyCompromise\" is not an RFC 5280 reason code"));
  // Subjects with spaces, or none, were only ever in Secrets.
  auto spaced = decodeLedgerLine("AB 1 1700000000 a name", Store::Files);
  ASSERT_FALSE(spaced);
  EXPECT_THAT(spaced.error().message, HasSubstr("has 5 fields"));
  EXPECT_FALSE(decodeLedgerLine("AB 1 1700000000", Store::Files));
  EXPECT_EQ(unwrap(decodeLedgerLine("AB 1 1700000000", Store::Secrets)).subject, "");
  // A CRL number with spaces around it only in a Secret.
  EXPECT_EQ(unwrap(decodeCrlNumber(" 012 \n", Store::Secrets)), 12u);
  for (const char* bad : {" 12\n", "012\n", "12\r\n", "12\n13\n", "", "-1\n"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(decodeCrlNumber(bad, Store::Files));
  }
  for (const char* bad : {"", " ", "twelve", "-1", "+1", "1 2", "18446744073709551616"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(decodeCrlNumber(bad, Store::Secrets));
  }
}

TEST(RecordCodecStrict, LinesNameTheLineAndWhatIsWrongWithIt) {
  for (Store from : {Store::Files, Store::Secrets}) {
    auto ledger = decodeLedgerLines("AB 1 1 a\nab 1 1 a\n", from, "the ledger");
    ASSERT_FALSE(ledger);
    EXPECT_THAT(ledger.error().message, HasSubstr("line 2 of the ledger: the serial \"ab\" is not written as"));
    auto revocations = decodeRevocationLines("AB 1 1 -\nAB 1 7 -\n", from, "the revocations");
    ASSERT_FALSE(revocations);
    EXPECT_THAT(revocations.error().message, HasSubstr("line 2 of the revocations: the reason \"7\""));
    for (const char* line : {"", "AB 1 x -", "AB 1 1 - extra", "AB 1 1 soon", "AB 01 1 -", "AB 1 1"}) {
      SCOPED_TRACE(line);
      EXPECT_FALSE(decodeRevocationLine(line, from));
    }
    for (const char* line : {"", "AB 0 1 a", "AB 1 +1 a", "AB 1", "0AB 1 1 a", " 1 1 a"}) {
      SCOPED_TRACE(line);
      EXPECT_FALSE(decodeLedgerLine(line, from));
    }
  }
  EXPECT_TRUE(decodeLedgerLines("", Store::Files, "empty"));
  EXPECT_FALSE(decodeLedgerLines("AB 1 1 a\n\nAB 1 1 a\n", Store::Secrets, "x"));  // an empty line is no line
}

// New in this release: one form, the canonical one, for both stores.
TEST(RecordCodecRoundTrip, CrlListingLines) {
  std::vector<CrlListing> listings{{"4F0A01", 1}, {"1", 1700000000123u}, {"AB", std::numeric_limits<std::uint64_t>::max()}};
  std::string text;
  for (const auto& listing : listings) text += encodeCrlListingLine(listing) + "\n";
  EXPECT_EQ(text, "4F0A01 1\n1 1700000000123\nAB 18446744073709551615\n");
  EXPECT_EQ(unwrap(decodeCrlListingLines(text, "first-crls")), listings);
  EXPECT_TRUE(unwrap(decodeCrlListingLines("", "first-crls")).empty());
}

TEST(RecordCodecStrict, CrlListingLinesNameTheLineAndWhatIsWrongWithIt) {
  auto wrongSerial = decodeCrlListingLines("AB 2\nab 3\n", "first-crls");
  ASSERT_FALSE(wrongSerial);
  EXPECT_THAT(wrongSerial.error().message, HasSubstr("line 2 of first-crls: the serial \"ab\" is not written as"));
  auto zero = decodeCrlListingLines("AB 0\n", "first-crls");
  ASSERT_FALSE(zero);
  EXPECT_THAT(zero.error().message, HasSubstr("line 1 of first-crls: the CRL number \"0\" is not a whole number"));
  auto extra = decodeCrlListingLines("AB 2 3\n", "first-crls");
  ASSERT_FALSE(extra);
  EXPECT_THAT(extra.error().message, HasSubstr("has 3 fields"));
  for (const char* line : {"\n", "AB\n", "AB 02\n", "AB -2\n", "AB  2\n", "AB 2\r\n", "AB 18446744073709551616\n"}) {
    SCOPED_TRACE(line);
    EXPECT_FALSE(decodeCrlListingLines(line, "first-crls"));
  }
}

TEST(RecordCodecStrict, AVaultSecretRecordWithTheSerialUnderBothNamesIsRefused) {
  auto both = nlohmann::json::parse(kFileSecretJson);
  both["serialHex"] = "4F0A02";
  auto read = decodeSecretRecordDocument(both.dump(), "/state/secrets/ns/server-cert.json");
  ASSERT_FALSE(read);
  EXPECT_THAT(read.error().message, HasSubstr("/state/secrets/ns/server-cert.json: field \"serial\""));
  // The Secret store never named it "serial".
  auto fields = nlohmann::json::parse(kSecretRecordJson);
  fields.erase("serialHex");
  fields["serial"] = "4F0A01";
  read = decodeSecretRecordFields(fields.dump(), "Secret ns/revoca-vs-x: record.json");
  ASSERT_FALSE(read);
  EXPECT_THAT(read.error().message, HasSubstr("Secret ns/revoca-vs-x: record.json field \"serialHex\" is missing"));
}

TEST(RecordCodecStrict, AnErrorNeverQuotesKeyMaterial) {
  auto document = nlohmann::json::parse(encodeSecretRecordDocument(leafRecord()));
  for (const char* field : {"caVersion", "notBefore", "issuingCa", "cert"}) {
    auto edited = document;
    edited[field] = nlohmann::json::array({kLeafKey});
    auto read = decodeSecretRecordDocument(edited.dump(), "f");
    ASSERT_FALSE(read) << field;
    EXPECT_THAT(read.error().message, HasSubstr(std::string("field \"") + field + "\""));
    EXPECT_THAT(read.error().message, Not(HasSubstr("LEAFKEY")));
  }
  auto versions = nlohmann::json::parse(kSecretVersionsJson);
  versions[1]["version"] = 1;
  auto twice = decodeCaVersions(versions.dump());
  ASSERT_FALSE(twice);
  EXPECT_THAT(twice.error().message, HasSubstr("versions.json holds version 1 twice"));
  versions[1]["keyPem"] = 7;
  auto notAString = decodeCaVersions(versions.dump());
  ASSERT_FALSE(notAString);
  EXPECT_THAT(notAString.error().message, HasSubstr("entry 2 of versions.json: \"keyPem\""));
  EXPECT_THAT(notAString.error().message, Not(HasSubstr("KEY1")));
}

}  // namespace
}  // namespace revoca
