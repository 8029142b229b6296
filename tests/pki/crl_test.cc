#include "pki/crl.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <ctime>
#include <iostream>

#include "testing/fake_clock.h"
#include "testing/pki_fixtures.h"
#include "testing/temp_dir.h"
#include "testing/unwrap.h"

namespace revoca::pki {
namespace {

using namespace fixtures;
using testing::contentsOf;
using testing::nowSeconds;
using testing::TempDir;
using testing::unwrap;

// Owns a parsed CRL for the checks below.
struct ParsedCrl {
  explicit ParsedCrl(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  }
  ~ParsedCrl() { X509_CRL_free(crl); }
  X509_REVOKED* find(const std::string& serialHex) const {
    BIGNUM* bn = nullptr;
    BN_hex2bn(&bn, serialHex.c_str());
    ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
    X509_REVOKED* found = nullptr;
    X509_CRL_get0_by_serial(crl, &found, serial);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return found;
  }
  X509_CRL* crl = nullptr;
};

long reasonOf(X509_REVOKED* entry) {
  auto* code = static_cast<ASN1_ENUMERATED*>(
      X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr));
  long value = code ? ASN1_ENUMERATED_get(code) : -1;
  ASN1_ENUMERATED_free(code);
  return value;
}

long serialAt(STACK_OF(X509_REVOKED)* entries, int i) {
  return ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(entries, i)));
}

TimePoint timeOf(const ASN1_TIME* t) {
  std::tm tm{};
  ASN1_TIME_to_tm(t, &tm);
  return fromUnixSeconds(timegm(&tm));
}

CrlRequest sampleRequest() {
  TimePoint now = nowSeconds();
  CrlRequest request;
  request.crlNumber = 42;
  request.thisUpdate = now - std::chrono::minutes(1);
  request.nextUpdate = now + std::chrono::hours(1);
  request.issuingDistributionPointUrl = kCrlUrl;
  request.entries = {
      {"0FFF", now - std::chrono::hours(2), RevocationReason::KeyCompromise,
       now - std::chrono::hours(3)},
      {"00:ab", now - std::chrono::hours(1), RevocationReason::Unspecified, std::nullopt},
      {"1234", now - std::chrono::minutes(5), RevocationReason::Superseded, std::nullopt},
  };
  return request;
}

TEST(RevocationReasonTest, RoundTripsEveryRfc5280Name) {
  const std::pair<const char*, RevocationReason> names[] = {
      {"unspecified", RevocationReason::Unspecified},
      {"keyCompromise", RevocationReason::KeyCompromise},
      {"cACompromise", RevocationReason::CaCompromise},
      {"affiliationChanged", RevocationReason::AffiliationChanged},
      {"superseded", RevocationReason::Superseded},
      {"cessationOfOperation", RevocationReason::CessationOfOperation},
      {"certificateHold", RevocationReason::CertificateHold},
      {"removeFromCRL", RevocationReason::RemoveFromCrl},
      {"privilegeWithdrawn", RevocationReason::PrivilegeWithdrawn},
      {"aACompromise", RevocationReason::AaCompromise},
  };
  for (const auto& [name, reason] : names) {
    EXPECT_EQ(parseRevocationReason(name), reason) << name;
    EXPECT_EQ(revocationReasonName(reason), name);
  }
}

TEST(RevocationReasonTest, AcceptsCommonSpellingsAndRejectsOthers) {
  EXPECT_EQ(parseRevocationReason("caCompromise"), RevocationReason::CaCompromise);
  EXPECT_EQ(parseRevocationReason("removeFromCrl"), RevocationReason::RemoveFromCrl);
  EXPECT_EQ(parseRevocationReason("aaCompromise"), RevocationReason::AaCompromise);
  for (const char* bad : {"", "KeyCompromise", "key_compromise", "7", "compromised"}) {
    EXPECT_EQ(parseRevocationReason(bad), std::nullopt) << bad;
  }
}

