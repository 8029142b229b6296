#include "reconcilers/authority_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "declarations/url_template.h"
#include "reconcilers/crl_retention.h"
#include "reconcilers/renewal.h"
#include "tests/reconcilers/fakes.h"
#include "tests/reconcilers/openssl_checks.h"
#include "testing/fake_clock.h"
#include "testing/unwrap.h"

namespace revoca {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::FakeClock;
using testing::FakeStateStore;
using testing::kDay;
using testing::kHour;
using testing::ParsedCrl;
using testing::unwrap;

const std::string kCrlTemplate = "http://api.internal:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}";
const std::string kOcspTemplate = "http://api.internal:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}";
const std::string kUuid = "5a3e0c1d-7f2b-4c9e-8d41-0b6a2f1cab12";

CertificateAuthority caDeclaration(const std::string& name, std::optional<std::string> parent = std::nullopt) {
  CertificateAuthority ca;
  ca.meta.namespace_ = "default";
  ca.meta.name = name;
  ca.spec.ttl = 100 * kDay;
  ca.spec.renewThreshold = 30 * kDay;
  ca.spec.crlValidity = kDay;
  ca.spec.issuingCa = parent;
  ca.spec.crlDistUrls = {kCrlTemplate};
  ca.spec.ocspResponderUrls = {kOcspTemplate};
  return ca;
}

class AuthorityServiceTest : public ::testing::Test {
 protected:
  const TimePoint start = testing::nowSeconds();
  FakeClock clock{start};
  FakeStateStore store;
  CaRegistry registry{clock};
  AuthorityService service{store, registry, clock};
  TenantInfo tenant{"default", kUuid};
  CertificateAuthority ca = caDeclaration("mqtt-ca");
  ObjectKey key{"default", "mqtt-ca"};

