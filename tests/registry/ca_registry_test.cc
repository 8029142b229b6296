#include "registry/ca_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "testing/fake_clock.h"
#include "testing/ocsp_request_builder.h"
#include "testing/pki_fixtures.h"
#include "tests/registry/ocsp_client.h"

namespace revoca {
namespace {

using ::testing::HasSubstr;
using pki::fixtures::Issued;
using pki::fixtures::makeCa;
using pki::fixtures::makeLeaf;
using testing::certId;
using testing::FakeClock;
using testing::nowSeconds;
using testing::OcspRequestBuilder;
using testing::ParsedResponse;
using testing::requestFor;
using responder::OcspOutcome;

const std::string kUuid = "5a3e0c1d-7f2b-4c9e-8d41-0b6a2f1cab12";
constexpr Seconds kValidity{3600};
constexpr Seconds kRetention{86400};

CaVersionMaterial material(const Issued& ca, int version) {
  return CaVersionMaterial{version, ca.cert, ca.key, pki::issuerHashesOf(ca.cert)};
}

IssuedCertificate ledgerLine(const Issued& leaf, int version) {
  return IssuedCertificate{leaf.cert.serialHex(), version, leaf.cert.notAfter(), leaf.cert.subjectCommonName()};
}

Revocation revocation(const std::string& serial, TimePoint at,
                      pki::RevocationReason reason = pki::RevocationReason::KeyCompromise) {
  return Revocation{serial, at, reason, std::nullopt};
}

class CaRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry.setTenant("default", kUuid);
    registry.setAuthority(key, {material(ca, 1)}, AuthoritySettings{pki::Digest::Sha256, kValidity});
    registry.recordIssued(key, ledgerLine(leaf, 1));
  }
  responder::OcspReply ask(const std::string& der, const std::string& tenant = kUuid,
                           const std::string& caName = "mqtt-ca") {
    return registry.ocsp(tenant, caName, der);
  }
  std::optional<testing::SingleStatus> statusOf(const responder::OcspReply& reply, const OCSP_CERTID* id,
                                                const Issued& signer) {
    ParsedResponse response(reply.der, signer.cert);
    EXPECT_EQ(response.responseStatus(), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    EXPECT_TRUE(response.verified());
    return response.find(id);
  }
  int errorStatus(const responder::OcspReply& reply) {
    ParsedResponse response(reply.der, ca.cert);
    EXPECT_TRUE(response.parsed());
    return response.responseStatus();
  }

  FakeClock clock{nowSeconds()};
  CaRegistry registry{clock};
  Issued ca = makeCa("mqtt-ca");
  Issued leaf = makeLeaf(ca, "mqtt.emqx.internal");
  ObjectKey key{"default", "mqtt-ca"};
};

TEST_F(CaRegistryTest, GoodForAnIssuedSerial) {
  auto id = certId(leaf.cert, ca.cert);
  responder::OcspReply reply = ask(requestFor(id.get()));
  EXPECT_EQ(reply.outcome, OcspOutcome::Good);
  EXPECT_FALSE(reply.carriesNonce);
  EXPECT_EQ(reply.thisUpdate, clock.now());
  EXPECT_EQ(reply.nextUpdate, clock.now() + kValidity);
  auto status = statusOf(reply, id.get(), ca);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(status->thisUpdate, toUnixSeconds(clock.now()));
  EXPECT_EQ(status->nextUpdate, toUnixSeconds(clock.now() + kValidity));
}

TEST_F(CaRegistryTest, GoodForASha256CertId) {
  auto id = certId(leaf.cert, ca.cert, EVP_sha256());
  responder::OcspReply reply = ask(requestFor(id.get()));
  EXPECT_EQ(reply.outcome, OcspOutcome::Good);
  EXPECT_EQ(statusOf(reply, id.get(), ca)->status, V_OCSP_CERTSTATUS_GOOD);
}

TEST_F(CaRegistryTest, RevokedWithReasonAndTime) {
  TimePoint revokedAt = clock.now() - Seconds(600);
  ASSERT_TRUE(registry.recordRevocation(key, revocation(leaf.cert.serialHex(), revokedAt)));
  auto id = certId(leaf.cert, ca.cert);
  responder::OcspReply reply = ask(requestFor(id.get()));
  EXPECT_EQ(reply.outcome, OcspOutcome::Revoked);
  auto status = statusOf(reply, id.get(), ca);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(status->reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
  EXPECT_EQ(status->revokedAt, toUnixSeconds(revokedAt));
}

TEST_F(CaRegistryTest, UnknownForASerialItNeverIssued) {
  Issued stranger = makeLeaf(ca, "never-recorded");
  auto id = certId(stranger.cert, ca.cert);
  responder::OcspReply reply = ask(requestFor(id.get()));
  EXPECT_EQ(reply.outcome, OcspOutcome::Unknown);
  EXPECT_EQ(statusOf(reply, id.get(), ca)->status, V_OCSP_CERTSTATUS_UNKNOWN);
  // Unknown answers are not cached: random serials must not grow memory.
  clock.advance(Seconds(1));
  EXPECT_NE(ask(requestFor(id.get())).der, reply.der);
}

TEST_F(CaRegistryTest, RevokedEvenWhenTheSerialIsNotInTheLedger) {
  // A CertificateRevocation for a serial issued before the ledger existed.
  Issued stranger = makeLeaf(ca, "old");
  ASSERT_TRUE(registry.recordRevocation(key, revocation(stranger.cert.serialHex(), clock.now())));
  auto id = certId(stranger.cert, ca.cert);
  EXPECT_EQ(ask(requestFor(id.get())).outcome, OcspOutcome::Revoked);
}

TEST_F(CaRegistryTest, UnauthorizedForUnknownTenantCaOrIssuer) {
  auto id = certId(leaf.cert, ca.cert);
  std::string request = requestFor(id.get());
  for (const auto& reply : {ask(request, "00000000-0000-4000-8000-000000000000"), ask(request, "other-namespace"),
                            ask(request, kUuid, "other-ca")}) {
    EXPECT_EQ(reply.outcome, OcspOutcome::Unauthorized);
    EXPECT_EQ(errorStatus(reply), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
    EXPECT_FALSE(reply.thisUpdate.has_value());
  }
  Issued other = makeCa("other-ca");
  Issued otherLeaf = makeLeaf(other, "elsewhere");
  auto otherId = certId(otherLeaf.cert, other.cert);
  responder::OcspReply reply = ask(requestFor(otherId.get()));
  EXPECT_EQ(reply.outcome, OcspOutcome::Unauthorized);
  EXPECT_EQ(errorStatus(reply), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  // Our serial, but named under the other issuer.
  auto wrongIssuer = certId(leaf.cert, other.cert);
  EXPECT_EQ(ask(requestFor(wrongIssuer.get())).outcome, OcspOutcome::Unauthorized);
  // A CertID hashed with SHA-384 cannot be matched.
  auto sha384 = certId(leaf.cert, ca.cert, EVP_sha384());
  EXPECT_EQ(ask(requestFor(sha384.get())).outcome, OcspOutcome::Unauthorized);
}

TEST_F(CaRegistryTest, MalformedForBytesThatAreNotARequest) {
  auto id = certId(leaf.cert, ca.cert);
  std::string valid = requestFor(id.get());
  for (const std::string& bytes : {std::string(), std::string("not der at all"), valid.substr(0, valid.size() - 2),
                                   valid + std::string(1, '\0'), leaf.cert.toDer()}) {
    responder::OcspReply reply = ask(bytes);
    EXPECT_EQ(reply.outcome, OcspOutcome::Malformed) << bytes.size();
    EXPECT_EQ(errorStatus(reply), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST) << bytes.size();
  }
  // Malformed wins over an unknown tenant: the bytes are looked at first.
  EXPECT_EQ(ask("junk", "nobody").outcome, OcspOutcome::Malformed);
}

TEST_F(CaRegistryTest, TenantByUuidAndByName) {
  auto id = certId(leaf.cert, ca.cert);
  EXPECT_EQ(ask(requestFor(id.get()), kUuid).outcome, OcspOutcome::Good);
  EXPECT_EQ(ask(requestFor(id.get()), "default").outcome, OcspOutcome::Good);
}

TEST_F(CaRegistryTest, IdenticalRequestsWithoutNonceGetTheCachedBytes) {
  auto id = certId(leaf.cert, ca.cert);
  std::string request = requestFor(id.get());
  responder::OcspReply first = ask(request);
  clock.advance(Seconds(1));
  responder::OcspReply second = ask(request);
  EXPECT_EQ(second.der, first.der);
  EXPECT_EQ(second.thisUpdate, first.thisUpdate);
  EXPECT_EQ(second.outcome, OcspOutcome::Good);
}

TEST_F(CaRegistryTest, RevocationChangesTheCachedAnswerAtOnce) {
  auto sha1 = certId(leaf.cert, ca.cert);
  auto sha256 = certId(leaf.cert, ca.cert, EVP_sha256());
  responder::OcspReply good1 = ask(requestFor(sha1.get()));
  responder::OcspReply good256 = ask(requestFor(sha256.get()));
  ASSERT_EQ(good1.outcome, OcspOutcome::Good);
  ASSERT_EQ(ask(requestFor(sha1.get())).der, good1.der);  // cached

  ASSERT_TRUE(registry.recordRevocation(key, revocation(leaf.cert.serialHex(), clock.now())));
  responder::OcspReply revoked1 = ask(requestFor(sha1.get()));
  EXPECT_EQ(revoked1.outcome, OcspOutcome::Revoked);
  EXPECT_NE(revoked1.der, good1.der);
  EXPECT_EQ(statusOf(revoked1, sha1.get(), ca)->status, V_OCSP_CERTSTATUS_REVOKED);
  responder::OcspReply revoked256 = ask(requestFor(sha256.get()));
  EXPECT_EQ(statusOf(revoked256, sha256.get(), ca)->status, V_OCSP_CERTSTATUS_REVOKED);
  // The revoked answer is cached in its turn.
  EXPECT_EQ(ask(requestFor(sha1.get())).der, revoked1.der);
}

TEST_F(CaRegistryTest, CachedAnswerIsResignedAtHalfItsValidity) {
  auto id = certId(leaf.cert, ca.cert);
  std::string request = requestFor(id.get());
  responder::OcspReply first = ask(request);
  clock.advance(kValidity / 2 - Seconds(1));
  EXPECT_EQ(ask(request).der, first.der);
  clock.advance(Seconds(1));
  responder::OcspReply fresh = ask(request);
  EXPECT_NE(fresh.der, first.der);
  EXPECT_EQ(fresh.thisUpdate, clock.now());
  EXPECT_EQ(statusOf(fresh, id.get(), ca)->thisUpdate, toUnixSeconds(clock.now()));
}

TEST_F(CaRegistryTest, NonceIsEchoedAndNotCached) {
  auto id = certId(leaf.cert, ca.cert);
  OcspRequestBuilder builder;
  builder.addCopyOf(id.get()).nonce("0123456789abcdef");
  responder::OcspReply first = ask(builder.der());
  EXPECT_TRUE(first.carriesNonce);
  EXPECT_EQ(first.outcome, OcspOutcome::Good);
  ParsedResponse parsed(first.der, ca.cert);
  EXPECT_TRUE(parsed.verified());
  EXPECT_EQ(parsed.nonceCheck(builder), 1);

  clock.advance(Seconds(1));
  responder::OcspReply second = ask(builder.der());
  EXPECT_NE(second.der, first.der);  // signed again: producedAt moved
  EXPECT_EQ(second.thisUpdate, clock.now());

  // A request without a nonce never receives a nonce answer from a cache.
  responder::OcspReply plain = ask(requestFor(id.get()));
  EXPECT_FALSE(plain.carriesNonce);
  ParsedResponse plainParsed(plain.der, ca.cert);
  OcspRequestBuilder noNonce;
  noNonce.addCopyOf(id.get());
  EXPECT_EQ(plainParsed.nonceCheck(noNonce), 2);  // OpenSSL: neither has a nonce
}

TEST_F(CaRegistryTest, SeveralSerialsInOneRequest) {
  Issued second = makeLeaf(ca, "second");
  Issued stranger = makeLeaf(ca, "stranger");
  registry.recordIssued(key, ledgerLine(second, 1));
  ASSERT_TRUE(registry.recordRevocation(key, revocation(second.cert.serialHex(), clock.now())));
  auto a = certId(leaf.cert, ca.cert), b = certId(second.cert, ca.cert), c = certId(stranger.cert, ca.cert);
  OcspRequestBuilder builder;
  builder.addCopyOf(a.get()).addCopyOf(b.get()).addCopyOf(c.get());
  responder::OcspReply reply = ask(builder.der());
  EXPECT_EQ(reply.outcome, OcspOutcome::Mixed);
  ParsedResponse parsed(reply.der, ca.cert);
  EXPECT_TRUE(parsed.verified());
  EXPECT_EQ(parsed.answerCount(), 3);
  EXPECT_EQ(parsed.find(a.get())->status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(parsed.find(b.get())->status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(parsed.find(c.get())->status, V_OCSP_CERTSTATUS_UNKNOWN);
}

class TwoVersionsTest : public CaRegistryTest {
 protected:
  void SetUp() override {
    CaRegistryTest::SetUp();
    registry.setAuthority(key, {material(ca, 1), material(ca2, 2)}, AuthoritySettings{pki::Digest::Sha256, kValidity});
    registry.recordIssued(key, ledgerLine(leaf2, 2));
  }
  Issued ca2 = makeCa("mqtt-ca");  // version 2: same name, new key
  Issued leaf2 = makeLeaf(ca2, "mqtt.emqx.internal");
};

TEST_F(TwoVersionsTest, EachVersionAnswersForWhatItSigned) {
  auto v1 = certId(leaf.cert, ca.cert), v2 = certId(leaf2.cert, ca2.cert);
  responder::OcspReply reply1 = ask(requestFor(v1.get()));
  EXPECT_EQ(reply1.outcome, OcspOutcome::Good);
  EXPECT_EQ(statusOf(reply1, v1.get(), ca)->status, V_OCSP_CERTSTATUS_GOOD);  // signed by version 1
  responder::OcspReply reply2 = ask(requestFor(v2.get()));
  EXPECT_EQ(statusOf(reply2, v2.get(), ca2)->status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_FALSE(ParsedResponse(reply2.der, ca.cert).verified());

  // Version 1's serial named under version 2 is not one version 2 signed.
  auto crossed = certId(leaf.cert, ca2.cert);
  EXPECT_EQ(ask(requestFor(crossed.get())).outcome, OcspOutcome::Unknown);

  // One response has one signer: CertIDs of two versions are refused.
  OcspRequestBuilder both;
  both.addCopyOf(v1.get()).addCopyOf(v2.get());
  EXPECT_EQ(ask(both.der()).outcome, OcspOutcome::Unauthorized);
}

TEST_F(TwoVersionsTest, CrlEntriesSplitByVersion) {
  Issued stranger = makeLeaf(ca, "not-in-ledger");
  TimePoint t = clock.now();
  ASSERT_TRUE(registry.recordRevocation(key, revocation(leaf.cert.serialHex(), t)));
  ASSERT_TRUE(registry.recordRevocation(key, revocation(leaf2.cert.serialHex(), t, pki::RevocationReason::Superseded)));
  ASSERT_TRUE(registry.recordRevocation(key, revocation(stranger.cert.serialHex(), t)));
  auto serials = [&](int version) {
    std::vector<std::string> out;
    for (const auto& entry : registry.crlEntries(key, version, t, kRetention)) out.push_back(entry.serialHex);
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(serials(1), std::vector<std::string>{leaf.cert.serialHex()});
  // The newest version also lists revoked serials no version is known to have signed.
  std::vector<std::string> newest{leaf2.cert.serialHex(), stranger.cert.serialHex()};
  std::sort(newest.begin(), newest.end());
  EXPECT_EQ(serials(2), newest);
  auto entries = registry.crlEntries(key, 1, t, kRetention);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].reason, pki::RevocationReason::KeyCompromise);
  EXPECT_EQ(entries[0].revokedAt, t);
  EXPECT_TRUE(registry.crlEntries(ObjectKey{"default", "nobody"}, 1, t, kRetention).empty());
}

// RFC 5280 section 3.3: an entry may leave the CRL once its certificate has
// expired. The revocation stays: OCSP still answers "revoked".
TEST_F(CaRegistryTest, AnExpiredCertificateLeavesTheCrlAfterTheRetentionAndStaysRevoked) {
  TimePoint t = clock.now();
  std::string expired = leaf.cert.serialHex();
  registry.recordIssued(key, IssuedCertificate{expired, 1, t - kRetention - Seconds(1), "expired"});
  registry.recordIssued(key, IssuedCertificate{"0A", 1, t - kRetention, "expired, still kept"});
  registry.recordIssued(key, IssuedCertificate{"0B", 1, t + kRetention, "valid"});
  for (const std::string& serial : {expired, std::string("0A"), std::string("0B"), std::string("0C")})
    ASSERT_TRUE(registry.recordRevocation(key, revocation(serial, t - 2 * kRetention)));
  auto serials = [&](TimePoint thisUpdate) {
    std::vector<std::string> out;
    for (const auto& entry : registry.crlEntries(key, 1, thisUpdate, kRetention)) out.push_back(entry.serialHex);
    std::sort(out.begin(), out.end());
    return out;
  };
  // 0C is in no ledger: with no notAfter known, it stays.
  std::vector<std::string> kept{"0A", "0B", "0C"};
  std::vector<std::string> all{"0A", "0B", "0C", expired};
  std::sort(all.begin(), all.end());
  EXPECT_EQ(serials(t), kept);
  EXPECT_EQ(serials(t - Seconds(1)), all);
  // Decided from the thisUpdate given, not the clock.
  clock.advance(10 * kRetention);
  EXPECT_EQ(serials(t), kept);
  EXPECT_EQ(registry.revokedCount(key), 4u);
  EXPECT_TRUE(registry.revocationOf(key, expired));
  auto id = certId(leaf.cert, ca.cert);
  EXPECT_EQ(ask(requestFor(id.get())).outcome, OcspOutcome::Revoked);
}

TEST_F(TwoVersionsTest, DroppingAVersionDropsItsCrlAndItsAnswers) {
  pki::SignedCrl crl1{"der1", "pem1", 5, clock.now(), clock.now() + kValidity};
  pki::SignedCrl crl2{"der2", "pem2", 6, clock.now(), clock.now() + kValidity};
  registry.setCrl(key, 1, crl1);
  registry.setCrl(key, 2, crl2);
  registry.setAuthority(key, {material(ca2, 2)}, AuthoritySettings{});
  EXPECT_EQ(registry.crlOf(key, 1), nullptr);
  EXPECT_EQ(registry.crlOf(key, 2)->crlNumber, 6u);
  auto v1 = certId(leaf.cert, ca.cert);
  EXPECT_EQ(ask(requestFor(v1.get())).outcome, OcspOutcome::Unauthorized);
  EXPECT_EQ(registry.issuedCount(key), 2u);  // the ledger stays
}

TEST_F(CaRegistryTest, ServesCrlsByTenantUuidOrNameAndVersion) {
  TimePoint t = clock.now();
  registry.setCrl(key, 1, pki::SignedCrl{"DER", "PEM", 7, t, t + kValidity});
  for (const std::string& tenant : {kUuid, std::string("default")}) {
    auto doc = registry.crl(tenant, "mqtt-ca", "1");
    ASSERT_TRUE(doc.has_value()) << tenant;
    EXPECT_EQ(*doc->der, "DER");
    EXPECT_EQ(*doc->pem, "PEM");
    EXPECT_EQ(doc->caVersion, 1);
    EXPECT_EQ(doc->crlNumber, 7u);
    EXPECT_EQ(doc->thisUpdate, t);
    EXPECT_EQ(doc->nextUpdate, t + kValidity);
    EXPECT_EQ(doc->cacheMaxAge, AuthoritySettings{}.crlCacheMaxAge);
  }
  EXPECT_FALSE(registry.crl(kUuid, "mqtt-ca", "2").has_value());
  EXPECT_FALSE(registry.crl(kUuid, "mqtt-ca", "x").has_value());
  EXPECT_FALSE(registry.crl(kUuid, "mqtt-ca", "-1").has_value());
  EXPECT_FALSE(registry.crl(kUuid, "mqtt-ca", "99999999999999999999").has_value());
  EXPECT_FALSE(registry.crl("nobody", "mqtt-ca", "1").has_value());
  EXPECT_FALSE(registry.crl(kUuid, "other", "1").has_value());
}

TEST_F(CaRegistryTest, CrlsCarryTheCasCacheMaxAge) {
  TimePoint t = clock.now();
  registry.setCrl(key, 1, pki::SignedCrl{"DER", "PEM", 7, t, t + kValidity});
  registry.setAuthority(key, {material(ca, 1)}, AuthoritySettings{pki::Digest::Sha256, kValidity, Seconds(60)});
  EXPECT_EQ(registry.crl(kUuid, "mqtt-ca", "1")->cacheMaxAge, Seconds(60));
}

// Two CRLs signed within one second carry one Last-Modified: a date names
// a CRL only when its thisUpdate is later than that of every earlier one.
TEST_F(CaRegistryTest, ACrlIsNewerThanEveryEarlierOneOnlyWhenItsSecondIsLater) {
  TimePoint t = clock.now();
  auto newer = [&](int version, std::uint64_t number, TimePoint thisUpdate) {
    registry.setCrl(key, version, pki::SignedCrl{"DER", "PEM", number, thisUpdate, thisUpdate + kValidity});
    return registry.crl(kUuid, "mqtt-ca", std::to_string(version))->newerThanEveryEarlierCrl;
  };
  EXPECT_TRUE(newer(1, 1, t));
  EXPECT_FALSE(newer(1, 2, t));  // the same second
  EXPECT_TRUE(newer(1, 3, t + Seconds(1)));
  EXPECT_FALSE(newer(1, 4, t - Seconds(10)));  // the clock stepped back
  EXPECT_FALSE(newer(1, 5, t + Seconds(1)));   // not past the latest yet
  EXPECT_TRUE(newer(1, 6, t + Seconds(2)));
  EXPECT_TRUE(newer(2, 7, t));  // each version (each URL) on its own
}

// A CA whose state cannot be read signs nothing, but its last CRLs still
// list what it revoked: better than no CRL at all for every peer.
TEST_F(CaRegistryTest, SavedCrlsAreServedOnlyWhileTheCaHasNoLiveVersions) {
  TimePoint t = clock.now();
  ObjectKey broken{"default", "broken-ca"};
  registry.setSavedCrls(broken, {{2, pki::SignedCrl{"SAVED", "SAVED PEM", 9, t, t + kValidity}}});
  auto doc = registry.crl(kUuid, "broken-ca", "2");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(*doc->der, "SAVED");
  EXPECT_EQ(doc->crlNumber, 9u);
  // Signed by an earlier process: whether another CRL shared its second is unknown.
  EXPECT_FALSE(doc->newerThanEveryEarlierCrl);
  EXPECT_FALSE(registry.hasAuthority(broken));
  EXPECT_EQ(registry.ocsp(kUuid, "broken-ca", requestFor(certId(leaf.cert, ca.cert).get())).outcome,
            OcspOutcome::Unauthorized);

  // A live CA keeps its own.
  registry.setCrl(key, 1, pki::SignedCrl{"LIVE", "LIVE PEM", 7, t, t + kValidity});
  registry.setSavedCrls(key, {{1, pki::SignedCrl{"SAVED", "SAVED PEM", 6, t, t + kValidity}}});
  EXPECT_EQ(*registry.crl(kUuid, "mqtt-ca", "1")->der, "LIVE");
  // Once the broken CA is live again, only its live versions keep a CRL.
  registry.setAuthority(broken, {material(ca, 1)}, AuthoritySettings{pki::Digest::Sha256, kValidity});
  EXPECT_FALSE(registry.crl(kUuid, "broken-ca", "2").has_value());
}

// A CRL of 100,000 entries is megabytes: the responder shares its bytes, and
// a response still being written keeps them after a new CRL replaces them.
TEST_F(CaRegistryTest, ServedCrlsShareTheirBytesAndOutliveTheirReplacement) {
  TimePoint t = clock.now();
  registry.setCrl(key, 1, pki::SignedCrl{"DER 1", "PEM 1", 1, t, t + kValidity});
  auto served = registry.crl(kUuid, "mqtt-ca", "1");
  ASSERT_TRUE(served.has_value());
  EXPECT_EQ(served->der.get(), &registry.crlOf(key, 1)->der);
  registry.setCrl(key, 1, pki::SignedCrl{"DER 2", "PEM 2", 2, t, t + kValidity});
  EXPECT_EQ(*served->der, "DER 1");
  EXPECT_EQ(*served->pem, "PEM 1");
  EXPECT_EQ(*registry.crl(kUuid, "mqtt-ca", "1")->der, "DER 2");
}

TEST_F(CaRegistryTest, ServesTheTrustBundleByTenantUuidOrNameAndReplacesIt) {
  EXPECT_FALSE(registry.caBundle(kUuid, "mqtt-ca").has_value());  // none set yet
  registry.setTrustBundle(key, "BUNDLE 1");
  registry.setAuthority(key, {material(ca, 1)}, AuthoritySettings{pki::Digest::Sha256, kValidity, Seconds(60)});
  for (const std::string& tenant : {kUuid, std::string("default")}) {
    auto bundle = registry.caBundle(tenant, "mqtt-ca");
    ASSERT_TRUE(bundle.has_value()) << tenant;
    EXPECT_EQ(*bundle->pem, "BUNDLE 1");
    EXPECT_EQ(bundle->cacheMaxAge, Seconds(60));
  }
  EXPECT_FALSE(registry.caBundle("nobody", "mqtt-ca").has_value());
  EXPECT_FALSE(registry.caBundle(kUuid, "other").has_value());

  // A response still being written keeps the bundle it started with.
  auto served = registry.caBundle(kUuid, "mqtt-ca");
  registry.setTrustBundle(key, "BUNDLE 2");
  EXPECT_EQ(*served->pem, "BUNDLE 1");
  EXPECT_EQ(*registry.caBundle(kUuid, "mqtt-ca")->pem, "BUNDLE 2");
}

TEST_F(CaRegistryTest, TheTrustBundleIsServedOnlyWhileTheCaHasLiveVersions) {
  ObjectKey broken{"default", "broken-ca"};
  registry.setTrustBundle(broken, "BUNDLE");
  EXPECT_FALSE(registry.caBundle(kUuid, "broken-ca").has_value());
  registry.setAuthority(broken, {material(ca, 1)}, AuthoritySettings{});
  EXPECT_TRUE(registry.caBundle(kUuid, "broken-ca").has_value());
  registry.setAuthority(broken, {}, AuthoritySettings{});
  EXPECT_FALSE(registry.caBundle(kUuid, "broken-ca").has_value());
  registry.setAuthority(broken, {material(ca, 1)}, AuthoritySettings{});
  registry.removeAuthority(broken);
  EXPECT_FALSE(registry.caBundle(kUuid, "broken-ca").has_value());
}

TEST_F(CaRegistryTest, HistoryCountsAndRevisions) {
  CaRegistry fresh(clock);
  Issued second = makeLeaf(ca, "second");
  std::vector<IssuedCertificate> ledger{ledgerLine(leaf, 1), ledgerLine(second, 1)};
  ledger[1].notAfter = leaf.cert.notAfter() + Seconds(100);
  fresh.loadHistory(key, ledger, {revocation(second.cert.serialHex(), clock.now())});
  fresh.setTenant("default", kUuid);
  fresh.setAuthority(key, {material(ca, 1)}, AuthoritySettings{});
  EXPECT_TRUE(fresh.hasAuthority(key));
  EXPECT_EQ(fresh.issuedCount(key), 2u);
  EXPECT_EQ(fresh.revokedCount(key), 1u);
  EXPECT_EQ(fresh.latestLeafExpiry(key), (std::map<int, TimePoint>{{1, leaf.cert.notAfter() + Seconds(100)}}));
  auto id = certId(second.cert, ca.cert);
  EXPECT_EQ(fresh.ocsp(kUuid, "mqtt-ca", requestFor(id.get())).outcome, OcspOutcome::Revoked);

  std::uint64_t revision = fresh.revocationRevision(key);
  EXPECT_FALSE(fresh.recordRevocation(key, revocation(second.cert.serialHex(), clock.now() + Seconds(5))));
  EXPECT_EQ(fresh.revocationRevision(key), revision);
  EXPECT_EQ(fresh.revocationOf(key, second.cert.serialHex())->revokedAt, clock.now());  // the first one stands
  EXPECT_TRUE(fresh.recordRevocation(key, revocation(leaf.cert.serialHex(), clock.now())));
  EXPECT_GT(fresh.revocationRevision(key), revision);
  EXPECT_FALSE(fresh.revocationOf(ObjectKey{"default", "nobody"}, "0A").has_value());
  EXPECT_EQ(fresh.issuedCount(ObjectKey{"default", "nobody"}), 0u);
}

TEST_F(CaRegistryTest, RemovedAuthorityIsUnauthorized) {
  registry.removeAuthority(key);
  EXPECT_FALSE(registry.hasAuthority(key));
  auto id = certId(leaf.cert, ca.cert);
  EXPECT_EQ(ask(requestFor(id.get())).outcome, OcspOutcome::Unauthorized);
}

TEST_F(CaRegistryTest, ReadinessAndMetrics) {
  EXPECT_FALSE(registry.ready());
  registry.markReady();
  EXPECT_TRUE(registry.ready());
  registry.setCrl(key, 1, pki::SignedCrl{"d", "p", 9, clock.now(), clock.now()});
  std::string metrics;
  registry.appendMetricsText(metrics);
  EXPECT_THAT(metrics, HasSubstr("revoca_ca_issued_certificates{namespace=\"default\",ca=\"mqtt-ca\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("revoca_ca_revoked_certificates{namespace=\"default\",ca=\"mqtt-ca\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("revoca_ca_version{namespace=\"default\",ca=\"mqtt-ca\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("revoca_crl_number{namespace=\"default\",ca=\"mqtt-ca\",version=\"1\"} 9\n"));
}

TEST_F(CaRegistryTest, ReadersAndARevocationRunConcurrently) {
  // The responder's threads answer while a reconciler revokes: every
  // answer is well formed, and once the revocation returns none is "good".
  auto id = certId(leaf.cert, ca.cert);
  std::string request = requestFor(id.get());
  std::atomic<bool> revoked{false}, stop{false};
  std::atomic<int> goodAfterRevocation{0}, malformed{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&] {
      while (!stop) {
        bool wasRevoked = revoked;
        responder::OcspReply reply = registry.ocsp(kUuid, "mqtt-ca", request);
        if (reply.outcome != OcspOutcome::Good && reply.outcome != OcspOutcome::Revoked) ++malformed;
        if (wasRevoked && reply.outcome == OcspOutcome::Good) ++goodAfterRevocation;
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  registry.recordRevocation(key, revocation(leaf.cert.serialHex(), clock.now()));
  revoked = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(malformed, 0);
  EXPECT_EQ(goodAfterRevocation, 0);
  EXPECT_EQ(statusOf(ask(request), id.get(), ca)->status, V_OCSP_CERTSTATUS_REVOKED);
}

}  // namespace
}  // namespace revoca
