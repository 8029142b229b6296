#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reconcilers/reconcilers.h"
#include "reconcilers/renewal.h"
#include "reconcilers/time_format.h"
#include "tests/reconcilers/fakes.h"
#include "testing/fake_clock.h"
#include "testing/unwrap.h"

namespace revoca {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Return;
using testing::FakeClock;
using testing::FakeStateStore;
using testing::kDay;
using testing::MockOutputSink;
using testing::nowSeconds;
using testing::RecordingOutputSink;
using testing::unwrap;

// What an output answers for the files it wrote.
const Result<std::optional<KeyFileAccess>> kWritten{std::optional<KeyFileAccess>{}};

const VaultSecretFacts& factsOf(const VaultSecretOutcome& outcome) {
  return std::get<VaultSecretFacts>(outcome.status.facts);
}

CertificateAuthority caDeclaration() {
  CertificateAuthority ca;
  ca.meta.name = "mqtt-ca";
  ca.spec.ttl = 365 * kDay;
  ca.spec.ocspResponderUrls = {"http://api.internal:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}"};
  return ca;
}

Vault vaultDeclaration(std::vector<std::string> deployments = {"emqx", "emqx-2"}) {
  Vault vault;
  vault.meta.name = "mqtt-vault";
  vault.spec.distributeDeployments = std::move(deployments);
  return vault;
}

VaultSecret secretDeclaration() {
  VaultSecret secret;
  secret.meta.name = "server-cert";
  secret.meta.generation = 1;
  secret.spec.vault = "mqtt-vault";
  secret.spec.autoCert.issuingCa = "mqtt-ca";
  secret.spec.autoCert.host = "mqtt.emqx.internal";
  secret.spec.autoCert.ttl = 30 * kDay;
  secret.spec.autoCert.refreshThreshold = 15 * kDay;
  secret.spec.fileOwnership = FileOwnership{1000, 1000};
  secret.spec.fileMode = 0440;
  return secret;
}

class VaultSecretReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(service.reconcileCa(caDeclaration(), TenantInfo{"default", "uuid-1"}).ok()); }

  VaultSecretOutcome reconcile(OutputSink& sink) {
    ReconcileContext context{service, store, sink, clock};
    return reconcileVaultSecret(context, secret, &vault);
  }
  VaultSecretOutcome reconcile() { return reconcile(output); }
  std::string serial() { return store.secrets.at(secret.key()).serialHex; }

  FakeClock clock{nowSeconds()};
  FakeStateStore store;
  CaRegistry registry{clock};
  AuthorityService service{store, registry, clock};
  RecordingOutputSink output;
  Vault vault = vaultDeclaration();
  VaultSecret secret = secretDeclaration();
  ObjectKey caKey{"default", "mqtt-ca"};
};

TEST_F(VaultSecretReconcilerTest, IssuesOnceAndReportsTheFacts) {
  VaultSecretOutcome first = reconcile();
  ASSERT_TRUE(first.status.ready) << first.status.message;
  EXPECT_EQ(first.status.reason, "Ready");
  EXPECT_EQ(first.status.observedGeneration, 1);
  EXPECT_EQ(factsOf(first).lastIssueReason, ReissueReason::Missing);
  ASSERT_EQ(store.secrets.count(secret.key()), 1u);
  const SecretRecord record = store.secrets.at(secret.key());
  EXPECT_EQ(record.issuingCa, "mqtt-ca");
  EXPECT_EQ(record.caVersion, 1);
  EXPECT_EQ(record.specGeneration, 1);
  EXPECT_EQ(record.notAfter, clock.now() + 30 * kDay);
  EXPECT_EQ(factsOf(first).serial, record.serialHex);
  EXPECT_EQ(factsOf(first).notAfter, record.notAfter);
  EXPECT_EQ(factsOf(first).caVersion, 1);
  TimePoint renewal = secretRenewalTime(record, secret.spec.autoCert, "default/server-cert");
  EXPECT_EQ(first.renewalTime, renewal);
  EXPECT_EQ(factsOf(first).renewalTime, renewal);
  EXPECT_EQ(store.ledgers[caKey].size(), 1u);

  clock.advance(kDay);
  VaultSecretOutcome second = reconcile();
  EXPECT_TRUE(second.status.ready);
  EXPECT_FALSE(factsOf(second).lastIssueReason.has_value());
  EXPECT_EQ(store.saveSecretCalls, 1);
  EXPECT_EQ(store.ledgers[caKey].size(), 1u);
  EXPECT_EQ(serial(), record.serialHex);
}

