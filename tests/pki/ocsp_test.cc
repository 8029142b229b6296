#include "pki/ocsp.h"

#include <gtest/gtest.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <chrono>

#include "testing/fake_clock.h"
#include "testing/ocsp_request_builder.h"
#include "testing/pki_fixtures.h"
#include "testing/temp_dir.h"
#include "testing/unwrap.h"

namespace revoca::pki {
namespace {

using namespace fixtures;
using testing::contentsOf;
using testing::nowSeconds;
using testing::OcspRequestBuilder;
using testing::sha256Id;
using testing::TempDir;
using testing::unwrap;

// A parsed response with its basic response, verified against `ca`, an
// intermediate CA's with its `root`.
struct CheckedResponse {
  CheckedResponse(const std::string& der, const Certificate& ca, const Certificate* root = nullptr) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()));
    if (response == nullptr) return;
    status = OCSP_response_status(response);
    basic = OCSP_response_get1_basic(response);
    if (basic == nullptr) return;
    // The verifier is handed the CA, whatever rides in the response.
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, root ? root->get() : ca.get());
    STACK_OF(X509)* signers = sk_X509_new_null();
    sk_X509_push(signers, ca.get());
    verified = OCSP_basic_verify(basic, signers, store, 0);
    sk_X509_free(signers);
    X509_STORE_free(store);
  }
  ~CheckedResponse() {
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(response);
  }
  OCSP_RESPONSE* response = nullptr;
  OCSP_BASICRESP* basic = nullptr;
  int status = -1;
  int verified = -1;
};

class OcspTest : public ::testing::Test {
 protected:
  Issued ca = makeCa("ocsp ca");
  Issued leaf = makeLeaf(ca, "mqtt.example.com");
  TimePoint now = nowSeconds();
};

TEST_F(OcspTest, ParsesSha1RequestWithNonce) {
  OcspRequestBuilder builder;
  builder.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get())).nonce();
  OcspRequest request = unwrap(parseOcspRequest(builder.der()));
  ASSERT_EQ(request.queries.size(), 1u);
  const CertIdQuery& query = request.queries[0];
  EXPECT_EQ(query.hash, CertIdHash::Sha1);
  EXPECT_EQ(query.serialHex, leaf.cert.serialHex());
  EXPECT_EQ(query.issuerNameHash.size(), 20u);
  EXPECT_TRUE(matches(issuerHashesOf(ca.cert), query));
  EXPECT_FALSE(matches(issuerHashesOf(makeCa("other").cert), query));
  ASSERT_TRUE(request.nonce.has_value());
  // OpenSSL wraps its 16 random bytes in an OCTET STRING: 04 10 ...
  EXPECT_EQ(request.nonce->size(), 18u);
}

TEST_F(OcspTest, ParsesSha256AndOtherHashes) {
  OcspRequestBuilder builder;
  builder.add(sha256Id(leaf.cert, ca.cert))
      .add(OCSP_cert_id_new(EVP_sha384(), X509_get_subject_name(ca.cert.get()),
                            X509_get0_pubkey_bitstr(ca.cert.get()),
                            X509_get0_serialNumber(leaf.cert.get())));
  OcspRequest request = unwrap(parseOcspRequest(builder.der()));
  ASSERT_EQ(request.queries.size(), 2u);
  EXPECT_EQ(request.queries[0].hash, CertIdHash::Sha256);
  EXPECT_EQ(request.queries[0].issuerKeyHash.size(), 32u);
  EXPECT_TRUE(matches(issuerHashesOf(ca.cert), request.queries[0]));
  EXPECT_EQ(request.queries[1].hash, CertIdHash::Other);
  EXPECT_FALSE(matches(issuerHashesOf(ca.cert), request.queries[1]));
  EXPECT_FALSE(request.nonce.has_value());
}

