#include "pki/certificate.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <set>

#include "pki/openssl_util.h"
#include "testing/pki_fixtures.h"
#include "testing/unwrap.h"

namespace revoca::pki {
namespace {

using namespace fixtures;
using testing::unwrap;

// X509_verify_cert of `leaf` against `root`, with `untrusted` intermediates.
int verifyChain(const Certificate& leaf, const Certificate& root,
                const std::vector<const Certificate*>& untrusted = {}) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root.get());
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (const Certificate* c : untrusted) sk_X509_push(chain, c->get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf.get(), chain);
  int ok = X509_verify_cert(ctx);
  int error = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(chain);
  X509_STORE_free(store);
  return ok == 1 ? X509_V_OK : error;
}

std::string uriOf(const GENERAL_NAME* name) {
  if (name->type != GEN_URI) return "";
  const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<std::size_t>(ASN1_STRING_length(uri)));
}

std::vector<std::string> crlUrlsOf(const Certificate& cert) {
  std::vector<std::string> urls;
  auto* points = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(cert.get(), NID_crl_distribution_points, nullptr, nullptr));
  for (int i = 0; i < sk_DIST_POINT_num(points); ++i) {
    const DIST_POINT* point = sk_DIST_POINT_value(points, i);
    GENERAL_NAMES* names = point->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      urls.push_back(uriOf(sk_GENERAL_NAME_value(names, j)));
    }
  }
  CRL_DIST_POINTS_free(points);
  return urls;
}

std::vector<std::string> ocspUrlsOf(const Certificate& cert) {
  std::vector<std::string> urls;
  STACK_OF(OPENSSL_STRING)* list = X509_get1_ocsp(cert.get());
  for (int i = 0; i < sk_OPENSSL_STRING_num(list); ++i) {
    urls.push_back(sk_OPENSSL_STRING_value(list, i));
  }
  X509_email_free(list);
  return urls;
}

std::string octets(const ASN1_OCTET_STRING* s) {
  if (s == nullptr) return "<none>";
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

TEST(CertificateTest, RootAndLeafChainVerifies) {
  Issued root = makeCa("revoca test root");
  Issued leaf = makeLeaf(root, "mqtt.example.com");
  EXPECT_EQ(verifyChain(leaf.cert, root.cert), X509_V_OK);
  EXPECT_EQ(verifyChain(root.cert, root.cert), X509_V_OK);
  Issued stranger = makeCa("someone else");
  EXPECT_NE(verifyChain(leaf.cert, stranger.cert), X509_V_OK);
}

TEST(CertificateTest, IntermediateChainVerifiesWithRsaAndSha512) {
  KeySpec rsa{KeyType::Rsa, Curve::P256, 2048};
  Issued root = makeCa("root", {KeyType::Ecdsa, Curve::P521, 0}, nullptr, 1);
  Issued intermediate = makeCa("intermediate", rsa, &root, 0);
  PrivateKey key = unwrap(PrivateKey::generate(rsa));
  IssueRequest request = leafRequest("client-1", CertType::Client);
  request.digest = Digest::Sha512;
  Certificate leaf = unwrap(issueCertificate(request, key, &intermediate.cert, &intermediate.key));
  EXPECT_EQ(verifyChain(leaf, root.cert, {&intermediate.cert}), X509_V_OK);
  EXPECT_EQ(X509_get_signature_nid(leaf.get()), NID_sha512WithRSAEncryption);
  EXPECT_EQ(X509_get_pathlen(intermediate.cert.get()), 0);
  EXPECT_EQ(X509_get_pathlen(root.cert.get()), 1);
  EXPECT_EQ(X509_get_key_usage(leaf.get()), unsigned{KU_DIGITAL_SIGNATURE}) << "a client: no keyEncipherment";
}

TEST(CertificateTest, EcdsaSignsWithTheRequestedDigest) {
  Issued root = makeCa("root", {KeyType::Ecdsa, Curve::P384, 0});
  PrivateKey key = unwrap(PrivateKey::generate({}));
  IssueRequest request = leafRequest("mqtt");
  request.digest = Digest::Sha384;
  Certificate leaf = unwrap(issueCertificate(request, key, &root.cert, &root.key));
  EXPECT_EQ(X509_get_signature_nid(leaf.get()), NID_ecdsa_with_SHA384);
  EXPECT_EQ(X509_get_signature_nid(root.cert.get()), NID_ecdsa_with_SHA256);
}

TEST(CertificateTest, AuthorityExtensions) {
  Issued root = makeCa("root");
  X509* ca = root.cert.get();
  EXPECT_EQ(X509_get_version(ca), X509_VERSION_3);
  EXPECT_EQ(X509_check_ca(ca), 1);
  EXPECT_EQ(X509_get_pathlen(ca), -1) << "no pathLength asked for";
  EXPECT_EQ(X509_get_key_usage(ca),
            unsigned{KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE});
  EXPECT_EQ(X509_get_extension_flags(ca) & EXFLAG_XKUSAGE, 0u) << "no EKU on a CA";
  int critical = 0;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(ca, NID_basic_constraints, &critical, nullptr));
  EXPECT_EQ(critical, 1);
  BASIC_CONSTRAINTS_free(bc);
  auto* ku = static_cast<ASN1_BIT_STRING*>(X509_get_ext_d2i(ca, NID_key_usage, &critical, nullptr));
  EXPECT_EQ(critical, 1);
  ASN1_BIT_STRING_free(ku);
  ASSERT_NE(X509_get0_subject_key_id(ca), nullptr);
  EXPECT_EQ(octets(X509_get0_authority_key_id(ca)), octets(X509_get0_subject_key_id(ca)));
  EXPECT_EQ(X509_get_ext_by_NID(ca, NID_subject_alt_name, -1), -1);
  EXPECT_EQ(X509_check_issued(ca, ca), X509_V_OK) << "self-signed";
}