TEST_F(VaultSecretReconcilerTest, PublishesTheFilesToEveryDeploymentOfTheVault) {
  MockOutputSink sink;
  auto files = AllOf(Field(&SecretFiles::fileMode, 0440), Field(&SecretFiles::caCertPem, service.active(caKey)->trustPem));
  EXPECT_CALL(sink, publishSecret("default", "emqx", files)).WillOnce(Return(kWritten));
  EXPECT_CALL(sink, publishSecret("default", "emqx-2", files)).WillOnce(Return(kWritten));
  EXPECT_CALL(sink, publishCaBundle).Times(0);
  EXPECT_CALL(sink, publishEmqxEnv).Times(0);
  ASSERT_TRUE(reconcile(sink).status.ready);

  ASSERT_EQ(output.secrets.size(), 0u);
  reconcile(output);
  ASSERT_EQ(output.secrets.size(), 2u);
  const SecretFiles& published = output.secrets[0].files;
  const SecretRecord& record = store.secrets.at(secret.key());
  EXPECT_EQ(published.certPem, record.certPem);
  EXPECT_EQ(published.keyPem, record.keyPem);
  ASSERT_TRUE(published.ownership.has_value());
  EXPECT_EQ(published.ownership->uid, 1000);
  EXPECT_EQ(published.ownership->gid, 1000);
}

TEST_F(VaultSecretReconcilerTest, ItsStatusNamesTheOwnerAndModeTheOutputWrote) {
  output.keyFile = KeyFileAccess{1000, 1000, 0440};
  VaultSecretOutcome outcome = reconcile(output);
  ASSERT_TRUE(outcome.status.ready) << outcome.status.message;
  ASSERT_TRUE(factsOf(outcome).keyFile.has_value());
  EXPECT_EQ(factsOf(outcome).keyFile->uid, 1000);
  EXPECT_EQ(factsOf(outcome).keyFile->gid, 1000);
  EXPECT_EQ(factsOf(outcome).keyFile->mode, 0440u);
  EXPECT_FALSE(factsOf(outcome).serial.empty());
}

TEST_F(VaultSecretReconcilerTest, AKeptRecordsPemsAreReadOnlyWhenAnOutputIsWritten) {
  reconcile();
  const SecretRecord issued = store.secrets.at(secret.key());
  store.keepsPemsOut = true;
  MockOutputSink sink;
  EXPECT_CALL(sink, publishSecret("default", "emqx", _)).WillOnce([&](auto&, auto&, const SecretFiles& files) {
    // What tells an output up to date comes without reading anything.
    EXPECT_TRUE(files.certPem.empty());
    EXPECT_EQ(files.certSha256(), pki::sha256(issued.certPem));
    EXPECT_EQ(files.keySha256(), pki::sha256(issued.keyPem));
    EXPECT_EQ(store.loadSecretWithPemsCalls, 0);
    auto pems = files.pems();  // an output to write: now they are read
    EXPECT_TRUE(pems);
    if (pems) {
      EXPECT_EQ(pems->certPem, issued.certPem);
      EXPECT_EQ(pems->keyPem, issued.keyPem);
    }
    EXPECT_EQ(store.loadSecretWithPemsCalls, 1);
    return kWritten;
  });
  EXPECT_CALL(sink, publishSecret("default", "emqx-2", _)).WillOnce(Return(kWritten));
  EXPECT_TRUE(reconcile(sink).status.ready);
  EXPECT_EQ(store.saveSecretCalls, 1);  // nothing issued again
}

TEST_F(VaultSecretReconcilerTest, ReissuesAtTheRefreshThreshold) {
  reconcile();
  std::string first = serial();
  TimePoint renewal = secretRenewalTime(store.secrets.at(secret.key()), secret.spec.autoCert, "default/server-cert");

  clock.set(renewal - Seconds(1));
  EXPECT_TRUE(reconcile().status.ready);
  EXPECT_EQ(serial(), first);

  clock.set(renewal);
  VaultSecretOutcome outcome = reconcile();
  ASSERT_TRUE(outcome.status.ready) << outcome.status.message;
  EXPECT_EQ(factsOf(outcome).lastIssueReason, ReissueReason::NearExpiry);
  EXPECT_NE(serial(), first);
  EXPECT_EQ(store.secrets.at(secret.key()).notAfter, renewal + 30 * kDay);
  EXPECT_GT(*outcome.renewalTime, renewal);
  EXPECT_EQ(output.secrets.back().files.certPem, store.secrets.at(secret.key()).certPem);
}