TEST_F(OcspTest, IssuerHashesAreWhatOpensslPutsInCertIds) {
  IssuerHashes hashes = issuerHashesOf(ca.cert);
  OCSP_CERTID* id = OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get());
  ASN1_OCTET_STRING* nameHash = nullptr;
  ASN1_OCTET_STRING* keyHash = nullptr;
  OCSP_id_get0_info(&nameHash, nullptr, &keyHash, nullptr, id);
  auto bytes = [](const ASN1_OCTET_STRING* s) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
  };
  EXPECT_EQ(hashes.nameSha1, bytes(nameHash));
  EXPECT_EQ(hashes.keySha1, bytes(keyHash));
  OCSP_CERTID_free(id);
}

TEST_F(OcspTest, RejectsWhatIsNotARequest) {
  OcspRequestBuilder valid;
  valid.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get()));
  OcspRequestBuilder empty;
  for (const std::string& bytes :
       {std::string(), std::string("garbage bytes"), std::string("\x30\x00", 2),
        valid.der() + std::string("\x00", 1), valid.der().substr(0, valid.der().size() - 3),
        leaf.cert.toDer(), empty.der()}) {
    EXPECT_FALSE(parseOcspRequest(bytes).ok()) << bytes.size() << " bytes";
  }
  auto none = parseOcspRequest(empty.der());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no certificate"), std::string::npos);
}