  const ActiveCa& reconcile(const CertificateAuthority& declaration) {
    return *unwrap(service.reconcileCa(declaration, tenant));
  }
  const ActiveCa& reconcile() { return reconcile(ca); }
  IssuedLeaf issue(Seconds ttl, const std::string& host = "mqtt.emqx.internal",
                   pki::CertType type = pki::CertType::Server) {
    return unwrap(service.issue(key, LeafRequest{host, {}, type, ttl}));
  }
  IssuedLeaf issueClient(Seconds ttl) { return issue(ttl, "device-1", pki::CertType::Client); }
  std::uint64_t crlNumber(int version) {
    auto crl = registry.crlOf(key, version);
    return crl ? crl->crlNumber : 0;
  }
};

TEST_F(AuthorityServiceTest, FirstReconcileCreatesVersionOneAndSavesIt) {
  const ActiveCa& active = reconcile();
  ASSERT_EQ(store.cas.count(key), 1u);
  const CaRecord& saved = store.cas[key];
  ASSERT_EQ(saved.versions.size(), 1u);
  EXPECT_EQ(saved.versions[0].version, 1);
  EXPECT_EQ(store.saveCaCalls, 1);
  EXPECT_EQ(active.liveVersions, std::vector<int>{1});
  EXPECT_EQ(active.trustPem, saved.versions[0].certPem);
  EXPECT_EQ(active.chainFor(1), "");  // a root is never sent after a leaf

  pki::Certificate cert = unwrap(pki::Certificate::fromPem(saved.versions[0].certPem));
  EXPECT_EQ(cert.subjectCommonName(), "mqtt-ca");
  EXPECT_EQ(cert.notAfter(), start + ca.spec.ttl);
  EXPECT_TRUE(testing::signedBy(cert, cert));
  EXPECT_TRUE(registry.hasAuthority(key));

  auto crl = registry.crlOf(key, 1);
  ASSERT_NE(crl, nullptr);
  ParsedCrl parsed(crl->der);
  EXPECT_TRUE(parsed.signedBy(cert));
  EXPECT_EQ(parsed.number(), 1);
  EXPECT_EQ(parsed.entryCount(), 0);
  EXPECT_THAT(parsed.issuingDistributionPoint(), ElementsAre("http://api.internal:4664/crl-pem/default/mqtt-ca/1"));
  EXPECT_EQ(crl->nextUpdate, start + ca.spec.crlValidity);
}

TEST_F(AuthorityServiceTest, SecondReconcileCreatesNothing) {
  std::string first = reconcile().record.current()->certPem;
  clock.advance(kHour);
  const ActiveCa& again = reconcile();
  EXPECT_EQ(store.saveCaCalls, 1);
  EXPECT_EQ(store.cas[key].versions.size(), 1u);
  EXPECT_EQ(again.record.current()->certPem, first);
  EXPECT_EQ(crlNumber(1), 1u);  // the CRL is fresh: not signed again
}

TEST_F(AuthorityServiceTest, RestartReusesTheStoredVersion) {
  std::string first = reconcile().record.current()->certPem;
  CaRegistry freshRegistry(clock);
  AuthorityService restarted(store, freshRegistry, clock);
  const ActiveCa& active = *unwrap(restarted.reconcileCa(ca, tenant));
  EXPECT_EQ(store.saveCaCalls, 1);
  EXPECT_EQ(active.record.current()->certPem, first);
  // The CRL number keeps growing across the restart.
  EXPECT_EQ(freshRegistry.crlOf(key, 1)->crlNumber, 2u);
}

TEST_F(AuthorityServiceTest, RotatesAtRenewThresholdAndKeepsOldVersionWhileItsLeavesLive) {
  registry.setTenant("default", kUuid);  // for the responder's URLs
  const CaVersionRecord v1 = *reconcile().record.current();
  IssuedLeaf leaf = issue(90 * kDay);
  EXPECT_EQ(leaf.caVersion, 1);
  TimePoint renewal = caRenewalTime(v1, ca.spec);
  ASSERT_LT(renewal, leaf.notAfter);

  clock.set(renewal - Seconds(1));
  EXPECT_EQ(reconcile().record.versions.size(), 1u);
  EXPECT_EQ(store.saveCaCalls, 1);

  clock.set(renewal);
  const ActiveCa& rotated = reconcile();
  ASSERT_EQ(rotated.record.versions.size(), 2u);
  EXPECT_EQ(rotated.record.current()->version, 2);
  EXPECT_EQ(store.cas[key].versions.size(), 2u);
  EXPECT_EQ(store.saveCaCalls, 2);
  EXPECT_EQ(rotated.liveVersions, (std::vector<int>{1, 2}));
  EXPECT_EQ(rotated.current().version, 2);

  // ca-cert.pem carries both, so clients trust either during the overlap;
  // the newest first, as EMQX takes the first one as the OCSP issuer.
  auto trust = unwrap(pki::Certificate::allFromPem(rotated.trustPem));
  ASSERT_EQ(trust.size(), 2u);
  EXPECT_EQ(trust[0].toPem(), rotated.record.versions[1].certPem);
  EXPECT_EQ(trust[1].toPem(), v1.certPem);
  EXPECT_NE(trust[0].serialHex(), trust[1].serialHex());
  // The responder's /ca/ route serves the same bundle.
  EXPECT_EQ(*registry.caBundle(kUuid, "mqtt-ca")->pem, rotated.trustPem);

  // Both versions have a CRL; new leaves come from version 2.
  EXPECT_TRUE(registry.crlOf(key, 1) != nullptr);
  EXPECT_TRUE(registry.crlOf(key, 2) != nullptr);
  EXPECT_THAT(ParsedCrl(registry.crlOf(key, 2)->der).issuingDistributionPoint(),
              ElementsAre("http://api.internal:4664/crl-pem/default/mqtt-ca/2"));
  // Version 2 is trusted before it signs: client certificates once brokers
  // have read it (5 minutes), server certificates once devices may have
  // (half of renewThreshold).
  EXPECT_EQ(issue(kDay).caVersion, 1);
  EXPECT_EQ(issueClient(kDay).caVersion, 1);
  clock.set(renewal + Seconds(300));
  EXPECT_EQ(issueClient(kDay).caVersion, 2);
  EXPECT_EQ(issue(kDay).caVersion, 1);
  clock.set(renewal + 15 * kDay - Seconds(1));
  EXPECT_EQ(issue(kDay).caVersion, 1);
  clock.set(renewal + 15 * kDay);
  IssuedLeaf onTwo = issue(kDay);
  EXPECT_EQ(onTwo.caVersion, 2);
  EXPECT_EQ(onTwo.notAfter, renewal + 16 * kDay);

  // Still live one second before the last version-1 leaf expires.
  clock.set(leaf.notAfter - Seconds(1));
  EXPECT_EQ(reconcile().liveVersions, (std::vector<int>{1, 2}));

  clock.set(leaf.notAfter);
  const ActiveCa& after = reconcile();
  EXPECT_EQ(after.liveVersions, std::vector<int>{2});
  EXPECT_EQ(unwrap(pki::Certificate::allFromPem(after.trustPem)).size(), 1u);
  EXPECT_EQ(after.trustPem, after.record.current()->certPem);
  EXPECT_EQ(*registry.caBundle(kUuid, "mqtt-ca")->pem, after.trustPem);
  EXPECT_EQ(registry.crlOf(key, 1), nullptr);
  EXPECT_EQ(after.record.versions.size(), 2u);  // the record keeps history; only the live set shrinks
}

TEST_F(AuthorityServiceTest, RestartDuringTheOverlapKeepsBothVersionsLive) {
  const CaVersionRecord v1 = *reconcile().record.current();
  IssuedLeaf leaf = issue(90 * kDay);
  clock.set(caRenewalTime(v1, ca.spec));
  ASSERT_EQ(reconcile().liveVersions, (std::vector<int>{1, 2}));

  CaRegistry freshRegistry(clock);
  AuthorityService restarted(store, freshRegistry, clock);
  const ActiveCa& active = *unwrap(restarted.reconcileCa(ca, tenant));
  EXPECT_EQ(active.liveVersions, (std::vector<int>{1, 2}));  // the ledger says version 1 still signs a live leaf
  EXPECT_EQ(store.saveCaCalls, 2);
  EXPECT_EQ(unwrap(pki::Certificate::allFromPem(active.trustPem)).size(), 2u);
  EXPECT_EQ(freshRegistry.latestLeafExpiry(key).at(1), leaf.notAfter);
}

TEST_F(AuthorityServiceTest, RotationWithoutLiveLeavesDropsTheOldVersionOnceTheNewOneSignsEverything) {
  const CaVersionRecord v1 = *reconcile().record.current();
  TimePoint renewal = caRenewalTime(v1, ca.spec);
  clock.set(renewal);
  EXPECT_EQ(reconcile().liveVersions, (std::vector<int>{1, 2}));  // it still signs server certificates
  clock.set(renewal + 15 * kDay);
  EXPECT_EQ(reconcile().liveVersions, std::vector<int>{2});
}

TEST_F(AuthorityServiceTest, DeclaredRotationDelaysDecideWhenANewVersionSigns) {
  ca.spec.propagationDelay = Seconds(90);
  ca.spec.trustRolloutPeriod = 2 * kDay;
  const CaVersionRecord v1 = *reconcile().record.current();
  // A first version signs at once: there is nothing before it to trust.
  EXPECT_EQ(issue(kDay).caVersion, 1);
  EXPECT_EQ(issueClient(kDay).caVersion, 1);
  TimePoint renewal = caRenewalTime(v1, ca.spec);
  clock.set(renewal);
  const ActiveCa& rotated = reconcile();
  EXPECT_EQ(rotated.current().version, 2);
  EXPECT_EQ(rotated.signer(pki::CertType::Client, renewal).version, 1);
  EXPECT_EQ(rotated.nextSignerChange(pki::CertType::Client, renewal), renewal + Seconds(90));
  EXPECT_EQ(rotated.nextSignerChange(pki::CertType::Server, renewal), renewal + 2 * kDay);
  // The server certificate's ca-cert.pem starts with the version that signed it.
  IssuedLeaf server = issue(kDay);
  EXPECT_EQ(server.caVersion, 1);
  EXPECT_EQ(rotated.trustPemFor(1).rfind(v1.certPem, 0), 0u);
  clock.set(renewal + Seconds(90));
  EXPECT_EQ(issueClient(kDay).caVersion, 2);
  EXPECT_EQ(issue(kDay).caVersion, 1);
  // Intermediates are checked by devices too: they wait as server certificates do.
  EXPECT_EQ(rotated.signer(pki::CertType::Authority, clock.now()).version, 1);
  clock.set(renewal + 2 * kDay);
  EXPECT_EQ(issue(kDay).caVersion, 2);
  // Once the newest signs everything, the next change comes with the next rotation.
  const ActiveCa& settled = reconcile();
  EXPECT_EQ(settled.nextSignerChange(pki::CertType::Server, clock.now()),
            caRenewalTime(*settled.record.current(), ca.spec) + 2 * kDay);
}

TEST_F(AuthorityServiceTest, IssueWritesTheLedgerBeforeReturning) {
  reconcile();
  IssuedLeaf leaf = issue(30 * kDay);
  ASSERT_EQ(store.ledgers[key].size(), 1u);
  const IssuedCertificate& line = store.ledgers[key][0];
  EXPECT_EQ(line.serialHex, leaf.serialHex);
  EXPECT_EQ(line.caVersion, 1);
  EXPECT_EQ(line.notAfter, leaf.notAfter);
  EXPECT_EQ(line.subject, "mqtt.emqx.internal");
  EXPECT_EQ(registry.issuedCount(key), 1u);
  EXPECT_EQ(leaf.notAfter, clock.now() + 30 * kDay);
  EXPECT_EQ(leaf.notBefore, clock.now() - Seconds(30));

  pki::Certificate cert = unwrap(pki::Certificate::fromPem(leaf.certPem));
  EXPECT_EQ(cert.serialHex(), leaf.serialHex);
  EXPECT_TRUE(testing::signedBy(cert, service.active(key)->current().cert));
  EXPECT_EQ(cert.subjectCommonName(), "mqtt.emqx.internal");
  EXPECT_EQ(unwrap(pki::Certificate::allFromPem(leaf.certPem)).size(), 1u);
  EXPECT_THAT(leaf.keyPem, HasSubstr("PRIVATE KEY"));
}

TEST_F(AuthorityServiceTest, IssueFailsWithoutCertificateWhenTheLedgerCannotBeWritten) {
  reconcile();
  store.failAppendIssued = true;
  auto leaf = service.issue(key, LeafRequest{"mqtt.emqx.internal", {}, pki::CertType::Server, kDay});
  ASSERT_FALSE(leaf.ok());
  EXPECT_THAT(leaf.error().message, HasSubstr("recording serial"));
  EXPECT_EQ(registry.issuedCount(key), 0u);
}

TEST_F(AuthorityServiceTest, IssueCapsNotAfterAtTheSigningVersion) {
  const ActiveCa& active = reconcile();
  IssuedLeaf leaf = issue(1000 * kDay);
  EXPECT_EQ(leaf.notAfter, active.record.current()->notAfter);
  EXPECT_EQ(unwrap(pki::Certificate::fromPem(leaf.certPem)).notAfter(), active.current().cert.notAfter());
}

TEST_F(AuthorityServiceTest, IssueEmbedsTheRenderedRevocationUrls) {
  reconcile();
  IssuedLeaf leaf = issue(kDay);
  pki::Certificate cert = unwrap(pki::Certificate::fromPem(leaf.certPem));
  EXPECT_THAT(testing::crlDistributionUrls(cert),
              ElementsAre("http://api.internal:4664/crl-pem/default/mqtt-ca/1"));
  EXPECT_THAT(testing::ocspUrls(cert), ElementsAre("http://api.internal:4664/ocsp/" + kUuid + "/mqtt-ca"));
  // The CRL's Issuing Distribution Point is the certificate's CRL DP.
  EXPECT_EQ(ParsedCrl(registry.crlOf(key, 1)->der).issuingDistributionPoint(), testing::crlDistributionUrls(cert));
}

// OpenSSL refuses a CRL whose Issuing Distribution Point is not the
// certificate's distribution point ("different CRL scope"), OTP finds no
// relevant CRL: each version's CRL must name the URL its certificates carry.
void expectCoveredByItsVersionsCrl(const CaRegistry& registry, const ObjectKey& key, const IssuedLeaf& leaf) {
  pki::Certificate cert = unwrap(pki::Certificate::fromPem(leaf.certPem));
  auto crl = registry.crlOf(key, leaf.caVersion);
  ASSERT_NE(crl, nullptr);
  EXPECT_EQ(ParsedCrl(crl->der).issuingDistributionPoint(), testing::crlDistributionUrls(cert));
}

TEST_F(AuthorityServiceTest, ChangingCrlDistUrlsMakesANewVersionAndEveryVersionsCrlNamesItsOwnUrls) {
  reconcile();
  IssuedLeaf before = issue(90 * kDay);  // outlives the two trust rollouts below
  ASSERT_EQ(store.saveCaCalls, 1);

  for (std::string changed : {"http://revoca.revoca-system.svc:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}",
                              "http://revoca.revoca-system.svc:4664/crl-pem/${SYS_TENANT_UUID}/${SYS_CA_NAME}/${SYS_CA_VERSION}"}) {
    SCOPED_TRACE(changed);
    int previous = service.active(key)->record.current()->version;
    ca.spec.crlDistUrls = {changed};
    const ActiveCa& active = reconcile();
    int made = active.record.current()->version;
    EXPECT_EQ(made, previous + 1);
    EXPECT_EQ(active.current().version, made);
    // It signs once trusted, as any new version does (spec.rotation).
    EXPECT_EQ(issue(kDay).caVersion, previous);
    clock.advance(caTrustRolloutPeriod(ca.spec));
    IssuedLeaf after = issue(30 * kDay);
    EXPECT_EQ(after.caVersion, made);
    EXPECT_THAT(testing::crlDistributionUrls(unwrap(pki::Certificate::fromPem(after.certPem))),
                ElementsAre(unwrap(renderUrlTemplate(changed, {"default", kUuid, "mqtt-ca", made}))));
    expectCoveredByItsVersionsCrl(registry, key, before);
    expectCoveredByItsVersionsCrl(registry, key, after);
  }
  reconcile();
  EXPECT_EQ(service.active(key)->liveVersions, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(unwrap(pki::Certificate::allFromPem(service.active(key)->trustPem)).size(), 3u);

  // Revoking the first certificate re-signs version 1's CRL, which still names version 1's URL.
  ASSERT_TRUE(unwrap(service.revoke(key, Revocation{before.serialHex, clock.now(), pki::RevocationReason::KeyCompromise,
                                                    std::nullopt})));
  EXPECT_TRUE(ParsedCrl(registry.crlOf(key, 1)->der).lists(before.serialHex));
  expectCoveredByItsVersionsCrl(registry, key, before);

  // Nothing more on the next pass, nor after a restart.
  int saves = store.saveCaCalls;
  reconcile();
  CaRegistry freshRegistry(clock);
  AuthorityService restarted(store, freshRegistry, clock);
  EXPECT_EQ(unwrap(restarted.reconcileCa(ca, tenant))->record.versions.size(), 3u);
  EXPECT_EQ(store.saveCaCalls, saves);
  expectCoveredByItsVersionsCrl(freshRegistry, key, before);
}

TEST_F(AuthorityServiceTest, OcspUrlsAndOtherSpecChangesMakeNoNewVersion) {
  reconcile();
  ca.spec.ocspResponderUrls = {"http://revoca.revoca-system.svc:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}"};
  ca.spec.crlValidity = 2 * kDay;
  EXPECT_EQ(reconcile().record.versions.size(), 1u);
  EXPECT_THAT(testing::ocspUrls(unwrap(pki::Certificate::fromPem(issue(kDay).certPem))),
              ElementsAre("http://revoca.revoca-system.svc:4664/ocsp/" + kUuid + "/mqtt-ca"));
}

TEST_F(AuthorityServiceTest, AVersionSavedBeforeItsCrlUrlsWereKeptTakesThemFromTheSpecWhenFirstRead) {
  reconcile();
  IssuedLeaf before = issue(30 * kDay);
  store.cas[key].versions[0].crlDistUrls.reset();  // as an earlier revoca saved it

  CaRegistry freshRegistry(clock);
  AuthorityService restarted(store, freshRegistry, clock);
  ASSERT_TRUE(restarted.reconcileCa(ca, tenant).ok());
  EXPECT_EQ(store.cas[key].versions.size(), 1u);
  EXPECT_EQ(store.cas[key].versions[0].crlDistUrls,
            std::optional<std::vector<std::string>>({"http://api.internal:4664/crl-pem/default/mqtt-ca/1"}));

  // Recorded, a change of the spec after that is a new version.
  ca.spec.crlDistUrls = {"http://revoca.internal:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}"};
  EXPECT_EQ(unwrap(restarted.reconcileCa(ca, tenant))->record.current()->version, 2);
  expectCoveredByItsVersionsCrl(freshRegistry, key, before);
}

TEST_F(AuthorityServiceTest, AReaderThatCannotWriteKeepsTheCrlUrlsItTookInMemory) {
  reconcile();
  store.cas[key].versions[0].crlDistUrls.reset();
  store.failSaveCa = true;  // a follower, or revocactl against a cluster
  CaRegistry freshRegistry(clock);
  AuthorityService follower(store, freshRegistry, clock);
  auto active = follower.reconcileCa(ca, tenant);
  ASSERT_TRUE(active.ok()) << active.error().message;
  EXPECT_THAT((*active)->crlUrls(1), ElementsAre("http://api.internal:4664/crl-pem/default/mqtt-ca/1"));
}

TEST_F(AuthorityServiceTest, IssuePutsIpAltNamesInIpEntries) {
  reconcile();
  IssuedLeaf leaf = unwrap(service.issue(
      key, LeafRequest{"mqtt.emqx.internal", {"10.1.2.3", "mqtt.emqx.internal", "alt.example"}, pki::CertType::Server, kDay}));
  pki::Certificate cert = unwrap(pki::Certificate::fromPem(leaf.certPem));
  EXPECT_EQ(X509_check_host(cert.get(), "alt.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "mqtt.emqx.internal", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.1.2.3", 0), 1);
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  EXPECT_EQ(sk_GENERAL_NAME_num(names), 3);  // the host is not repeated
  GENERAL_NAMES_free(names);
}

TEST_F(AuthorityServiceTest, IssueFromAnUnknownCaIsAnError) {
  auto leaf = service.issue(key, LeafRequest{"h", {}, pki::CertType::Client, kDay});
  ASSERT_FALSE(leaf.ok());
  EXPECT_THAT(leaf.error().message, HasSubstr("default/mqtt-ca is not Ready"));
  auto revoked = service.revoke(key, Revocation{"0A", clock.now(), pki::RevocationReason::Unspecified, std::nullopt});
  ASSERT_FALSE(revoked.ok());
}

TEST_F(AuthorityServiceTest, RevokeIsIdempotentAndPublishesANewCrlListingTheSerial) {
  reconcile();
  IssuedLeaf leaf = issue(kDay);
  IssuedLeaf other = issue(kDay, "other.example");
  std::uint64_t before = crlNumber(1);
  clock.advance(Seconds(5));
  Revocation revocation{leaf.serialHex, clock.now(), pki::RevocationReason::KeyCompromise, std::nullopt};
  EXPECT_TRUE(unwrap(service.revoke(key, revocation)));
  EXPECT_TRUE(service.isRevoked(key, leaf.serialHex));
  EXPECT_FALSE(service.isRevoked(key, other.serialHex));
  ASSERT_EQ(store.revocations[key].size(), 1u);
  EXPECT_EQ(store.revocations[key][0].serialHex, leaf.serialHex);

  auto crl = registry.crlOf(key, 1);
  ASSERT_NE(crl, nullptr);
  EXPECT_GT(crl->crlNumber, before);
  EXPECT_EQ(crl->thisUpdate, clock.now());  // published at once, not at the next timer
  ParsedCrl parsed(crl->der);
  EXPECT_TRUE(parsed.signedBy(service.active(key)->current().cert));
  EXPECT_EQ(parsed.number(), static_cast<long>(crl->crlNumber));
  EXPECT_EQ(parsed.reasonOf(leaf.serialHex), 1);  // keyCompromise
  EXPECT_FALSE(parsed.lists(other.serialHex));
  EXPECT_EQ(parsed.entryCount(), 1);

  // The first revocation stands; a second one changes nothing.
  std::uint64_t after = crl->crlNumber;
  Revocation again{leaf.serialHex, clock.now() + kHour, pki::RevocationReason::Superseded, std::nullopt};
  EXPECT_FALSE(unwrap(service.revoke(key, again)));
  EXPECT_EQ(store.revocations[key].size(), 1u);
  EXPECT_EQ(crlNumber(1), after);
  EXPECT_EQ(registry.revocationOf(key, leaf.serialHex)->reason, pki::RevocationReason::KeyCompromise);
}

TEST_F(AuthorityServiceTest, RevokingASerialTheCaNeverIssuedIsRefusedNotReportedRevoked) {
  reconcile();
  IssuedLeaf leaf = issue(kDay);
  std::uint64_t before = crlNumber(1);
  auto revoked = service.revoke(key, Revocation{"0A" + leaf.serialHex, clock.now(), pki::RevocationReason::KeyCompromise,
                                                std::nullopt});
  ASSERT_FALSE(revoked.ok());
  EXPECT_THAT(revoked.error().message, HasSubstr("never issued serial 0A" + leaf.serialHex));
  EXPECT_TRUE(store.revocations[key].empty()) << "nothing was recorded";
  EXPECT_EQ(crlNumber(1), before) << "no CRL was signed for it";
  EXPECT_FALSE(service.isRevoked(key, leaf.serialHex));
}

TEST_F(AuthorityServiceTest, RevokingASerialAnotherWriterIssuedReadsTheLedgerAgain) {
  reconcile();
  // revocactl against a cluster appends to the ledger without this process knowing.
  ASSERT_TRUE(store.appendIssued(key, IssuedCertificate{"1234ABCD", 1, clock.now() + kDay, "elsewhere"}).ok());
  EXPECT_TRUE(unwrap(service.revoke(key, Revocation{"1234ABCD", clock.now(), pki::RevocationReason::Unspecified,
                                                   std::nullopt})));
}

TEST_F(AuthorityServiceTest, AHistoryThatNoLongerReadsStopsTheCaFromSigningUntilItDoes) {
  reconcile();
  IssuedLeaf leaf = issue(kDay);
  store.loadLedgerError = "line 2 of the ledger: the serial \"ab\" is not written as revoca writes serials";
  auto reloaded = service.reloadHistory();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_THAT(reloaded.error().message, HasSubstr("line 2 of the ledger"));
  EXPECT_FALSE(service.issue(key, LeafRequest{"h", {}, pki::CertType::Client, kDay}).ok()) << "it signs nothing";
  EXPECT_FALSE(service.reconcileCa(ca, tenant).ok()) << "its status says why";
  EXPECT_TRUE(registry.wasIssued(key, leaf.serialHex)) << "the responder answers from what it last read";
  store.loadLedgerError.reset();
  ASSERT_TRUE(service.reconcileCa(ca, tenant).ok());
  EXPECT_TRUE(service.issue(key, LeafRequest{"h", {}, pki::CertType::Client, kDay}).ok());
}

TEST_F(AuthorityServiceTest, RevocationsSurviveARestart) {
  reconcile();
  IssuedLeaf leaf = issue(kDay);
  ASSERT_TRUE(unwrap(service.revoke(key, Revocation{leaf.serialHex, clock.now(), pki::RevocationReason::Unspecified, std::nullopt})));
  CaRegistry freshRegistry(clock);
  AuthorityService restarted(store, freshRegistry, clock);
  ASSERT_TRUE(restarted.reconcileCa(ca, tenant).ok());
  EXPECT_TRUE(restarted.isRevoked(key, leaf.serialHex));
  EXPECT_FALSE(unwrap(restarted.revoke(key, Revocation{leaf.serialHex, clock.now(), pki::RevocationReason::Unspecified, std::nullopt})));
  EXPECT_TRUE(ParsedCrl(freshRegistry.crlOf(key, 1)->der).lists(leaf.serialHex));
  EXPECT_EQ(freshRegistry.issuedCount(key), 1u);
}

TEST_F(AuthorityServiceTest, PublishCrlsResignsAfterHalfTheValidity) {
  reconcile();
  std::uint64_t first = crlNumber(1);
  clock.advance(ca.spec.crlValidity / 2 - Seconds(1));
  ASSERT_TRUE(service.publishCrls(key).ok());
  EXPECT_EQ(crlNumber(1), first);
  clock.advance(Seconds(1));
  ASSERT_TRUE(service.publishCrls(key).ok());
  EXPECT_GT(crlNumber(1), first);
  auto crl = registry.crlOf(key, 1);
  EXPECT_EQ(crl->thisUpdate, clock.now());
  EXPECT_EQ(crl->nextUpdate, clock.now() + ca.spec.crlValidity);
  EXPECT_TRUE(service.publishCrls(ObjectKey{"default", "nobody"}).ok());
}

// RFC 5280 5.2.3: one CRL number, one content, whichever replica serves it.
TEST_F(AuthorityServiceTest, AReplicaThatDoesNotLeadSignsUnderTheLeadersNumberOnlyWhatTheLeaderSigned) {
  reconcile();
  IssuedLeaf first = issue(kDay), second = issue(kDay);
  ASSERT_TRUE(unwrap(service.revoke(key, Revocation{first.serialHex, clock.now(), pki::RevocationReason::Unspecified,
                                                    std::nullopt})));
  FakeStateStore read = store;  // what the other replica reads now
  read.followsStamps = true;
  CaRegistry otherRegistry(clock);
  AuthorityService other(read, otherRegistry, clock);
  clock.advance(Seconds(7));
  ASSERT_TRUE(other.reconcileCa(ca, tenant).ok());
  auto leaders = registry.crlOf(key, 1);
  auto others = otherRegistry.crlOf(key, 1);
  ASSERT_NE(others, nullptr);
  EXPECT_EQ(others->crlNumber, leaders->crlNumber);
  EXPECT_EQ(others->thisUpdate, leaders->thisUpdate);  // the leader's times, not its own clock
  EXPECT_EQ(others->nextUpdate, leaders->nextUpdate);
  EXPECT_TRUE(ParsedCrl(others->der).lists(first.serialHex));
  EXPECT_EQ(ParsedCrl(others->der).entryCount(), 1);

  // The leader revokes again; the other replica reads the new stamp before the revocation.
  ASSERT_TRUE(unwrap(service.revoke(key, Revocation{second.serialHex, clock.now(), pki::RevocationReason::KeyCompromise,
                                                    std::nullopt})));
  ASSERT_GT(crlNumber(1), others->crlNumber);
  read.stamps = store.stamps;
  clock.advance(kDay / 2);  // its CRL is stale by age: it would have signed on its own before
  ASSERT_TRUE(other.publishCrls(key).ok());
  EXPECT_EQ(otherRegistry.crlOf(key, 1)->crlNumber, others->crlNumber) << "a new number names only the new list";

  read.revocations = store.revocations;  // now it has read the revocation too
  ASSERT_TRUE(other.reloadHistory().ok());
  ASSERT_TRUE(other.publishCrls(key).ok());
  auto caughtUp = otherRegistry.crlOf(key, 1);
  EXPECT_EQ(caughtUp->crlNumber, crlNumber(1));
  EXPECT_EQ(caughtUp->thisUpdate, registry.crlOf(key, 1)->thisUpdate);
  EXPECT_EQ(ParsedCrl(caughtUp->der).entryCount(), 2);
}

TEST_F(AuthorityServiceTest, ARevokedCertificateLeavesTheCrlAtTheFirstResignPastItsExpiryAndTheRetention) {
  reconcile();
  IssuedLeaf leaf = issue(kDay);
  ASSERT_TRUE(unwrap(service.revoke(key, Revocation{leaf.serialHex, clock.now(), pki::RevocationReason::KeyCompromise, std::nullopt})));
  Seconds retention = crlRetentionAfterExpiry(ca.spec.crlValidity);
  ASSERT_EQ(retention, kDay);

  clock.set(leaf.notAfter + retention);
  ASSERT_TRUE(service.publishCrls(key).ok());
  ASSERT_EQ(registry.crlOf(key, 1)->thisUpdate, clock.now());
  EXPECT_TRUE(ParsedCrl(registry.crlOf(key, 1)->der).lists(leaf.serialHex));
  // Past the retention, the entry waits for the next regular CRL: it is
  // no reason to sign one.
  clock.advance(Seconds(1));
  std::uint64_t number = crlNumber(1);
  ASSERT_TRUE(service.publishCrls(key).ok());
  EXPECT_EQ(crlNumber(1), number);
  clock.advance(ca.spec.crlValidity / 2);
  ASSERT_TRUE(service.publishCrls(key).ok());
  ASSERT_GT(crlNumber(1), number);
  EXPECT_FALSE(ParsedCrl(registry.crlOf(key, 1)->der).lists(leaf.serialHex));
  // The revocation stays, for OCSP and for revoke-cert.
  EXPECT_TRUE(service.isRevoked(key, leaf.serialHex));
  EXPECT_TRUE(registry.revocationOf(key, leaf.serialHex));
}

TEST(CrlRetention, OneCrlValidityAndAtLeastADay) {
  EXPECT_EQ(crlRetentionAfterExpiry(kDay), kDay);
  EXPECT_EQ(crlRetentionAfterExpiry(7 * kDay), 7 * kDay);
  EXPECT_EQ(crlRetentionAfterExpiry(kHour), kDay);
}

TEST_F(AuthorityServiceTest, TheCrlCacheMaxAgeReachesTheResponderAndFollowsTheSpec) {
  registry.setTenant("default", kUuid);
  ca.spec.crlCacheMaxAge = Seconds(60);
  reconcile();
  EXPECT_EQ(registry.crl(kUuid, "mqtt-ca", "1")->cacheMaxAge, Seconds(60));
  ca.spec.crlCacheMaxAge = Seconds(120);
  reconcile();
  EXPECT_EQ(registry.crl(kUuid, "mqtt-ca", "1")->cacheMaxAge, Seconds(120));
}

TEST_F(AuthorityServiceTest, EverySignedCrlIsSavedInTheStore) {
  reconcile();
  IssuedLeaf leaf = issue(kDay);
  ASSERT_TRUE(unwrap(service.revoke(key, Revocation{leaf.serialHex, clock.now(), pki::RevocationReason::Unspecified, std::nullopt})));
  ASSERT_EQ(store.savedCrls[key].count(1), 1u);
  EXPECT_EQ(store.savedCrls[key][1].crlNumber, crlNumber(1));
  EXPECT_EQ(store.savedCrls[key][1].der, registry.crlOf(key, 1)->der);
}

// Defect 3: a CA whose state cannot be read signs nothing, makes nothing
// new, and the responder keeps serving the last CRL it signed.
TEST_F(AuthorityServiceTest, ACaWhoseStateCannotBeReadSignsNothingAndServesItsSavedCrl) {
  reconcile();
  IssuedLeaf leaf = issue(kDay);
  ASSERT_TRUE(unwrap(service.revoke(key, Revocation{leaf.serialHex, clock.now(), pki::RevocationReason::KeyCompromise, std::nullopt})));
  std::string lastCrl = registry.crlOf(key, 1)->der;
  int saves = store.saveCaCalls;

  for (auto* error : {&store.loadLedgerError, &store.loadCaError}) {
    *error = "line 2 of STATE/cas/default/mqtt-ca/revocations is wrong";
    CaRegistry restartedRegistry(clock);
    restartedRegistry.setTenant("default", kUuid);
    AuthorityService restarted(store, restartedRegistry, clock);
    auto result = restarted.reconcileCa(ca, tenant);
    ASSERT_FALSE(result.ok());
    EXPECT_THAT(result.error().message, HasSubstr("line 2 of STATE/cas/default/mqtt-ca/revocations"));
    EXPECT_EQ(restarted.active(key), nullptr);
    EXPECT_FALSE(restartedRegistry.hasAuthority(key));
    EXPECT_FALSE(restarted.issue(key, LeafRequest{"x.internal", {}, pki::CertType::Server, kDay}).ok());
    EXPECT_EQ(store.saveCaCalls, saves);  // no version made in place of the unreadable one
    auto served = restartedRegistry.crl(kUuid, "mqtt-ca", "1");
    ASSERT_TRUE(served.has_value());
    EXPECT_EQ(*served->der, lastCrl);
    EXPECT_TRUE(ParsedCrl(*served->der).lists(leaf.serialHex));
    *error = std::nullopt;
  }
}

TEST_F(AuthorityServiceTest, AVersionWhoseKeyIsNotItsCertificatesSignsNothingAndIsNotMadeAgain) {
  reconcile();
  std::string otherKey = unwrap(pki::PrivateKey::generate(pki::KeySpec{})).toPem();
  store.cas[key].versions[0].keyPem = otherKey;  // a pair put together by hand
  int saves = store.saveCaCalls;
  CaRegistry restartedRegistry(clock);
  AuthorityService restarted(store, restartedRegistry, clock);
  auto result = restarted.reconcileCa(ca, tenant);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("the key of version 1 does not belong to its certificate"));
  EXPECT_THAT(result.error().message, Not(HasSubstr("PRIVATE")));
  EXPECT_EQ(restarted.active(key), nullptr);
  EXPECT_FALSE(restarted.issue(key, LeafRequest{"x.internal", {}, pki::CertType::Server, kDay}).ok());
  EXPECT_EQ(store.saveCaCalls, saves);
  EXPECT_EQ(store.cas[key].versions[0].keyPem, otherKey);
}

TEST_F(AuthorityServiceTest, FailedFirstSaveLeavesNothingActive) {
  store.failSaveCa = true;
  auto result = service.reconcileCa(ca, tenant);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("saving version 1"));
  EXPECT_EQ(service.active(key), nullptr);
  EXPECT_FALSE(registry.hasAuthority(key));
  store.failSaveCa = false;
  EXPECT_EQ(reconcile().record.current()->version, 1);
}

