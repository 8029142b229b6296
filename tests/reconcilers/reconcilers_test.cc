// The CertificateAuthority, CertificateRevocation, Vault and EmqxDeployment
// reconcilers (the VaultSecret one has its own file).
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
using ::testing::HasSubstr;
using ::testing::Return;
using testing::FakeClock;
using testing::FakeStateStore;
using testing::kDay;
using testing::MockClock;
using testing::MockOutputSink;
using testing::nowSeconds;
using testing::RecordingOutputSink;
using testing::unwrap;

const std::string kUuid = "5a3e0c1d-7f2b-4c9e-8d41-0b6a2f1cab12";

const CertificateAuthorityFacts& caFacts(const ObjectStatus& status) {
  return std::get<CertificateAuthorityFacts>(status.facts);
}

CertificateAuthority caDeclaration(std::vector<std::string> deployments = {}) {
  CertificateAuthority ca;
  ca.meta.name = "mqtt-ca";
  ca.meta.generation = 7;
  ca.spec.ttl = 365 * kDay;
  ca.spec.crlDistUrls = {"http://api.internal:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}"};
  ca.spec.ocspResponderUrls = {"http://api.internal:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}"};
  ca.spec.distributeDeployments = std::move(deployments);
  return ca;
}

class ReconcilersTest : public ::testing::Test {
 protected:
  ReconcileContext context() { return ReconcileContext{service, store, output, clock}; }

  FakeClock clock{nowSeconds()};
  FakeStateStore store;
  CaRegistry registry{clock};
  AuthorityService service{store, registry, clock};
  RecordingOutputSink output;
  TenantInfo tenant{"default", kUuid};
};

TEST_F(ReconcilersTest, CertificateAuthorityReportsFactsAndDistributesTheTrustBundle) {
  MockOutputSink sink;
  ReconcileContext ctx{service, store, sink, clock};
  CertificateAuthority ca = caDeclaration({"emqx", "other"});
  EXPECT_CALL(sink, publishCaBundle("default", "emqx", "mqtt-ca", _)).WillOnce(Return(Result<void>()));
  EXPECT_CALL(sink, publishCaBundle("default", "other", "mqtt-ca", _)).WillOnce(Return(Result<void>()));
  ObjectStatus status = reconcileCertificateAuthority(ctx, ca, tenant);
  ASSERT_TRUE(status.ready) << status.message;
  EXPECT_EQ(status.reason, "Ready");
  EXPECT_EQ(status.observedGeneration, 7);
  const ActiveCa* active = service.active(ca.key());
  ASSERT_NE(active, nullptr);
  const CaVersionRecord& current = *active->record.current();
  EXPECT_EQ(caFacts(status).version, 1);
  EXPECT_EQ(caFacts(status).liveVersions, 1);
  EXPECT_EQ(caFacts(status).serial, active->current().cert.serialHex());
  EXPECT_EQ(caFacts(status).notAfter, current.notAfter);
  EXPECT_EQ(caFacts(status).renewalTime, caRenewalTime(current, ca.spec));
  EXPECT_EQ(caFacts(status).tenantUuid, kUuid);
  EXPECT_EQ(caFacts(status).crlUrl, "http://api.internal:4664/crl-pem/default/mqtt-ca/1");
  EXPECT_EQ(status.message, "version 1 signs; 1 live version(s) in every bundle");
}

TEST_F(ReconcilersTest, CertificateAuthoritySaysWhenItsNewVersionStartsSigning) {
  auto ctx = context();
  CertificateAuthority ca = caDeclaration();
  ca.spec.propagationDelay = Seconds(300);
  ca.spec.trustRolloutPeriod = 7 * kDay;
  ASSERT_TRUE(reconcileCertificateAuthority(ctx, ca, tenant).ready);
  TimePoint rotation = caRenewalTime(*service.active(ca.key())->record.current(), ca.spec);
  clock.set(rotation);
  ObjectStatus status = reconcileCertificateAuthority(ctx, ca, tenant);
  ASSERT_TRUE(status.ready) << status.message;
  EXPECT_EQ(caFacts(status).version, 2);
  EXPECT_EQ(caFacts(status).clientSigningVersion, 1);
  EXPECT_EQ(caFacts(status).serverSigningVersion, 1);
  EXPECT_EQ(caFacts(status).clientSwitchTime, rotation + Seconds(300));
  EXPECT_EQ(caFacts(status).serverSwitchTime, rotation + 7 * kDay);
  EXPECT_THAT(status.message, ::testing::StartsWith("version 2 is trusted (in every bundle) and signs client certificates from " +
                                formatTimestamp(rotation + Seconds(300)) +
                                " (version 1 until then) and server certificates and intermediates from " +
                                formatTimestamp(rotation + 7 * kDay) + " (version 1 until then); 2 live version(s) in every bundle"));
  clock.set(rotation + Seconds(300));
  status = reconcileCertificateAuthority(ctx, ca, tenant);
  EXPECT_EQ(caFacts(status).clientSigningVersion, 2);
  EXPECT_EQ(caFacts(status).serverSigningVersion, 1);
}