TEST_F(OcspTest, SignedResponseVerifiesAndAnswersEachQuery) {
  Issued revoked = makeLeaf(ca, "revoked");
  Issued hold = makeLeaf(ca, "hold");
  OcspRequestBuilder builder;
  builder.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get()))
      .add(OCSP_cert_to_id(nullptr, revoked.cert.get(), ca.cert.get()))
      .add(OCSP_cert_to_id(nullptr, hold.cert.get(), ca.cert.get()))
      .nonce("a nonce of mine");
  OcspRequest request = unwrap(parseOcspRequest(builder.der()));
  ASSERT_EQ(request.queries.size(), 3u);

  TimePoint revokedAt = now - std::chrono::hours(5);
  std::vector<SingleAnswer> answers(3);
  for (std::size_t i = 0; i < 3; ++i) {
    answers[i].query = &request.queries[i];
    answers[i].thisUpdate = now - std::chrono::minutes(1);
    answers[i].nextUpdate = now + std::chrono::hours(1);
  }
  answers[0].status = CertStatus::Good;
  answers[1].status = CertStatus::Revoked;
  answers[1].revokedAt = revokedAt;
  answers[1].reason = RevocationReason::KeyCompromise;
  answers[2].status = CertStatus::Revoked;
  answers[2].revokedAt = revokedAt;
  answers[2].reason = RevocationReason::Unspecified;

  std::string der = unwrap(signOcspResponse(answers, request.nonce, ca.cert, ca.key,
                                            Digest::Sha256, now));
  CheckedResponse response(der, ca.cert);
  ASSERT_NE(response.basic, nullptr);
  EXPECT_EQ(response.status, OCSP_RESPONSE_STATUS_SUCCESSFUL);
  EXPECT_EQ(response.verified, 1);
  EXPECT_EQ(OCSP_check_nonce(builder.get(), response.basic), 1);

  int status = -1, reason = -2;
  ASN1_GENERALIZEDTIME *when = nullptr, *thisUpdate = nullptr, *nextUpdate = nullptr;
  ASSERT_EQ(OCSP_resp_find_status(response.basic, builder.id(0), &status, &reason, &when,
                                  &thisUpdate, &nextUpdate),
            1);
  EXPECT_EQ(status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(OCSP_check_validity(thisUpdate, nextUpdate, 5, -1), 1);
  ASSERT_EQ(OCSP_resp_find_status(response.basic, builder.id(1), &status, &reason, &when,
                                  &thisUpdate, &nextUpdate),
            1);
  EXPECT_EQ(status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
  std::tm tm{};
  ASN1_TIME_to_tm(when, &tm);
  EXPECT_EQ(fromUnixSeconds(timegm(&tm)), revokedAt);
  ASSERT_EQ(OCSP_resp_find_status(response.basic, builder.id(2), &status, &reason, &when,
                                  &thisUpdate, &nextUpdate),
            1);
  EXPECT_EQ(status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(reason, OCSP_REVOKED_STATUS_NOSTATUS);
}

TEST_F(OcspTest, Sha256UnknownAnswerWithoutNonce) {
  OcspRequestBuilder builder;
  builder.add(sha256Id(leaf.cert, ca.cert));
  OcspRequest request = unwrap(parseOcspRequest(builder.der()));
  SingleAnswer answer{&request.queries[0], CertStatus::Unknown, {}, RevocationReason::Unspecified,
                      now, now + std::chrono::hours(1)};
  std::string der = unwrap(signOcspResponse({answer}, request.nonce, ca.cert, ca.key,
                                            Digest::Sha384, now));
  CheckedResponse response(der, ca.cert);
  ASSERT_NE(response.basic, nullptr);
  EXPECT_EQ(response.verified, 1);
  EXPECT_EQ(OCSP_check_nonce(builder.get(), response.basic), 2) << "no nonce on either side";
  int status = -1;
  ASSERT_EQ(OCSP_resp_find_status(response.basic, builder.id(0), &status, nullptr, nullptr,
                                  nullptr, nullptr),
            1);
  EXPECT_EQ(status, V_OCSP_CERTSTATUS_UNKNOWN);
  const X509_ALGOR* algorithm = OCSP_resp_get0_tbs_sigalg(response.basic);
  EXPECT_EQ(OBJ_obj2nid(algorithm->algorithm), NID_ecdsa_with_SHA384);
}

TEST_F(OcspTest, NamesItselfByKeyHashAndCarriesItsOwnCertificate) {
  OcspRequestBuilder builder;
  builder.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get()));
  OcspRequest request = unwrap(parseOcspRequest(builder.der()));
  TimePoint produced = fromUnixSeconds(1700000000);  // the injected clock, not the system's
  SingleAnswer answer{&request.queries[0], CertStatus::Good, {}, RevocationReason::Unspecified,
                      now, now + std::chrono::hours(1)};
  std::string der = unwrap(signOcspResponse({answer}, std::nullopt, ca.cert, ca.key,
                                            Digest::Sha256, produced));
  CheckedResponse response(der, ca.cert);
  ASSERT_NE(response.basic, nullptr);
  EXPECT_EQ(response.verified, 1);
  const ASN1_OCTET_STRING* keyId = nullptr;
  const X509_NAME* name = nullptr;
  ASSERT_EQ(OCSP_resp_get0_id(response.basic, &keyId, &name), 1);
  EXPECT_EQ(name, nullptr);
  ASSERT_NE(keyId, nullptr);
  std::string keyHash(reinterpret_cast<const char*>(ASN1_STRING_get0_data(keyId)),
                      static_cast<std::size_t>(ASN1_STRING_length(keyId)));
  EXPECT_EQ(keyHash, issuerHashesOf(ca.cert).keySha1);
  // A root's own certificate only, for verifiers that look for the signer in
  // the response (nginx); Go's x/crypto/ocsp accepts it because the issuer
  // signed it, which it checks of the first certificate there.
  const STACK_OF(X509)* certs = OCSP_resp_get0_certs(response.basic);
  ASSERT_EQ(sk_X509_num(certs), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(certs, 0), ca.cert.get()), 0);
  EXPECT_EQ(X509_verify(sk_X509_value(certs, 0), X509_get0_pubkey(ca.cert.get())), 1);
  std::tm tm{};
  ASN1_TIME_to_tm(OCSP_resp_get0_produced_at(response.basic), &tm);
  EXPECT_EQ(fromUnixSeconds(timegm(&tm)), produced);
}

