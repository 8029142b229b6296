#include "kubernetes/secret_state_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "kube/config_files.h"
#include "kubernetes/names.h"
#include "tests/kube/cluster_fixture.h"

namespace revoca::kubernetes {
namespace {

using ::testing::ElementsAre;

IssuedCertificate issued(int n) {
  return {"0A0B" + std::to_string(1000 + n), 1, fromUnixSeconds(1800000000 + n), "client " + std::to_string(n)};
}

TEST(SecretStateStoreLines, LedgerLinesKeepSubjectsWithSpaces) {
  auto line = ledgerLine({"ABCD", 3, fromUnixSeconds(1800000000), "mqtt client 7"});
  auto parsed = parseLedgerLine(line);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->serialHex, "ABCD");
  EXPECT_EQ(parsed->caVersion, 3);
  EXPECT_EQ(toUnixSeconds(parsed->notAfter), 1800000000);
  EXPECT_EQ(parsed->subject, "mqtt client 7");
  EXPECT_FALSE(parseLedgerLine("not a ledger line"));
}

TEST(SecretStateStoreLines, RevocationLinesKeepReasonAndInvalidityDate) {
  Revocation revocation{"ABCD", fromUnixSeconds(1800000000), pki::RevocationReason::KeyCompromise,
                        fromUnixSeconds(1790000000)};
  auto parsed = parseRevocationLine(revocationLine(revocation));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->reason, pki::RevocationReason::KeyCompromise);
  ASSERT_TRUE(parsed->invalidityDate);
  EXPECT_EQ(toUnixSeconds(*parsed->invalidityDate), 1790000000);
  revocation.invalidityDate.reset();
  EXPECT_FALSE(parseRevocationLine(revocationLine(revocation))->invalidityDate);
}

class SecretStateStoreIntegration : public kube::testing::ClusterTest {
 protected:
  ObjectKey ca() const { return {namespace_, "mqtt-ca"}; }
};

TEST_F(SecretStateStoreIntegration, TheTenantUuidIsTheNamespaceUid) {
  SecretStateStore store(*client_);
  auto ns = client_->get(namespaces(namespace_));
  ASSERT_TRUE(ns.ok());
  auto uuid = store.tenantUuid(namespace_);
  ASSERT_TRUE(uuid) << uuid.error().message;
  EXPECT_EQ(*uuid, (*ns.value)["metadata"]["uid"].get<std::string>());
}

TEST_F(SecretStateStoreIntegration, CaVersionsAndCrlNumbersSurviveARestart) {
  CaRecord record;
  record.versions.push_back({1, "CERT ONE", "KEY ONE", fromUnixSeconds(1700000000), fromUnixSeconds(1800000000)});
  record.versions.push_back({2, "CERT TWO", "KEY TWO", fromUnixSeconds(1750000000), fromUnixSeconds(1850000000)});
  {
    SecretStateStore store(*client_);
    ASSERT_TRUE(store.saveCa(ca(), record));
    EXPECT_EQ(*store.nextCrlNumber(ca()), 1u);
    EXPECT_EQ(*store.nextCrlNumber(ca()), 2u);
  }
  SecretStateStore restarted(*client_);
  auto loaded = restarted.loadCa(ca());
  ASSERT_TRUE(loaded && *loaded);
  ASSERT_EQ((*loaded)->versions.size(), 2u);
  EXPECT_EQ((*loaded)->versions[1].keyPem, "KEY TWO");
  EXPECT_EQ(toUnixSeconds((*loaded)->versions[1].notAfter), 1850000000);
  EXPECT_EQ(*restarted.currentCrlNumber(ca()), 2u);
  EXPECT_EQ(*restarted.nextCrlNumber(ca()), 3u);  // only grows

  auto secret = client_->get(secrets(namespace_, "revoca-ca-mqtt-ca"));
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ((*secret.value)["metadata"]["labels"][kStateLabel], "ca");
  EXPECT_EQ((*secret.value)["metadata"]["labels"][kManagedByLabel], "revoca");
  EXPECT_FALSE((*secret.value)["metadata"].contains("ownerReferences"));  // a deleted CA never takes its key along
}