TEST_F(ReconcilersTest, CertificateAuthoritySaysWhichVersionsKeepTheirCrlUrlsAfterAChange) {
  auto ctx = context();
  CertificateAuthority ca = caDeclaration();
  ASSERT_TRUE(reconcileCertificateAuthority(ctx, ca, tenant).ready);
  unwrap(service.issue(ca.key(), LeafRequest{"client", {}, pki::CertType::Client, kDay}));  // keeps version 1 live

  ca.spec.crlDistUrls = {"http://revoca.internal:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}"};
  ObjectStatus status = reconcileCertificateAuthority(ctx, ca, tenant);
  ASSERT_TRUE(status.ready) << status.message;
  EXPECT_EQ(caFacts(status).version, 2);
  EXPECT_EQ(caFacts(status).crlUrl, "http://revoca.internal:4664/crl-pem/default/mqtt-ca/2");
  EXPECT_THAT(status.message, HasSubstr("took effect with version 2"));
  EXPECT_THAT(status.message, HasSubstr("the certificates of version 1 keep the CRL URLs they carry"));
}

TEST_F(ReconcilersTest, CertificateAuthorityPublishesTheBundleContent) {
  auto ctx = context();
  ASSERT_TRUE(reconcileCertificateAuthority(ctx, caDeclaration({"emqx"}), tenant).ready);
  ASSERT_EQ(output.bundles.size(), 1u);
  EXPECT_EQ(output.bundles[0].pem, service.active(ObjectKey{"default", "mqtt-ca"})->trustPem);
}

TEST_F(ReconcilersTest, CertificateAuthorityPublishFailureNamesTheDeployment) {
  MockOutputSink sink;
  ReconcileContext ctx{service, store, sink, clock};
  EXPECT_CALL(sink, publishCaBundle).WillOnce(Return(Result<void>(makeError("read-only"))));
  ObjectStatus status = reconcileCertificateAuthority(ctx, caDeclaration({"emqx"}), tenant);
  EXPECT_FALSE(status.ready);
  EXPECT_EQ(status.reason, "PublishFailed");
  EXPECT_THAT(status.message, HasSubstr("spec.distribute.deployments[emqx]"));
}

TEST_F(ReconcilersTest, CertificateAuthorityWithMissingParentIsNotReady) {
  auto ctx = context();
  CertificateAuthority ca = caDeclaration();
  ca.spec.issuingCa = "root";
  ObjectStatus status = reconcileCertificateAuthority(ctx, ca, tenant);
  EXPECT_FALSE(status.ready);
  EXPECT_EQ(status.reason, "IssuerFailed");
  EXPECT_THAT(status.message, HasSubstr("spec.issuingCa"));
}

