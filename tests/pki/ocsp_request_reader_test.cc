#include "pki/ocsp_request_reader.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ocsp.h>

#include "testing/ocsp_request_builder.h"
#include "testing/pki_fixtures.h"
#include "testing/unwrap.h"

namespace revoca::pki {
namespace {

using namespace fixtures;
using testing::OcspRequestBuilder;
using testing::sha256Id;
using testing::unwrap;

// The fast reader and OpenSSL must read a request the same way.
void expectSameReading(const OcspRequest& fast, const OcspRequest& openssl) {
  ASSERT_EQ(fast.queries.size(), openssl.queries.size());
  for (std::size_t i = 0; i < fast.queries.size(); ++i) {
    EXPECT_EQ(fast.queries[i].hash, openssl.queries[i].hash) << i;
    EXPECT_EQ(fast.queries[i].issuerNameHash, openssl.queries[i].issuerNameHash) << i;
    EXPECT_EQ(fast.queries[i].issuerKeyHash, openssl.queries[i].issuerKeyHash) << i;
    EXPECT_EQ(fast.queries[i].serialHex, openssl.queries[i].serialHex) << i;
    EXPECT_EQ(fast.queries[i].certIdDer, openssl.queries[i].certIdDer) << i;
  }
  EXPECT_EQ(fast.nonce, openssl.nonce);
}

OCSP_CERTID* idWithSerial(const Certificate& issuer, const std::string& hex) {
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, hex.c_str());
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
  OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer.get()),
                                     X509_get0_pubkey_bitstr(issuer.get()), serial);
  ASN1_INTEGER_free(serial);
  BN_free(bn);
  return id;
}

// `der` with its outer SEQUENCE's length written in a needless long form.
std::string withLongFormLength(const std::string& der) {
  EXPECT_LT(static_cast<unsigned char>(der[1]), 0x80);
  return der.substr(0, 1) + "\x81" + der.substr(1);
}

class OcspRequestReaderTest : public ::testing::Test {
 protected:
  Issued ca = makeCa("reader ca");
  Issued leaf = makeLeaf(ca, "mqtt.example.com");
};

TEST_F(OcspRequestReaderTest, ReadsWhatOpensslClientsSendAsOpensslDoes) {
  OcspRequestBuilder sha1WithNonce;
  sha1WithNonce.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get())).nonce();
  OcspRequestBuilder sha256TwoCerts;
  sha256TwoCerts.add(sha256Id(leaf.cert, ca.cert)).add(sha256Id(makeLeaf(ca, "b").cert, ca.cert));
  OcspRequestBuilder plain;
  plain.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get()));
  for (const auto* builder : {&sha1WithNonce, &sha256TwoCerts, &plain}) {
    auto fast = readCommonOcspRequest(builder->der());
    ASSERT_TRUE(fast.has_value());
    expectSameReading(*fast, unwrap(parseOcspRequestWithOpenssl(builder->der())));
  }
  EXPECT_TRUE(readCommonOcspRequest(sha1WithNonce.der())->nonce.has_value());
  EXPECT_FALSE(readCommonOcspRequest(plain.der())->nonce.has_value());
}

TEST_F(OcspRequestReaderTest, PrintsSerialsAsSerialHexOf) {
  for (std::string hex : {"0", "1", "7F", "80", "FF00", "0102", "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"}) {
    OcspRequestBuilder builder;
    builder.add(idWithSerial(ca.cert, hex));
    auto fast = readCommonOcspRequest(builder.der());
    ASSERT_TRUE(fast.has_value()) << hex;
    expectSameReading(*fast, unwrap(parseOcspRequestWithOpenssl(builder.der())));
  }
}

TEST_F(OcspRequestReaderTest, ReadsAVersionSpelledOut) {
  // OCSPRequest { TBSRequest { [0] { INTEGER 0 }, requestList } } around a CertID of OpenSSL's.
  OcspRequestBuilder builder;
  builder.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get()));
  unsigned char* certId = nullptr;
  int certIdLength = i2d_OCSP_CERTID(builder.id(0), &certId);
  std::string request = std::string("\x30", 1) + static_cast<char>(certIdLength) +
                        std::string(reinterpret_cast<char*>(certId), static_cast<std::size_t>(certIdLength));
  OPENSSL_free(certId);
  std::string list = std::string("\x30", 1) + static_cast<char>(request.size()) + request;
  std::string tbs = std::string("\xA0\x03\x02\x01\x00", 5) + list;
  std::string body = std::string("\x30", 1) + static_cast<char>(tbs.size()) + tbs;
  std::string der = std::string("\x30", 1) + static_cast<char>(body.size()) + body;
  auto fast = readCommonOcspRequest(der);
  ASSERT_TRUE(fast.has_value());
  expectSameReading(*fast, unwrap(parseOcspRequestWithOpenssl(der)));
}

// What the fast reader leaves to OpenSSL, parseOcspRequest still reads.
TEST_F(OcspRequestReaderTest, LeavesOtherShapesToOpenssl) {
  OcspRequestBuilder sha384;
  sha384.add(OCSP_cert_id_new(EVP_sha384(), X509_get_subject_name(ca.cert.get()),
                              X509_get0_pubkey_bitstr(ca.cert.get()),
                              X509_get0_serialNumber(leaf.cert.get())));
  OcspRequestBuilder named;
  named.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get()));
  ASSERT_EQ(OCSP_request_set1_name(named.get(), X509_get_subject_name(leaf.cert.get())), 1);
  OcspRequestBuilder signedRequest;
  signedRequest.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get()));
  ASSERT_EQ(OCSP_request_sign(signedRequest.get(), leaf.cert.get(), leaf.key.get(), EVP_sha256(),
                              nullptr, 0),
            1);
  OcspRequestBuilder negative;
  negative.add(idWithSerial(ca.cert, "-5"));

  for (const auto* builder : {&sha384, &named, &signedRequest, &negative}) {
    EXPECT_FALSE(readCommonOcspRequest(builder->der()).has_value());
    auto parsed = parseOcspRequest(builder->der());
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    expectSameReading(*parsed, unwrap(parseOcspRequestWithOpenssl(builder->der())));
  }
  EXPECT_EQ(unwrap(parseOcspRequest(sha384.der())).queries[0].hash, CertIdHash::Other);
  EXPECT_EQ(unwrap(parseOcspRequest(negative.der())).queries[0].serialHex, "-5");
}

TEST_F(OcspRequestReaderTest, ReadsStrictDerOnly) {
  OcspRequestBuilder builder;
  builder.add(OCSP_cert_to_id(nullptr, leaf.cert.get(), ca.cert.get()));
  std::string der = builder.der();
  EXPECT_FALSE(readCommonOcspRequest(withLongFormLength(der)).has_value());
  EXPECT_FALSE(readCommonOcspRequest(der + std::string(1, '\0')).has_value());
  EXPECT_FALSE(readCommonOcspRequest(der.substr(0, der.size() - 1)).has_value());
  EXPECT_FALSE(readCommonOcspRequest("").has_value());
  // And parseOcspRequest refuses what OpenSSL refuses.
  EXPECT_FALSE(parseOcspRequest(der + std::string(1, '\0')).ok());
  EXPECT_FALSE(parseOcspRequest(der.substr(0, der.size() - 1)).ok());
}

}  // namespace
}  // namespace revoca::pki