TEST(CertificateTest, LeafExtensions) {
  Issued root = makeCa("root");
  Issued server = makeLeaf(root, "mqtt.example.com");
  Issued client = makeLeaf(root, "device-7", CertType::Client);
  X509* s = server.cert.get();
  EXPECT_EQ(X509_check_ca(s), 0);
  EXPECT_EQ(X509_get_key_usage(s), unsigned{KU_DIGITAL_SIGNATURE}) << "EC: no keyEncipherment";
  EXPECT_EQ(X509_get_extended_key_usage(s), unsigned{XKU_SSL_SERVER});
  EXPECT_EQ(X509_get_extended_key_usage(client.cert.get()), unsigned{XKU_SSL_CLIENT});
  EXPECT_EQ(X509_check_host(s, "mqtt.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(s, "other.example.com", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(s, "10.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(s, "2001:db8::1", 0), 1);
  EXPECT_EQ(crlUrlsOf(server.cert), std::vector<std::string>{kCrlUrl});
  EXPECT_EQ(ocspUrlsOf(server.cert), std::vector<std::string>{kOcspUrl});
  EXPECT_EQ(octets(X509_get0_authority_key_id(s)),
            octets(X509_get0_subject_key_id(root.cert.get())));
  EXPECT_NE(octets(X509_get0_subject_key_id(s)), octets(X509_get0_subject_key_id(root.cert.get())));
  EXPECT_EQ(X509_check_purpose(s, X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_purpose(client.cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
}

// zlint's e_key_usage_and_extended_key_usage_inconsistent: RFC 5280
// 4.2.1.12 pairs clientAuth with digitalSignature or keyAgreement only.
TEST(CertificateTest, RsaKeyEnciphermentOnlyForServers) {
  KeySpec rsa{KeyType::Rsa, Curve::P256, 2048};
  Issued root = makeCa("root");
  Issued server = makeLeaf(root, "mqtt.example.com", CertType::Server, rsa);
  Issued client = makeLeaf(root, "device-7", CertType::Client, rsa);
  EXPECT_EQ(X509_get_key_usage(server.cert.get()), unsigned{KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT})
      << "TLS 1.2 RSA key exchange";
  EXPECT_EQ(X509_get_key_usage(client.cert.get()), unsigned{KU_DIGITAL_SIGNATURE});
  EXPECT_EQ(X509_check_purpose(client.cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
}

TEST(CertificateTest, UrlsWithCommasStayWhole) {
  Issued root = makeCa("root");
  PrivateKey key = unwrap(PrivateKey::generate({}));
  IssueRequest request = leafRequest("mqtt");
  request.crlDistributionUrls = {"http://a.example/crl?x=1,2", "http://b.example/crl"};
  request.ocspUrls = {"http://a.example/ocsp/"};
  Certificate leaf = unwrap(issueCertificate(request, key, &root.cert, &root.key));
  EXPECT_EQ(crlUrlsOf(leaf), request.crlDistributionUrls);
}

TEST(CertificateTest, LeafWithoutNamesOrUrlsHasNoSuchExtensions) {
  Issued root = makeCa("root");
  PrivateKey key = unwrap(PrivateKey::generate({}));
  IssueRequest request = leafRequest("bare");
  request.dnsNames.clear();
  request.ipAddresses.clear();
  request.crlDistributionUrls.clear();
  request.ocspUrls.clear();
  Certificate leaf = unwrap(issueCertificate(request, key, &root.cert, &root.key));
  for (int nid : {NID_subject_alt_name, NID_crl_distribution_points, NID_info_access}) {
    EXPECT_EQ(X509_get_ext_by_NID(leaf.get(), nid, -1), -1) << OBJ_nid2sn(nid);
  }
}

TEST(CertificateTest, AccessorsReportWhatWasIssued) {
  Issued root = makeCa("root");
  PrivateKey key = unwrap(PrivateKey::generate({}));
  IssueRequest request = leafRequest("mqtt.example.com");
  request.serialHex = "00:0a:bc:de:f0";
  Certificate leaf = unwrap(issueCertificate(request, key, &root.cert, &root.key));
  EXPECT_EQ(leaf.serialHex(), "ABCDEF0");
  EXPECT_EQ(leaf.notBefore(), request.notBefore);
  EXPECT_EQ(leaf.notAfter(), request.notAfter);
  EXPECT_EQ(leaf.subjectCommonName(), "mqtt.example.com");
  EXPECT_EQ(root.cert.subjectCommonName(), "root");

  unsigned char* der = nullptr;
  int len = i2d_X509_NAME(X509_get_subject_name(root.cert.get()), &der);
  EXPECT_EQ(root.cert.subjectNameDer(), std::string(reinterpret_cast<char*>(der), len));
  OPENSSL_free(der);
  // An uncompressed P-256 point: 0x04, X, Y.
  std::string bits = leaf.publicKeyBitString();
  ASSERT_EQ(bits.size(), 65u);
  EXPECT_EQ(bits[0], '\x04');
  EXPECT_NE(key.publicKeyDer().find(bits), std::string::npos);
}

TEST(CertificateTest, OnlyARootIsSignedByItsOwnKey) {
  Issued root = makeCa("root");
  Issued intermediate = makeCa("intermediate", {}, &root);
  KeySpec rsa;
  rsa.type = KeyType::Rsa;
  Issued rsaRoot = makeCa("rsa root", rsa);
  EXPECT_TRUE(root.cert.signedByItsOwnKey());
  EXPECT_TRUE(rsaRoot.cert.signedByItsOwnKey());
  EXPECT_FALSE(intermediate.cert.signedByItsOwnKey());
  EXPECT_FALSE(makeLeaf(intermediate, "mqtt.example.com").cert.signedByItsOwnKey());
  // "No" is an answer, not an error left behind for the next caller.
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// issue.cc writes an EC key's SubjectPublicKeyInfo itself (OpenSSL 3.0's
// X509_set_pubkey costs eight signatures): it must be OpenSSL's encoding, and
// the certificate's key must be usable as OpenSSL's own.
TEST(CertificateTest, SubjectPublicKeyInfoIsOpensslsEncoding) {
  Issued root = makeCa("root");
  const KeySpec specs[] = {{KeyType::Ecdsa, Curve::P256}, {KeyType::Ecdsa, Curve::P384},
                           {KeyType::Ecdsa, Curve::P521}, {KeyType::Rsa, Curve::P256, 2048}};
  for (const KeySpec& spec : specs) {
    PrivateKey key = unwrap(PrivateKey::generate(spec));
    Certificate leaf = unwrap(issueCertificate(leafRequest("spki"), key, &root.cert, &root.key));
    std::string spki = derOf(i2d_X509_PUBKEY, X509_get_X509_PUBKEY(leaf.get()));
    EXPECT_EQ(spki, key.publicKeyDer()) << static_cast<int>(spec.curve) << " rsa " << (spec.type == KeyType::Rsa);
    EXPECT_EQ(X509_check_private_key(leaf.get(), key.get()), 1);
  }
}

// What AuthorityService takes from a leaf without parsing it back.
TEST(CertificateTest, SignCertificateReportsWhatTheCertificateSays) {
  Issued root = makeCa("root");
  PrivateKey key = unwrap(PrivateKey::generate({}));
  IssueRequest request = leafRequest("mqtt.example.com");
  request.serialHex = "00:0a:bc:de:f0";
  request.notBefore += std::chrono::milliseconds(700);  // certificates hold whole seconds
  SignedCertificate signedCert = unwrap(signCertificate(request, key, &root.cert, &root.key));
  Certificate parsed = unwrap(Certificate::fromDer(signedCert.der));
  EXPECT_EQ(signedCert.pem, parsed.toPem());
  EXPECT_EQ(signedCert.serialHex, "ABCDEF0");
  EXPECT_EQ(signedCert.serialHex, parsed.serialHex());
  EXPECT_EQ(signedCert.notBefore, parsed.notBefore());
  EXPECT_EQ(signedCert.notAfter, parsed.notAfter());
  EXPECT_EQ(signedCert.notBefore, fromUnixSeconds(toUnixSeconds(request.notBefore)));
  EXPECT_EQ(verifyChain(parsed, root.cert), X509_V_OK);
}

TEST(CertificateTest, NotAfterBeyond2049UsesGeneralizedTime) {
  PrivateKey key = unwrap(PrivateKey::generate({}));
  IssueRequest request = leafRequest("long");
  request.type = CertType::Authority;
  request.notAfter = fromUnixSeconds(4102444800);  // 2100-01-01
  Certificate cert = unwrap(issueCertificate(request, key, nullptr, nullptr));
  EXPECT_EQ(ASN1_STRING_type(X509_get0_notAfter(cert.get())), V_ASN1_GENERALIZEDTIME);
  EXPECT_EQ(ASN1_STRING_type(X509_get0_notBefore(cert.get())), V_ASN1_UTCTIME);
  EXPECT_EQ(cert.notAfter(), request.notAfter);
}

TEST(CertificateTest, PemAndDerRoundTrips) {
  Issued root = makeCa("root");
  Issued leaf = makeLeaf(root, "mqtt");
  std::string pem = leaf.cert.toPem();
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
  EXPECT_EQ(unwrap(Certificate::fromPem(pem)).toDer(), leaf.cert.toDer());
  EXPECT_EQ(unwrap(Certificate::fromDer(leaf.cert.toDer())).toPem(), pem);

  // A bundle, with a key block in between that the reader skips.
  std::string bundle = pem + leaf.key.toPem() + root.cert.toPem();
  auto all = unwrap(Certificate::allFromPem(bundle));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].toDer(), root.cert.toDer());
  EXPECT_EQ(unwrap(Certificate::fromPem(bundle)).toDer(), leaf.cert.toDer()) << "the first";
}

TEST(CertificateTest, ParsersRejectWhatIsNotACertificate) {
  Issued root = makeCa("root");
  const std::string broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  EXPECT_FALSE(Certificate::fromPem("").ok());
  EXPECT_FALSE(Certificate::fromPem(broken).ok());
  EXPECT_FALSE(Certificate::allFromPem("no pem here").ok());
  EXPECT_FALSE(Certificate::allFromPem(root.cert.toPem() + broken).ok());
  EXPECT_FALSE(Certificate::fromDer("").ok());
  EXPECT_FALSE(Certificate::fromDer("\x30\x03\x02\x01\x01").ok());
  auto trailing = Certificate::fromDer(root.cert.toDer() + "x");
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.error().message.find("trailing"), std::string::npos);
}

TEST(CertificateTest, IssueRejectsBadRequests) {
  Issued root = makeCa("root");
  Issued other = makeCa("other");
  Issued leaf = makeLeaf(root, "leaf");
  PrivateKey key = unwrap(PrivateKey::generate({}));
  auto expectError = [&](IssueRequest request, const Certificate* issuer,
                         const PrivateKey* issuerKey, const std::string& words) {
    auto result = issueCertificate(request, key, issuer, issuerKey);
    ASSERT_FALSE(result.ok()) << words;
    EXPECT_NE(result.error().message.find(words), std::string::npos) << result.error().message;
  };
  IssueRequest good = leafRequest("mqtt");
  expectError(good, &root.cert, nullptr, "both");
  expectError(good, &root.cert, &other.key, "does not belong");
  expectError(good, &leaf.cert, &leaf.key, "not a CA");
  IssueRequest r = good;
  r.notAfter = r.notBefore;
  expectError(r, &root.cert, &root.key, "notAfter");
  r = good;
  r.ipAddresses = {"10.0.0.300"};
  expectError(r, &root.cert, &root.key, "10.0.0.300");
  r = good;
  r.serialHex = "xyz";
  expectError(r, &root.cert, &root.key, "not hexadecimal");
  r = good;
  r.serialHex = "0";
  expectError(r, &root.cert, &root.key, "positive");
  r = good;
  r.serialHex = "8" + std::string(39, '0');
  expectError(r, &root.cert, &root.key, "20 octets");
  r = good;
  r.subject.commonName.clear();
  expectError(r, &root.cert, &root.key, "commonName");
  r = good;
  r.subject.country = "Sweden";
  expectError(r, &root.cert, &root.key, "two-letter");
  r = good;
  r.pathLength = 1;
  expectError(r, &root.cert, &root.key, "pathLength");
  r = good;
  r.crlDistributionUrls = {""};
  expectError(r, &root.cert, &root.key, "crlDistributionPoints");
}

TEST(SerialTest, NewSerialsAreRandomPositiveAnd16Bytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string serial = newSerialHex();
    ASSERT_EQ(serial.size(), 32u) << serial;
    EXPECT_TRUE(serial[0] >= '1' && serial[0] <= '7') << serial;
    EXPECT_EQ(unwrap(normalizeSerialHex(serial)), serial);
    seen.insert(serial);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(SerialTest, NormalizesWhatPeopleType) {
  EXPECT_EQ(unwrap(normalizeSerialHex("4f0a")), "4F0A");
  EXPECT_EQ(unwrap(normalizeSerialHex("0x004F0A")), "4F0A");
  EXPECT_EQ(unwrap(normalizeSerialHex("0X4f0a")), "4F0A");
  EXPECT_EQ(unwrap(normalizeSerialHex("00:4f:0a")), "4F0A");
  EXPECT_EQ(unwrap(normalizeSerialHex("  4F0A\n")), "4F0A");
  EXPECT_EQ(unwrap(normalizeSerialHex("0")), "0");
  EXPECT_EQ(unwrap(normalizeSerialHex("0000")), "0");
  EXPECT_EQ(unwrap(normalizeSerialHex("0x0")), "0");
}

TEST(SerialTest, RejectsWhatIsNotHex) {
  for (const char* text : {"", "   ", "0x", ":", "4G", "-1", "12 34", "0x0x12"}) {
    auto result = normalizeSerialHex(text);
    EXPECT_FALSE(result.ok()) << '"' << text << '"';
    if (!result.ok()) {
      EXPECT_NE(result.error().message.find("serial"), std::string::npos);
    }
  }
  EXPECT_FALSE(normalizeSerialHex(std::string(41, 'A')).ok());
  EXPECT_TRUE(normalizeSerialHex("00" + std::string(40, 'A')).ok());
}

}  // namespace
}  // namespace revoca::pki