TEST(CrlTest, SignedCrlCarriesEverythingAndVerifies) {
  Issued ca = makeCa("crl ca");
  CrlRequest request = sampleRequest();
  SignedCrl signed_ = unwrap(signCrl(request, ca.cert, ca.key));
  EXPECT_EQ(signed_.crlNumber, 42u);
  EXPECT_EQ(signed_.thisUpdate, request.thisUpdate);
  ParsedCrl parsed(signed_.der);
  ASSERT_NE(parsed.crl, nullptr);
  X509_CRL* crl = parsed.crl;

  EXPECT_EQ(X509_CRL_verify(crl, X509_get0_pubkey(ca.cert.get())), 1);
  EXPECT_EQ(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca.cert.get())), 0);
  EXPECT_EQ(timeOf(X509_CRL_get0_lastUpdate(crl)), request.thisUpdate);
  EXPECT_EQ(timeOf(X509_CRL_get0_nextUpdate(crl)), request.nextUpdate);

  auto* number =
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr));
  ASSERT_NE(number, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(number), 42);
  ASN1_INTEGER_free(number);

  auto* aki = static_cast<AUTHORITY_KEYID*>(
      X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, nullptr, nullptr));
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki->keyid, X509_get0_subject_key_id(ca.cert.get())), 0);
  AUTHORITY_KEYID_free(aki);

  int critical = 0;
  auto* idp = static_cast<ISSUING_DIST_POINT*>(
      X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &critical, nullptr));
  ASSERT_NE(idp, nullptr);
  EXPECT_EQ(critical, 1);
  ASSERT_EQ(idp->distpoint->type, 0);
  GENERAL_NAME* uri = sk_GENERAL_NAME_value(idp->distpoint->name.fullname, 0);
  ASSERT_EQ(uri->type, GEN_URI);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri->d.ia5))),
            kCrlUrl);
  ISSUING_DIST_POINT_free(idp);

  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl);
  ASSERT_EQ(sk_X509_REVOKED_num(entries), 3);
  // Sorted by serial: AB, 0FFF, 1234.
  EXPECT_EQ(serialAt(entries, 0), 0xAB);
  EXPECT_EQ(serialAt(entries, 2), 0x1234);

  X509_REVOKED* compromised = parsed.find("0FFF");
  ASSERT_NE(compromised, nullptr);
  EXPECT_EQ(reasonOf(compromised), 1);
  EXPECT_EQ(timeOf(X509_REVOKED_get0_revocationDate(compromised)), request.entries[0].revokedAt);
  auto* invalid = static_cast<ASN1_GENERALIZEDTIME*>(
      X509_REVOKED_get_ext_d2i(compromised, NID_invalidity_date, nullptr, nullptr));
  ASSERT_NE(invalid, nullptr);
  EXPECT_EQ(ASN1_STRING_type(invalid), V_ASN1_GENERALIZEDTIME);
  EXPECT_EQ(timeOf(invalid), *request.entries[0].invalidityDate);
  ASN1_GENERALIZEDTIME_free(invalid);

  X509_REVOKED* unspecified = parsed.find("AB");
  ASSERT_NE(unspecified, nullptr);
  EXPECT_EQ(reasonOf(unspecified), -1) << "RFC 5280: no reasonCode for unspecified";
  EXPECT_EQ(X509_REVOKED_get_ext_by_NID(unspecified, NID_invalidity_date, -1), -1);
  EXPECT_EQ(reasonOf(parsed.find("1234")), 4);
  EXPECT_EQ(parsed.find("1235"), nullptr);
}

TEST(CrlTest, PemHoldsTheSameCrl) {
  Issued ca = makeCa("crl ca");
  SignedCrl signed_ = unwrap(signCrl(sampleRequest(), ca.cert, ca.key));
  EXPECT_EQ(signed_.pem.rfind("-----BEGIN X509 CRL-----\n", 0), 0u);
  BIO* bio = BIO_new_mem_buf(signed_.pem.data(), static_cast<int>(signed_.pem.size()));
  X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr);
  ASSERT_NE(crl, nullptr);
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl, &der);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(der), len), signed_.der);
  OPENSSL_free(der);
  X509_CRL_free(crl);
  BIO_free(bio);
}