// An intermediate's own certificate in its answers is one its issuer (the
// root) signed, not the intermediate: Go's x/crypto/ocsp would take it for a
// delegated responder and reject every answer. So none rides along.
TEST_F(OcspTest, AnIntermediateCarriesNoCertificate) {
  Issued intermediate = makeCa("ocsp intermediate", {}, &ca);
  Issued issued = makeLeaf(intermediate, "mqtt.example.com");
  OcspRequestBuilder builder;
  builder.add(OCSP_cert_to_id(nullptr, issued.cert.get(), intermediate.cert.get()));
  OcspRequest request = unwrap(parseOcspRequest(builder.der()));
  SingleAnswer answer{&request.queries[0], CertStatus::Good, {}, RevocationReason::Unspecified,
                      now, now + std::chrono::hours(1)};
  std::string der = unwrap(signOcspResponse({answer}, std::nullopt, intermediate.cert, intermediate.key,
                                            Digest::Sha256, now));
  CheckedResponse response(der, intermediate.cert, &ca.cert);
  ASSERT_NE(response.basic, nullptr);
  EXPECT_EQ(response.verified, 1);
  EXPECT_EQ(OCSP_resp_get0_certs(response.basic), nullptr) << "no certs field at all";
  int status = -1;
  ASSERT_EQ(OCSP_resp_find_status(response.basic, builder.id(0), &status, nullptr, nullptr, nullptr, nullptr), 1);
  EXPECT_EQ(status, V_OCSP_CERTSTATUS_GOOD);

  // The root's answers, signed on the same thread in between, still carry the root.
  OcspRequestBuilder rootBuilder;
  rootBuilder.add(OCSP_cert_to_id(nullptr, intermediate.cert.get(), ca.cert.get()));
  OcspRequest rootRequest = unwrap(parseOcspRequest(rootBuilder.der()));
  SingleAnswer rootAnswer = answer;
  rootAnswer.query = &rootRequest.queries[0];
  CheckedResponse fromRoot(unwrap(signOcspResponse({rootAnswer}, std::nullopt, ca.cert, ca.key, Digest::Sha256, now)),
                           ca.cert);
  ASSERT_NE(fromRoot.basic, nullptr);
  EXPECT_EQ(sk_X509_num(OCSP_resp_get0_certs(fromRoot.basic)), 1);
  CheckedResponse again(unwrap(signOcspResponse({answer}, std::nullopt, intermediate.cert, intermediate.key,
                                                Digest::Sha256, now)),
                        intermediate.cert, &ca.cert);
  ASSERT_NE(again.basic, nullptr);
  EXPECT_EQ(OCSP_resp_get0_certs(again.basic), nullptr);
}

TEST_F(OcspTest, SigningRejectsBadInput) {
  OcspRequestBuilder builder;
  builder.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get()));
  OcspRequest request = unwrap(parseOcspRequest(builder.der()));
  SingleAnswer answer{&request.queries[0], CertStatus::Good, {}, RevocationReason::Unspecified,
                      now, now + std::chrono::hours(1)};
  EXPECT_FALSE(signOcspResponse({}, std::nullopt, ca.cert, ca.key, Digest::Sha256, now).ok());
  SingleAnswer orphan = answer;
  orphan.query = nullptr;
  EXPECT_FALSE(signOcspResponse({orphan}, std::nullopt, ca.cert, ca.key, Digest::Sha256, now).ok());
  Issued other = makeCa("other");
  auto mismatch = signOcspResponse({answer}, std::nullopt, ca.cert, other.key, Digest::Sha256, now);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("signing the OCSP response"), std::string::npos);
  CertIdQuery broken = request.queries[0];
  broken.certIdDer = "junk";
  answer.query = &broken;
  EXPECT_FALSE(signOcspResponse({answer}, std::nullopt, ca.cert, ca.key, Digest::Sha256, now).ok());
}