TEST_F(VaultSecretReconcilerTest, ReissuesWhenRevoked) {
  reconcile();
  std::string first = serial();
  ASSERT_TRUE(unwrap(service.revoke(caKey, Revocation{first, clock.now(), pki::RevocationReason::KeyCompromise, std::nullopt})));
  VaultSecretOutcome outcome = reconcile();
  ASSERT_TRUE(outcome.status.ready);
  EXPECT_EQ(factsOf(outcome).lastIssueReason, ReissueReason::Revoked);
  EXPECT_NE(serial(), first);
  EXPECT_FALSE(service.isRevoked(caKey, serial()));
}

TEST_F(VaultSecretReconcilerTest, ReissuesWhenTheSpecChanges) {
  reconcile();
  std::string first = serial();
  secret.meta.generation = 2;
  secret.spec.autoCert.altNames = {"alt.example"};
  VaultSecretOutcome outcome = reconcile();
  EXPECT_EQ(factsOf(outcome).lastIssueReason, ReissueReason::SpecChanged);
  EXPECT_EQ(outcome.status.observedGeneration, 2);
  EXPECT_NE(serial(), first);
  EXPECT_EQ(store.secrets.at(secret.key()).specGeneration, 2);
}

TEST_F(VaultSecretReconcilerTest, MissingCaIsNotReadyAndPublishesNothing) {
  reconcile();
  SecretRecord before = store.secrets.at(secret.key());

  // A restart where the CA is broken: its AuthorityService never activated it.
  CaRegistry otherRegistry(clock);
  AuthorityService withoutCa(store, otherRegistry, clock);
  MockOutputSink sink;
  EXPECT_CALL(sink, publishSecret).Times(0);
  ReconcileContext context{withoutCa, store, sink, clock};
  VaultSecretOutcome outcome = reconcileVaultSecret(context, secret, &vault);
  EXPECT_FALSE(outcome.status.ready);
  EXPECT_EQ(outcome.status.reason, "IssuerNotReady");
  EXPECT_THAT(outcome.status.message, HasSubstr("spec.autoCert.issuingCa"));
  EXPECT_THAT(outcome.status.message, HasSubstr("default/mqtt-ca"));
  EXPECT_THAT(outcome.status.message, HasSubstr("stays in place"));
  EXPECT_EQ(store.secrets.at(secret.key()).serialHex, before.serialHex);
  EXPECT_EQ(store.saveSecretCalls, 1);

  secret.spec.autoCert.issuingCa = "no-such-ca";
  EXPECT_EQ(reconcile(sink).status.reason, "IssuerNotReady");
}

TEST_F(VaultSecretReconcilerTest, MissingVaultIsNotReady) {
  ReconcileContext context{service, store, output, clock};
  VaultSecretOutcome outcome = reconcileVaultSecret(context, secret, nullptr);
  EXPECT_FALSE(outcome.status.ready);
  EXPECT_EQ(outcome.status.reason, "VaultNotFound");
  EXPECT_THAT(outcome.status.message, HasSubstr("spec.vault"));
  EXPECT_FALSE(outcome.renewalTime.has_value());
  EXPECT_TRUE(output.secrets.empty());
  EXPECT_TRUE(store.secrets.empty());
}

TEST_F(VaultSecretReconcilerTest, PublishFailureNamesTheDeploymentAndRetriesSoon) {
  MockOutputSink sink;
  EXPECT_CALL(sink, publishSecret("default", "emqx", _)).WillOnce(Return(kWritten));
  EXPECT_CALL(sink, publishSecret("default", "emqx-2", _))
      .WillOnce(Return(Result<std::optional<KeyFileAccess>>(makeError("disk full"))));
  VaultSecretOutcome outcome = reconcile(sink);
  EXPECT_FALSE(outcome.status.ready);
  EXPECT_EQ(outcome.status.reason, "PublishFailed");
  EXPECT_THAT(outcome.status.message, HasSubstr("emqx-2"));
  EXPECT_THAT(outcome.status.message, HasSubstr("disk full"));
  EXPECT_EQ(outcome.renewalTime, clock.now() + Seconds(30));
}

