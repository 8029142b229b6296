#include "pki/key.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "testing/pki_fixtures.h"
#include "testing/unwrap.h"

namespace revoca::pki {
namespace {

using testing::unwrap;

struct CurveCase {
  Curve curve;
  int bits;
};

class EcKeyTest : public ::testing::TestWithParam<CurveCase> {};

TEST_P(EcKeyTest, GeneratesTheCurve) {
  PrivateKey key = unwrap(PrivateKey::generate({KeyType::Ecdsa, GetParam().curve, 0}));
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), GetParam().bits);
}

INSTANTIATE_TEST_SUITE_P(Curves, EcKeyTest,
                         ::testing::Values(CurveCase{Curve::P256, 256}, CurveCase{Curve::P384, 384},
                                           CurveCase{Curve::P521, 521}));

TEST(KeyTest, GeneratesRsa2048) {
  PrivateKey key = unwrap(PrivateKey::generate({KeyType::Rsa, Curve::P256, 2048}));
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 2048);
}

TEST(KeyTest, RejectsRsaSizesOutsideTheRange) {
  for (int bits : {1024, 2047, 8192}) {
    auto key = PrivateKey::generate({KeyType::Rsa, Curve::P256, bits});
    ASSERT_FALSE(key.ok()) << bits;
    EXPECT_NE(key.error().message.find(std::to_string(bits)), std::string::npos);
    EXPECT_NE(key.error().message.find("2048 to 4096"), std::string::npos);
  }
}

TEST(KeyTest, PemRoundTripKeepsTheKey) {
  for (KeySpec spec : {KeySpec{KeyType::Ecdsa, Curve::P384, 0},
                       KeySpec{KeyType::Rsa, Curve::P256, 2048}}) {
    PrivateKey key = unwrap(PrivateKey::generate(spec));
    std::string pem = key.toPem();
    EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << "PKCS#8, unencrypted";
    PrivateKey back = unwrap(PrivateKey::fromPem(pem));
    EXPECT_EQ(EVP_PKEY_eq(key.get(), back.get()), 1);
    EXPECT_EQ(back.toPem(), pem);
    EXPECT_EQ(back.publicKeyDer(), key.publicKeyDer());
  }
}

// key.cc writes an EC key's PKCS#8 itself (OpenSSL 3.0's encoder costs two
// signatures a call): byte for byte what OpenSSL writes, for every curve.
TEST(KeyTest, PemIsOpensslsPkcs8) {
  const KeySpec specs[] = {{KeyType::Ecdsa, Curve::P256}, {KeyType::Ecdsa, Curve::P384},
                           {KeyType::Ecdsa, Curve::P521}, {KeyType::Rsa, Curve::P256, 2048}};
  for (const KeySpec& spec : specs) {
    // Until a scalar with a leading zero byte has come (1 in 256), which
    // needs padding to the curve's size; at least 4 keys a curve.
    bool padded = spec.type == KeyType::Rsa;
    for (int i = 0; i < 4 || (!padded && i < 5000); ++i) {
      PrivateKey key = unwrap(PrivateKey::generate(spec));
      if (!padded) {
        BIGNUM* scalar = nullptr;
        ASSERT_EQ(EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &scalar), 1);
        padded = BN_num_bytes(scalar) < (EVP_PKEY_get_bits(key.get()) + 7) / 8;
        BN_clear_free(scalar);
      }
      BIO* bio = BIO_new(BIO_s_mem());
      ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
      char* data = nullptr;
      long size = BIO_get_mem_data(bio, &data);
      std::string openssl(data, static_cast<std::size_t>(size));
      BIO_free(bio);
      std::string pem = key.toPem();
      EXPECT_EQ(pem, openssl) << "curve " << static_cast<int>(spec.curve);
      PrivateKey back = unwrap(PrivateKey::fromPem(pem));
      EXPECT_EQ(back.toPem(), pem);
      EXPECT_EQ(EVP_PKEY_eq(back.get(), key.get()), 1);
      if (spec.type == KeyType::Rsa) break;
    }
    EXPECT_TRUE(padded) << "curve " << static_cast<int>(spec.curve);
  }
}

TEST(KeyTest, PublicKeyDerIsSubjectPublicKeyInfo) {
  PrivateKey key = unwrap(PrivateKey::generate({}));
  std::string der = key.publicKeyDer();
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(EVP_PKEY_eq(pub, key.get()), 1);
  EVP_PKEY_free(pub);
}

TEST(KeyTest, FromPemRejectsGarbageWithoutEchoingIt) {
  PrivateKey key = unwrap(PrivateKey::generate({}));
  std::string pem = key.toPem();
  std::string broken = pem.substr(0, pem.size() / 2) + "\n-----END PRIVATE KEY-----\n";
  for (const std::string& text : {std::string("hello"), std::string(), broken}) {
    auto parsed = PrivateKey::fromPem(text);
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message.find("not a PEM private key"), std::string::npos);
    // A line of the key's base64 must never reach an error message.
    EXPECT_EQ(parsed.error().message.find(pem.substr(28, 40)), std::string::npos);
  }
}

TEST(KeyTest, FromPemRefusesEncryptedKeysWithoutPrompting) {
  PrivateKey key = unwrap(PrivateKey::generate({}));
  BIO* bio = BIO_new(BIO_s_mem());
  char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, key.get(), EVP_aes_256_cbc(), pass, 6, nullptr,
                                          nullptr),
            1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string encrypted(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  EXPECT_FALSE(PrivateKey::fromPem(encrypted).ok());
}

TEST(KeyTest, FromPemRejectsUnsupportedKeyTypes) {
  EVP_PKEY* ed = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  ASSERT_NE(ed, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, ed, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(ed);
  auto parsed = PrivateKey::fromPem(pem);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("ED25519"), std::string::npos) << parsed.error().message;
}

}  // namespace
}  // namespace revoca::pki