TEST(OcspErrorTest, ErrorResponsesCarryOnlyTheStatus) {
  for (auto [status, expected] : {std::pair{OcspErrorStatus::MalformedRequest, 1},
                                  std::pair{OcspErrorStatus::InternalError, 2},
                                  std::pair{OcspErrorStatus::TryLater, 3},
                                  std::pair{OcspErrorStatus::Unauthorized, 6}}) {
    std::string der = ocspErrorResponse(status);
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()));
    ASSERT_NE(response, nullptr);
    EXPECT_EQ(p, reinterpret_cast<const unsigned char*>(der.data()) + der.size());
    EXPECT_EQ(OCSP_response_status(response), expected);
    EXPECT_EQ(OCSP_response_get1_basic(response), nullptr);
    OCSP_RESPONSE_free(response);
  }
}

// The real openssl tool reads the response, verifies it and finds the status.
TEST_F(OcspTest, OpensslCliAcceptsTheResponse) {
  if (!haveOpensslCli()) GTEST_SKIP() << "openssl not on PATH";
  OcspRequestBuilder builder;
  builder.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get())).nonce();
  OcspRequest request = unwrap(parseOcspRequest(builder.der()));
  SingleAnswer answer{&request.queries[0], CertStatus::Revoked, now - std::chrono::hours(1),
                      RevocationReason::Superseded, now, now + std::chrono::hours(1)};
  std::string der = unwrap(signOcspResponse({answer}, request.nonce, ca.cert, ca.key,
                                            Digest::Sha256, now));
  TempDir dir;
  dir.write("ca.pem", ca.cert.toPem());
  dir.write("leaf.pem", leaf.cert.toPem());
  dir.write("req.der", builder.der());
  dir.write("resp.der", der);
  std::string out = dir.file("out.txt");
  // -reqin makes openssl check the nonce against the request as well.
  std::string command = "openssl ocsp -reqin " + dir.file("req.der") + " -respin " +
                        dir.file("resp.der") + " -CAfile " + dir.file("ca.pem") + " -VAfile " +
                        dir.file("ca.pem") + " -resp_text > " + out + " 2>&1";
  std::system(command.c_str());
  std::string text = contentsOf(out);
  for (const char* expected : {"Response verify OK", "Responder Id", "Cert Status: revoked",
                               "Revocation Reason: superseded", "OCSP Nonce"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
}

// The response is assembled as DER: the AlgorithmIdentifier comes from the
// key's provider, so an RSA CA signs with sha256WithRSAEncryption (NULL
// parameters) and OpenSSL verifies it.
TEST(OcspRsaTest, AnRsaCaSignsAResponseOpensslVerifies) {
  KeySpec rsa;
  rsa.type = KeyType::Rsa;
  Issued ca = makeCa("rsa ocsp ca", rsa);
  Issued leaf = makeLeaf(ca, "mqtt.example.com");
  TimePoint now = nowSeconds();
  OcspRequestBuilder builder;
  builder.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get()));
  OcspRequest request = unwrap(parseOcspRequest(builder.der()));
  SingleAnswer answer{&request.queries[0], CertStatus::Revoked, now - std::chrono::hours(2),
                      RevocationReason::KeyCompromise, now, now + std::chrono::hours(1)};
  std::string der = unwrap(signOcspResponse({answer}, request.nonce, ca.cert, ca.key, Digest::Sha256, now));
  CheckedResponse response(der, ca.cert);
  ASSERT_NE(response.basic, nullptr);
  EXPECT_EQ(response.verified, 1);
  EXPECT_EQ(OBJ_obj2nid(OCSP_resp_get0_tbs_sigalg(response.basic)->algorithm), NID_sha256WithRSAEncryption);
  int status = -1, reason = -1;
  ASSERT_EQ(OCSP_resp_find_status(response.basic, builder.id(0), &status, &reason, nullptr, nullptr, nullptr), 1);
  EXPECT_EQ(status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
}

}  // namespace
}  // namespace revoca::pki