TEST(CrlTest, EmptyCrlWithoutIdpVerifies) {
  Issued ca = makeCa("crl ca", {KeyType::Rsa, Curve::P256, 2048});
  CrlRequest request = sampleRequest();
  request.entries.clear();
  request.issuingDistributionPointUrl.clear();
  request.digest = Digest::Sha384;
  SignedCrl signed_ = unwrap(signCrl(request, ca.cert, ca.key));
  ParsedCrl parsed(signed_.der);
  ASSERT_NE(parsed.crl, nullptr);
  EXPECT_EQ(X509_CRL_verify(parsed.crl, X509_get0_pubkey(ca.cert.get())), 1);
  EXPECT_EQ(X509_CRL_get_REVOKED(parsed.crl), nullptr) << "RFC 5280: no empty list";
  EXPECT_EQ(X509_CRL_get_ext_by_NID(parsed.crl, NID_issuing_distribution_point, -1), -1);
  EXPECT_EQ(X509_CRL_get_signature_nid(parsed.crl), NID_sha384WithRSAEncryption);
}

// What a TLS peer does: the leaf is checked against the CRL its CRL DP names.
TEST(CrlTest, VerifierRejectsARevokedLeafAndAcceptsOthers) {
  Issued ca = makeCa("crl ca");
  Issued revoked = makeLeaf(ca, "revoked", CertType::Client);
  Issued fine = makeLeaf(ca, "fine", CertType::Client);
  CrlRequest request = sampleRequest();
  request.entries.push_back({revoked.cert.serialHex(), nowSeconds() - std::chrono::minutes(2),
                             RevocationReason::KeyCompromise, std::nullopt});
  SignedCrl signed_ = unwrap(signCrl(request, ca.cert, ca.key));
  ParsedCrl parsed(signed_.der);

  auto verify = [&](const Certificate& leaf) {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, ca.cert.get());
    X509_STORE_add_crl(store, parsed.crl);
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf.get(), nullptr);
    int result = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return result;
  };
  EXPECT_EQ(verify(revoked.cert), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(verify(fine.cert), X509_V_OK);
}

TEST(CrlTest, SerialListedTwiceAppearsOnceAndFarDatesUseGeneralizedTime) {
  Issued ca = makeCa("crl ca");
  CrlRequest request = sampleRequest();
  TimePoint far = fromUnixSeconds(2556144000);  // 2051-01-01
  request.entries = {{"AB", far, RevocationReason::Superseded, far},
                     {"0x00ab", far, RevocationReason::KeyCompromise, std::nullopt},
                     {"80", far, RevocationReason::Superseded, std::nullopt}};
  ParsedCrl parsed(unwrap(signCrl(request, ca.cert, ca.key)).der);
  ASSERT_NE(parsed.crl, nullptr);
  EXPECT_EQ(X509_CRL_verify(parsed.crl, X509_get0_pubkey(ca.cert.get())), 1);
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(parsed.crl);
  ASSERT_EQ(sk_X509_REVOKED_num(entries), 2);
  EXPECT_EQ(serialAt(entries, 0), 0x80);
  X509_REVOKED* first = parsed.find("AB");
  EXPECT_EQ(reasonOf(first), 4) << "the first listing wins";
  const ASN1_TIME* date = X509_REVOKED_get0_revocationDate(first);
  EXPECT_EQ(ASN1_STRING_type(date), V_ASN1_GENERALIZEDTIME);
  EXPECT_EQ(timeOf(date), far);
}

TEST(CrlTest, RejectsBadRequests) {
  Issued ca = makeCa("crl ca");
  Issued other = makeCa("other");
  CrlRequest request = sampleRequest();
  request.entries[1].serialHex = "not-hex";
  auto bad = signCrl(request, ca.cert, ca.key);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("not-hex"), std::string::npos);

  request = sampleRequest();
  request.nextUpdate = request.thisUpdate;
  EXPECT_FALSE(signCrl(request, ca.cert, ca.key).ok());

  auto mismatch = signCrl(sampleRequest(), ca.cert, other.key);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("does not belong"), std::string::npos);
}