TEST_F(AuthorityServiceTest, IntermediateIsSignedByItsParentAndRecordedInItsLedger) {
  CertificateAuthority root = caDeclaration("mqtt-root");
  CertificateAuthority intermediate = caDeclaration("mqtt-int", "mqtt-root");
  intermediate.spec.ttl = 1000 * kDay;  // longer than the root: capped
  ObjectKey rootKey{"default", "mqtt-root"}, intKey{"default", "mqtt-int"};
  registry.setTenant("default", kUuid);  // for the responder's URLs

  auto early = service.reconcileCa(intermediate, tenant);
  ASSERT_FALSE(early.ok());
  EXPECT_THAT(early.error().message, HasSubstr("spec.issuingCa"));

  const ActiveCa& parent = reconcile(root);
  const ActiveCa& child = reconcile(intermediate);
  pki::Certificate rootCert = parent.current().cert;
  pki::Certificate intCert = child.current().cert;
  EXPECT_TRUE(testing::signedBy(intCert, rootCert));
  EXPECT_FALSE(testing::signedBy(intCert, intCert));
  EXPECT_EQ(intCert.notAfter(), rootCert.notAfter());
  EXPECT_EQ(child.parent, std::optional<ObjectKey>(rootKey));
  // The intermediate carries its parent's revocation URLs.
  EXPECT_THAT(testing::crlDistributionUrls(intCert),
              ElementsAre("http://api.internal:4664/crl-pem/default/mqtt-root/1"));

  ASSERT_EQ(store.ledgers[rootKey].size(), 1u);
  EXPECT_EQ(store.ledgers[rootKey][0].serialHex, intCert.serialHex());
  EXPECT_EQ(store.ledgers[rootKey][0].caVersion, 1);
  EXPECT_EQ(store.ledgers[rootKey][0].subject, "mqtt-int");
  EXPECT_EQ(registry.issuedCount(rootKey), 1u);

  EXPECT_EQ(child.chainFor(1), intCert.toPem());
  EXPECT_EQ(child.trustPem, intCert.toPem() + rootCert.toPem());
  EXPECT_EQ(*registry.caBundle(kUuid, "mqtt-int")->pem, child.trustPem);

  // Its leaves carry the intermediate after them and are in its own ledger.
  IssuedLeaf leaf = unwrap(service.issue(intKey, LeafRequest{"leaf.example", {}, pki::CertType::Client, kDay}));
  auto chain = unwrap(pki::Certificate::allFromPem(leaf.certPem));
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_TRUE(testing::signedBy(chain[0], intCert));
  EXPECT_EQ(chain[1].toPem(), intCert.toPem());
  EXPECT_EQ(store.ledgers[intKey].size(), 1u);
  EXPECT_EQ(store.ledgers[rootKey].size(), 1u);

  // Revoking the intermediate goes on the root's CRL.
  ASSERT_TRUE(unwrap(service.revoke(rootKey, Revocation{intCert.serialHex(), clock.now(),
                                                        pki::RevocationReason::CaCompromise, std::nullopt})));
  EXPECT_EQ(ParsedCrl(registry.crlOf(rootKey, 1)->der).reasonOf(intCert.serialHex()), 2);
}