TEST_F(VaultSecretReconcilerTest, CaRotationKeepsTheCertificateAndShipsBothCaVersions) {
  // A CA that rotates 10 days in, while a 30-day certificate it signed is fresh.
  CertificateAuthority shortCa = caDeclaration();
  shortCa.meta.name = "short-ca";
  shortCa.spec.ttl = 40 * kDay;
  shortCa.spec.renewThreshold = 30 * kDay;
  ObjectKey shortKey{"default", "short-ca"};
  ASSERT_TRUE(service.reconcileCa(shortCa, TenantInfo{"default", "uuid-1"}).ok());
  secret.spec.autoCert.issuingCa = "short-ca";
  reconcile();
  std::string first = serial();

  clock.advance(10 * kDay);
  ASSERT_TRUE(service.reconcileCa(shortCa, TenantInfo{"default", "uuid-1"}).ok());
  const ActiveCa* active = service.active(shortKey);
  ASSERT_EQ(active->liveVersions, (std::vector<int>{1, 2}));
  VaultSecretOutcome outcome = reconcile();
  ASSERT_TRUE(outcome.status.ready) << outcome.status.message;
  EXPECT_EQ(serial(), first);  // version 1 is still live: no re-issue
  EXPECT_EQ(factsOf(outcome).caVersion, 1);
  // Both versions, the one that signed the certificate first: EMQX staples
  // the OCSP answer about it under the first certificate of ca-cert.pem.
  auto bundle = unwrap(pki::Certificate::allFromPem(output.secrets.back().files.caCertPem));
  ASSERT_EQ(bundle.size(), 2u);
  EXPECT_EQ(bundle[0].toPem(), active->record.versions[0].certPem);
  EXPECT_EQ(bundle[1].toPem(), active->record.versions[1].certPem);
  EXPECT_EQ(active->trustPemFor(2), active->trustPem);  // the newest is first already
}

TEST_F(VaultSecretReconcilerTest, CertificateCappedByTheCaIsRenewedOnceTheCaRotatesNotOnEveryPass) {
  // The CA rotates 10 days before it ends; the secret wants 30 days of
  // margin. Issued 25 days before the CA ends, its certificate is cut to end
  // with the CA: already inside its refresh window, and a new certificate
  // would end at the same second.
  CertificateAuthority shortCa = caDeclaration();
  shortCa.meta.name = "short-ca";
  shortCa.spec.ttl = 100 * kDay;
  shortCa.spec.renewThreshold = 10 * kDay;
  ObjectKey shortKey{"default", "short-ca"};
  ASSERT_TRUE(service.reconcileCa(shortCa, TenantInfo{"default", "uuid-1"}).ok());
  TimePoint caEnd = service.active(shortKey)->record.current()->notAfter;
  secret.spec.autoCert.issuingCa = "short-ca";
  secret.spec.autoCert.ttl = 60 * kDay;
  secret.spec.autoCert.refreshThreshold = 30 * kDay;
  clock.set(caEnd - 25 * kDay);

  VaultSecretOutcome first = reconcile();
  ASSERT_TRUE(first.status.ready) << first.status.message;
  EXPECT_EQ(store.secrets.at(secret.key()).notAfter, caEnd);
  std::string serialBefore = serial();
  // Look again when the CA's next version signs server certificates (made
  // at its rotation, trusted for half its renewThreshold), not in a busy loop.
  TimePoint caRotation = caEnd - 10 * kDay + 5 * kDay;
  EXPECT_EQ(first.renewalTime, caRotation);
  EXPECT_EQ(factsOf(first).renewalTime, caRotation);
  for (int pass = 0; pass < 5; ++pass) {
    clock.advance(Seconds(30));
    VaultSecretOutcome again = reconcile();
    EXPECT_TRUE(again.status.ready);
    EXPECT_FALSE(factsOf(again).lastIssueReason.has_value()) << "pass " << pass;
  }
  EXPECT_EQ(serial(), serialBefore);
  EXPECT_EQ(store.ledgers[shortKey].size(), 1u);

  // The CA rotates: its new version is only trusted for now.
  clock.set(caEnd - 10 * kDay);
  ASSERT_TRUE(service.reconcileCa(shortCa, TenantInfo{"default", "uuid-1"}).ok());
  EXPECT_FALSE(factsOf(reconcile()).lastIssueReason.has_value());
  // It signs server certificates: now a new certificate gains time, so it is issued.
  clock.set(caRotation);
  ASSERT_TRUE(service.reconcileCa(shortCa, TenantInfo{"default", "uuid-1"}).ok());
  VaultSecretOutcome renewed = reconcile();
  EXPECT_EQ(factsOf(renewed).lastIssueReason, ReissueReason::NearExpiry);
  EXPECT_EQ(factsOf(renewed).caVersion, 2);
  EXPECT_GT(store.secrets.at(secret.key()).notAfter, caEnd);
}

}  // namespace
}  // namespace revoca