TEST(CrlTest, HundredThousandEntriesSignQuickly) {
  Issued ca = makeCa("big ca");
  CrlRequest request = sampleRequest();
  request.entries.clear();
  TimePoint when = nowSeconds() - std::chrono::hours(1);
  for (int i = 0; i < 100000; ++i) {
    RevokedEntry entry{newSerialHex(), when, RevocationReason::KeyCompromise, std::nullopt};
    if (i % 10 == 0) entry.invalidityDate = when - std::chrono::hours(1);
    request.entries.push_back(std::move(entry));
  }
  auto start = std::chrono::steady_clock::now();
  std::clock_t cpuStart = std::clock();
  SignedCrl signed_ = unwrap(signCrl(request, ca.cert, ca.key));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  // CPU time too: wall time swings with whatever else the machine runs.
  std::cout << "[ timing   ] 100000-entry CRL signed in " << took.count() << " ms ("
            << (std::clock() - cpuStart) * 1000 / CLOCKS_PER_SEC << " ms CPU), "
            << signed_.der.size() << " bytes DER\n";
  // No bound on the time here: shared machines are noisy; bench/ measures it.

  ParsedCrl parsed(signed_.der);
  ASSERT_NE(parsed.crl, nullptr);
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(parsed.crl)), 100000);
  EXPECT_EQ(X509_CRL_verify(parsed.crl, X509_get0_pubkey(ca.cert.get())), 1);
  EXPECT_NE(parsed.find(request.entries[77777].serialHex), nullptr);
}

// The real openssl tool agrees: it prints the extensions and refuses the
// revoked certificate.
TEST(CrlTest, OpensslCliSeesTheRevocation) {
  if (!haveOpensslCli()) GTEST_SKIP() << "openssl not on PATH";
  Issued ca = makeCa("cli ca");
  Issued revoked = makeLeaf(ca, "revoked");
  Issued fine = makeLeaf(ca, "fine");
  CrlRequest request = sampleRequest();
  request.entries.push_back({revoked.cert.serialHex(), nowSeconds() - std::chrono::minutes(2),
                             RevocationReason::CessationOfOperation, std::nullopt});
  SignedCrl signed_ = unwrap(signCrl(request, ca.cert, ca.key));

  TempDir dir;
  dir.write("ca.pem", ca.cert.toPem());
  dir.write("revoked.pem", revoked.cert.toPem());
  dir.write("fine.pem", fine.cert.toPem());
  dir.write("crl.pem", signed_.pem);
  auto run = [&](const std::string& args) {
    std::string out = dir.file("out.txt");
    std::system(("openssl " + args + " > '" + out + "' 2>&1").c_str());
    return contentsOf(out);
  };
  std::string verify = "verify -crl_check -CAfile " + dir.file("ca.pem") + " -CRLfile " +
                       dir.file("crl.pem") + " ";
  EXPECT_NE(run(verify + dir.file("revoked.pem")).find("certificate revoked"), std::string::npos);
  EXPECT_NE(run(verify + dir.file("fine.pem")).find(": OK"), std::string::npos);

  std::string text = run("crl -noout -text -in " + dir.file("crl.pem"));
  for (const std::string& expected :
       {std::string("Version 2"), std::string("X509v3 CRL Number"), std::string("42"),
        std::string("X509v3 Authority Key Identifier"),
        std::string("X509v3 Issuing Distribution Point: critical"), kCrlUrl,
        std::string("Cessation Of Operation"), std::string("Key Compromise"),
        std::string("Invalidity Date")}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
}

TEST(EntriesDigest, NamesTheEntriesWhateverTheirOrderAndChangesWithAnyField) {
  std::vector<RevokedEntry> entries = {
      {"0A", fromUnixSeconds(1700000000), RevocationReason::KeyCompromise, std::nullopt},
      {"0B", fromUnixSeconds(1700000001), RevocationReason::Unspecified, fromUnixSeconds(1690000000)}};
  Sha256 digest = entriesDigest(entries);
  EXPECT_EQ(entriesDigest({entries[1], entries[0]}), digest);
  EXPECT_NE(entriesDigest({entries[0]}), digest);
  EXPECT_NE(entriesDigest({}), digest);
  for (int field = 0; field < 4; ++field) {
    auto changed = entries;
    if (field == 0) changed[1].serialHex = "0C";
    if (field == 1) changed[1].revokedAt += Seconds(1);
    if (field == 2) changed[1].reason = RevocationReason::Superseded;
    if (field == 3) changed[1].invalidityDate.reset();
    EXPECT_NE(entriesDigest(changed), digest) << field;
  }
}

}  // namespace
}  // namespace revoca::pki