TEST_F(ReconcilersTest, RevocationTakesItsTimeFromTheContextClock) {
  auto ctx = context();
  ASSERT_TRUE(reconcileCertificateAuthority(ctx, caDeclaration(), tenant).ready);
  IssuedLeaf leaf = unwrap(service.issue(ObjectKey{"default", "mqtt-ca"}, LeafRequest{"client", {}, pki::CertType::Client, kDay}));

  MockClock mockClock;
  const TimePoint when = clock.now() + Seconds(42);
  EXPECT_CALL(mockClock, now()).WillRepeatedly(Return(when));
  ReconcileContext mocked{service, store, output, mockClock};
  CertificateRevocation revocation;
  revocation.meta.name = "revoke-client";
  revocation.meta.generation = 1;
  revocation.spec.ca = "mqtt-ca";
  revocation.spec.serial = leaf.serialHex;
  revocation.spec.reason = pki::RevocationReason::Superseded;
  ObjectStatus status = reconcileCertificateRevocation(mocked, revocation);
  ASSERT_TRUE(status.ready) << status.message;
  EXPECT_EQ(status.reason, "Revoked");
  EXPECT_EQ(std::get<CertificateRevocationFacts>(status.facts).serial, leaf.serialHex);
  auto stored = registry.revocationOf(ObjectKey{"default", "mqtt-ca"}, leaf.serialHex);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->revokedAt, when);
  EXPECT_EQ(stored->reason, pki::RevocationReason::Superseded);

  // Reconciling it again (every pass does) is fine and changes nothing.
  EXPECT_TRUE(reconcileCertificateRevocation(mocked, revocation).ready);
  const ObjectKey caKey{"default", "mqtt-ca"};
  EXPECT_EQ(store.revocations[caKey].size(), 1u);
}

CertificateRevocation revocationOf(const std::string& name, const std::string& serial) {
  CertificateRevocation revocation;
  revocation.meta.name = name;
  revocation.meta.generation = 1;
  revocation.spec.ca = "mqtt-ca";
  revocation.spec.serial = serial;
  return revocation;
}

std::optional<std::uint64_t> crlNumberOf(const ObjectStatus& status) {
  return std::get<CertificateRevocationFacts>(status.facts).crlNumber;
}

// status.crlNumber is the first CRL that lists the serial: a broker holding
// a CRL numbered at or above it has the revocation. It never moves after.
TEST_F(ReconcilersTest, RevocationCrlNumberIsTheFirstCrlThatListedTheSerialAndStaysSo) {
  auto ctx = context();
  const ObjectKey caKey{"default", "mqtt-ca"};
  ASSERT_TRUE(reconcileCertificateAuthority(ctx, caDeclaration(), tenant).ready);
  IssuedLeaf first = unwrap(service.issue(caKey, LeafRequest{"first", {}, pki::CertType::Client, kDay}));
  IssuedLeaf second = unwrap(service.issue(caKey, LeafRequest{"second", {}, pki::CertType::Client, kDay}));
  std::uint64_t before = registry.crlOf(caKey, 1)->crlNumber;

  ObjectStatus revoked = reconcileCertificateRevocation(ctx, revocationOf("first", first.serialHex));
  ASSERT_TRUE(revoked.ready) << revoked.message;
  std::uint64_t firstNumber = registry.crlOf(caKey, 1)->crlNumber;
  ASSERT_GT(firstNumber, before) << "a CRL was signed for the revocation";
  EXPECT_EQ(crlNumberOf(revoked), firstNumber);

  // Another revocation re-signs the CRL: the first keeps its number.
  ObjectStatus secondRevoked = reconcileCertificateRevocation(ctx, revocationOf("second", second.serialHex));
  ASSERT_TRUE(secondRevoked.ready) << secondRevoked.message;
  std::uint64_t secondNumber = registry.crlOf(caKey, 1)->crlNumber;
  ASSERT_GT(secondNumber, firstNumber);
  EXPECT_EQ(crlNumberOf(secondRevoked), secondNumber);
  EXPECT_EQ(crlNumberOf(reconcileCertificateRevocation(ctx, revocationOf("first", first.serialHex))), firstNumber);

  // A CRL signed on schedule later, and the passes after it, move neither.
  clock.advance(Seconds(13 * 3600));
  ASSERT_TRUE(reconcileCertificateAuthority(ctx, caDeclaration(), tenant).ready);
  ASSERT_GT(registry.crlOf(caKey, 1)->crlNumber, secondNumber);
  EXPECT_EQ(crlNumberOf(reconcileCertificateRevocation(ctx, revocationOf("first", first.serialHex))), firstNumber);
  EXPECT_EQ(crlNumberOf(reconcileCertificateRevocation(ctx, revocationOf("second", second.serialHex))), secondNumber);
  ASSERT_EQ(store.crlListings[caKey].size(), 2u) << "one listing per revocation, none per reconcile";
  EXPECT_EQ(store.crlListings[caKey][0], (CrlListing{first.serialHex, firstNumber}));
  EXPECT_EQ(store.crlListings[caKey][1], (CrlListing{second.serialHex, secondNumber}));

  // A restart reads them back and writes nothing.
  CaRegistry restartedRegistry{clock};
  AuthorityService restarted{store, restartedRegistry, clock};
  ReconcileContext after{restarted, store, output, clock};
  ASSERT_TRUE(reconcileCertificateAuthority(after, caDeclaration(), tenant).ready);
  EXPECT_EQ(crlNumberOf(reconcileCertificateRevocation(after, revocationOf("first", first.serialHex))), firstNumber);
  EXPECT_EQ(crlNumberOf(reconcileCertificateRevocation(after, revocationOf("second", second.serialHex))), secondNumber);
  EXPECT_EQ(store.crlListings[caKey].size(), 2u);
  EXPECT_EQ(store.revocations[caKey].size(), 2u);
}