TEST_F(SecretStateStoreIntegration, LedgersAreChunkedInOrderAndReadBackWhole) {
  SecretStateStore store(*client_, 3);
  for (int n = 0; n < 10; ++n) ASSERT_TRUE(store.appendIssued(ca(), issued(n)));
  kube::ListOptions options;
  options.labelSelector = std::string(kStateLabel) + "=ledger";
  auto chunks = client_->list(secrets(namespace_), options);
  ASSERT_TRUE(chunks.ok());
  EXPECT_EQ((*chunks.value)["items"].size(), 4u);  // 3 + 3 + 3 + 1

  SecretStateStore restarted(*client_, 3);
  auto ledger = restarted.loadLedger(ca());
  ASSERT_TRUE(ledger);
  ASSERT_EQ(ledger->size(), 10u);
  for (int n = 0; n < 10; ++n) EXPECT_EQ((*ledger)[n].serialHex, issued(n).serialHex);
  EXPECT_EQ((*ledger)[9].subject, "client 9");
}

TEST_F(SecretStateStoreIntegration, TwoWritersAppendingAtOnceLoseNothing) {
  // The leader and revocactl both append to a CA's ledger: 409s are retried.
  SecretStateStore leader(*client_, 5);
  SecretStateStore revocactl(*client_, 5);
  ASSERT_TRUE(leader.loadLedger(ca()));
  ASSERT_TRUE(revocactl.loadLedger(ca()));
  std::thread other([&] {
    for (int n = 100; n < 120; ++n) EXPECT_TRUE(revocactl.appendIssued(ca(), issued(n)));
  });
  for (int n = 0; n < 20; ++n) EXPECT_TRUE(leader.appendIssued(ca(), issued(n)));
  other.join();
  SecretStateStore reader(*client_, 5);
  auto ledger = reader.loadLedger(ca());
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->size(), 40u);
}

TEST_F(SecretStateStoreIntegration, RevocationsAndVaultSecretRecordsRoundTrip) {
  SecretStateStore store(*client_);
  ASSERT_TRUE(store.appendRevocation(ca(), {"ABCD", fromUnixSeconds(1800000000), pki::RevocationReason::Superseded,
                                            std::nullopt}));
  SecretRecord record;
  record.certPem = "CERT";
  record.keyPem = "KEY";
  record.serialHex = "ABCD";
  record.issuingCa = "mqtt-ca";
  record.caVersion = 2;
  record.notBefore = fromUnixSeconds(1700000000);
  record.notAfter = fromUnixSeconds(1800000000);
  record.specGeneration = 4;
  ASSERT_TRUE(store.saveSecret({namespace_, "server-cert"}, record));

  SecretStateStore restarted(*client_);
  auto revocations = restarted.loadRevocations(ca());
  ASSERT_TRUE(revocations);
  ASSERT_EQ(revocations->size(), 1u);
  EXPECT_EQ((*revocations)[0].reason, pki::RevocationReason::Superseded);
  auto loaded = restarted.loadSecret({namespace_, "server-cert"});
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ((*loaded)->keyPem, "KEY");
  EXPECT_EQ((*loaded)->caVersion, 2);
  EXPECT_EQ((*loaded)->specGeneration, 4);
  EXPECT_FALSE(*restarted.loadSecret({namespace_, "never-issued"}));
}

TEST(SecretStateStoreLines, AFullChunkOfTheDefaultSizeStaysFarBelowTheSecretLimit) {
  // 4,000 entries of the longest realistic line: the chunk 100,000 serials need 25 of.
  std::string entries;
  IssuedCertificate longest{std::string(40, 'F'), 99, fromUnixSeconds(4102444800), std::string(64, 'c')};
  for (int n = 0; n < 4000; ++n) entries += ledgerLine(longest) + "\n";
  std::size_t encoded = kube::encodeBase64(entries).size();
  EXPECT_LT(encoded, 1024u * 1024u) << "a Secret holds at most 1 MiB";
  EXPECT_LT(encoded, 1536u * 1024u / 2) << "and etcd takes requests of at most 1.5 MiB";
}

}  // namespace
}  // namespace revoca::kubernetes