// How a CA signs is its own key's and declared digest's business: the
// intermediate's certificate, like the root's leaves and CRLs, is signed with
// the root's SHA-384, and the intermediate signs with its own SHA-256.
TEST_F(AuthorityServiceTest, AnIntermediateIsSignedWithItsParentsDigestNotItsOwn) {
  CertificateAuthority root = caDeclaration("mqtt-root");
  root.spec.key = {pki::KeyType::Ecdsa, pki::Curve::P384};
  root.spec.digest = pki::Digest::Sha384;
  CertificateAuthority intermediate = caDeclaration("mqtt-int", "mqtt-root");
  intermediate.spec.digest = pki::Digest::Sha256;
  ObjectKey rootKey{"default", "mqtt-root"}, intKey{"default", "mqtt-int"};
  const ActiveCa& parent = reconcile(root);
  const ActiveCa& child = reconcile(intermediate);

  EXPECT_EQ(X509_get_signature_nid(child.current().cert.get()), NID_ecdsa_with_SHA384);
  EXPECT_EQ(X509_get_signature_nid(parent.current().cert.get()), NID_ecdsa_with_SHA384);
  EXPECT_EQ(ParsedCrl(registry.crlOf(rootKey, 1)->der).signatureNid(), NID_ecdsa_with_SHA384);

  IssuedLeaf leaf = unwrap(service.issue(intKey, LeafRequest{"leaf.example", {}, pki::CertType::Client, kDay}));
  auto chain = unwrap(pki::Certificate::allFromPem(leaf.certPem));
  EXPECT_EQ(X509_get_signature_nid(chain.at(0).get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(ParsedCrl(registry.crlOf(intKey, 1)->der).signatureNid(), NID_ecdsa_with_SHA256);
}

TEST_F(AuthorityServiceTest, IntermediateCappedByItsParentRotatesWithTheParentNotOnEveryPass) {
  CertificateAuthority root = caDeclaration("mqtt-root");
  root.spec.renewThreshold = 10 * kDay;  // the root ends 100 days in, rotates at 90
  CertificateAuthority intermediate = caDeclaration("mqtt-int", "mqtt-root");
  intermediate.spec.ttl = 1000 * kDay;     // capped to the root's 100 days
  intermediate.spec.renewThreshold = 30 * kDay;
  ObjectKey rootKey{"default", "mqtt-root"}, intKey{"default", "mqtt-int"};
  reconcile(root);
  TimePoint rootEnd = service.active(rootKey)->record.current()->notAfter;
  reconcile(intermediate);

  clock.set(rootEnd - 25 * kDay);  // inside the intermediate's renew window, before the root's
  for (int pass = 0; pass < 5; ++pass) {
    reconcile(root);
    reconcile(intermediate);
    clock.advance(Seconds(30));
  }
  // A new version would end with the root all the same: none is made.
  EXPECT_EQ(service.active(intKey)->record.versions.size(), 1u);
  EXPECT_EQ(store.ledgers[rootKey].size(), 1u);

  clock.set(rootEnd - 10 * kDay);  // the root rotates; its new version is only trusted for now
  reconcile(root);
  EXPECT_EQ(reconcile(intermediate).record.versions.size(), 1u);
  clock.set(rootEnd - 5 * kDay);  // it signs intermediates after half the root's renewThreshold
  reconcile(root);
  const ActiveCa& rotated = reconcile(intermediate);
  ASSERT_EQ(rotated.record.versions.size(), 2u);
  EXPECT_GT(rotated.record.current()->notAfter, rootEnd);
  EXPECT_TRUE(testing::signedBy(rotated.current().cert, service.active(rootKey)->current().cert));
}

}  // namespace
}  // namespace revoca