// A revocation recorded before the first CRL of each was kept: its number
// is gone with the CRLs of then, and a later one is not the first.
TEST_F(ReconcilersTest, RevocationRecordedWithoutItsFirstCrlShowsNoCrlNumberAndWritesNothing) {
  auto ctx = context();
  const ObjectKey caKey{"default", "mqtt-ca"};
  ASSERT_TRUE(reconcileCertificateAuthority(ctx, caDeclaration(), tenant).ready);
  IssuedLeaf leaf = unwrap(service.issue(caKey, LeafRequest{"old", {}, pki::CertType::Client, kDay}));
  store.revocations[caKey].push_back({leaf.serialHex, clock.now(), pki::RevocationReason::KeyCompromise, std::nullopt});

  CaRegistry restartedRegistry{clock};
  AuthorityService restarted{store, restartedRegistry, clock};
  ReconcileContext after{restarted, store, output, clock};
  ASSERT_TRUE(reconcileCertificateAuthority(after, caDeclaration(), tenant).ready);
  ObjectStatus status = reconcileCertificateRevocation(after, revocationOf("old", leaf.serialHex));
  ASSERT_TRUE(status.ready) << status.message;
  EXPECT_EQ(crlNumberOf(status), std::nullopt);
  EXPECT_TRUE(store.crlListings[caKey].empty());
  EXPECT_EQ(store.revocations[caKey].size(), 1u);
}

// The listing is written after the CRL is served (the revocation comes
// first); a failed write is made again, with the same number, by the next
// CRL publication, and the status shows that number meanwhile.
TEST_F(ReconcilersTest, AFailedWriteOfTheFirstCrlIsMadeAgainWithTheSameNumber) {
  auto ctx = context();
  const ObjectKey caKey{"default", "mqtt-ca"};
  ASSERT_TRUE(reconcileCertificateAuthority(ctx, caDeclaration(), tenant).ready);
  IssuedLeaf leaf = unwrap(service.issue(caKey, LeafRequest{"client", {}, pki::CertType::Client, kDay}));
  store.failAppendCrlListing = true;
  ObjectStatus failed = reconcileCertificateRevocation(ctx, revocationOf("r", leaf.serialHex));
  EXPECT_FALSE(failed.ready);
  EXPECT_THAT(failed.message, HasSubstr("recording the first CRL that listed serial " + leaf.serialHex));
  std::uint64_t firstNumber = registry.crlOf(caKey, 1)->crlNumber;
  ASSERT_TRUE(registry.revocationOf(caKey, leaf.serialHex)) << "served all the same";

  store.failAppendCrlListing = false;
  EXPECT_EQ(crlNumberOf(reconcileCertificateRevocation(ctx, revocationOf("r", leaf.serialHex))), firstNumber);
  ASSERT_TRUE(reconcileCertificateAuthority(ctx, caDeclaration(), tenant).ready);
  EXPECT_EQ(store.crlListings[caKey], (std::vector<CrlListing>{{leaf.serialHex, firstNumber}}));
  EXPECT_EQ(registry.crlOf(caKey, 1)->crlNumber, firstNumber) << "nothing signed again for it";
}

TEST_F(ReconcilersTest, RevocationOfAnUnknownCaIsNotReady) {
  auto ctx = context();
  CertificateRevocation revocation;
  revocation.meta.name = "r";
  revocation.spec.ca = "nope";
  revocation.spec.serial = "0A";
  ObjectStatus status = reconcileCertificateRevocation(ctx, revocation);
  EXPECT_FALSE(status.ready);
  EXPECT_EQ(status.reason, "CaNotReady");
  EXPECT_THAT(status.message, HasSubstr("spec.ca"));
  EXPECT_THAT(status.message, HasSubstr("default/nope"));
}

TEST_F(ReconcilersTest, RevocationOfASerialTheCaNeverIssuedIsNotReadyAndNamesTheSerialField) {
  auto ctx = context();
  ASSERT_TRUE(reconcileCertificateAuthority(ctx, caDeclaration(), tenant).ready);
  CertificateRevocation revocation;
  revocation.meta.name = "typo";
  revocation.spec.ca = "mqtt-ca";
  revocation.spec.serial = "0BADC0FFEE";
  ObjectStatus status = reconcileCertificateRevocation(ctx, revocation);
  EXPECT_FALSE(status.ready);
  EXPECT_EQ(status.reason, "SerialNotIssued");
  EXPECT_THAT(status.message, HasSubstr("spec.serial: CertificateAuthority default/mqtt-ca never issued serial 0BADC0FFEE"));
  EXPECT_FALSE(registry.revocationOf(ObjectKey{"default", "mqtt-ca"}, "0BADC0FFEE"));
}

TEST_F(ReconcilersTest, VaultIsReady) {
  auto ctx = context();
  Vault vault;
  vault.meta.name = "v";
  vault.meta.generation = 3;
  vault.spec.distributeDeployments = {"a", "b"};
  ObjectStatus status = reconcileVault(ctx, vault);
  EXPECT_TRUE(status.ready);
  EXPECT_EQ(status.observedGeneration, 3);
  EXPECT_THAT(status.message, HasSubstr("2 deployment(s)"));
  ASSERT_TRUE(std::holds_alternative<VaultFacts>(status.facts));
  EXPECT_EQ(std::get<VaultFacts>(status.facts).deployments, 2);
}

class EmqxDeploymentReconcilerTest : public ReconcilersTest {
 protected:
  void SetUp() override {
    auto ctx = context();
    ASSERT_TRUE(reconcileCertificateAuthority(ctx, caDeclaration(), tenant).ready);
    vault.meta.name = "mqtt-vault";
    vault.spec.distributeDeployments = {"emqx"};
    secret.meta.name = "server-cert";
    secret.spec.vault = "mqtt-vault";
    secret.spec.autoCert.issuingCa = "mqtt-ca";
    emqx.meta.name = "emqx";
    emqx.spec.vault = "mqtt-vault";
    emqx.spec.secret = "server-cert";
    emqx.spec.crl.enabled = true;
    emqx.spec.ocspStapling.enabled = true;
  }
  ObjectStatus reconcile(const Vault* v, const VaultSecret* s, const ObjectStatus* secretNotReady = nullptr) {
    auto ctx = context();
    return reconcileEmqxDeployment(ctx, emqx, v, s, secretNotReady);
  }
  ObjectStatus reconcile() { return reconcile(&vault, &secret); }

  Vault vault;
  VaultSecret secret;
  EmqxDeployment emqx;
};

TEST_F(EmqxDeploymentReconcilerTest, RendersWithTheCaOcspUrl) {
  ObjectStatus status = reconcile();
  ASSERT_TRUE(status.ready) << status.message;
  EXPECT_EQ(status.reason, "Rendered");
  const std::string url = "http://api.internal:4664/ocsp/" + kUuid + "/mqtt-ca/";
  const auto& facts = std::get<EmqxDeploymentFacts>(status.facts);
  EXPECT_EQ(facts.ocspResponderUrl, url);  // without the HOCON quotes
  EXPECT_EQ(facts.deployment, "emqx");
  ASSERT_EQ(output.envs.size(), 1u);
  EXPECT_EQ(output.envs[0].namespace_, "default");
  EXPECT_EQ(output.envs[0].deployment, "emqx");
  bool found = false;
  for (const auto& var : output.envs[0].env)
    if (var.name == "EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__RESPONDER_URL") {
      EXPECT_EQ(var.value, "\"" + url + "\"");
      found = true;
    }
  EXPECT_TRUE(found);
}

TEST_F(EmqxDeploymentReconcilerTest, PatchesTheNamedDeployment) {
  emqx.spec.deploymentName = "broker";
  EXPECT_EQ(emqxDeploymentTarget(emqx), "broker");
  EXPECT_EQ(reconcile().reason, "NotDistributed");
  vault.spec.distributeDeployments = {"broker"};
  ASSERT_TRUE(reconcile().ready);
  EXPECT_EQ(output.envs.back().deployment, "broker");
}

TEST_F(EmqxDeploymentReconcilerTest, RefusalsBecomeStatus) {
  emqx.spec.verify = "verify_none";
  ObjectStatus status = reconcile();
  EXPECT_FALSE(status.ready);
  EXPECT_EQ(status.reason, "RefusedByEmqxRules");
  EXPECT_THAT(status.message, HasSubstr("spec.crl.enabled"));
  EXPECT_TRUE(output.envs.empty());
}

TEST_F(EmqxDeploymentReconcilerTest, MissingOrMismatchedReferences) {
  EXPECT_EQ(reconcile(nullptr, &secret).reason, "VaultNotFound");
  EXPECT_EQ(reconcile(&vault, nullptr).reason, "SecretNotFound");
  secret.spec.vault = "other-vault";
  ObjectStatus status = reconcile();
  EXPECT_EQ(status.reason, "SecretNotInVault");
  EXPECT_THAT(status.message, HasSubstr("other-vault"));
  secret.spec.vault = "mqtt-vault";
  vault.spec.distributeDeployments = {"somewhere-else"};
  status = reconcile();
  EXPECT_EQ(status.reason, "NotDistributed");
  EXPECT_THAT(status.message, HasSubstr("spec.distribute.deployments"));
  EXPECT_TRUE(output.envs.empty());
}

TEST_F(EmqxDeploymentReconcilerTest, StaplingWaitsForAnIssuerThatIsNotReadyUnlessItHasItsOwnUrl) {
  secret.spec.autoCert.issuingCa = "unknown-ca";
  ObjectStatus status = reconcile();
  EXPECT_EQ(status.reason, "IssuerNotReady");
  EXPECT_THAT(status.message, HasSubstr("CertificateAuthority default/unknown-ca, which is not Ready"));
  emqx.spec.ocspStapling.responderUrl = "http://elsewhere:80/ocsp";
  EXPECT_TRUE(reconcile().ready);
}

TEST_F(EmqxDeploymentReconcilerTest, ASecretThatWasNotDeliveredLeavesItNotReadyAndRendersNothing) {
  ObjectStatus conflict;
  conflict.reason = "DeploymentConflict";
  conflict.message = "spec.vault: deployment emqx already receives VaultSecret other-cert";
  ObjectStatus status = reconcile(&vault, &secret, &conflict);
  EXPECT_FALSE(status.ready);
  EXPECT_EQ(status.reason, "SecretNotDelivered");
  EXPECT_THAT(status.message, HasSubstr("VaultSecret server-cert was not delivered to deployment emqx"));
  EXPECT_THAT(status.message, HasSubstr("DeploymentConflict: spec.vault: deployment emqx already receives VaultSecret other-cert"));
  EXPECT_TRUE(output.envs.empty());
}

TEST_F(EmqxDeploymentReconcilerTest, ARefreshThresholdShorterThanTheBrokersNeedToReloadIsRefusedWithTheMinimum) {
  secret.spec.autoCert.ttl = Seconds(12);
  secret.spec.autoCert.refreshThreshold = Seconds(6);
  ObjectStatus status = reconcile();
  EXPECT_FALSE(status.ready);
  EXPECT_EQ(status.reason, "RefreshThresholdTooShort");
  // The default reloadWithin (5m) and the OCSP refresh (5m) it must fit before the old certificate expires.
  EXPECT_THAT(status.message, HasSubstr("spec.autoCert.refreshThreshold to at least 10m"));
  EXPECT_THAT(status.message, HasSubstr("spec.rotation.reloadWithin 5m + spec.ocspStapling.refreshInterval 5m"));
  EXPECT_TRUE(output.envs.empty());

  emqx.spec.reloadWithin = Seconds(3);
  emqx.spec.ocspStapling.refreshInterval = Seconds(4);
  status = reconcile();
  EXPECT_EQ(status.reason, "RefreshThresholdTooShort");
  EXPECT_THAT(status.message, HasSubstr("at least 7s"));
  emqx.spec.ocspStapling.enabled = false;  // no staple to refresh: reloading is all it waits for
  EXPECT_TRUE(reconcile().ready);
}

}  // namespace
}  // namespace revoca
