#include "operator/status_screen.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace revoca {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;

json vaultSecretEntry() {
  return {{"kind", "VaultSecret"},
          {"namespace", "default"},
          {"name", "server-cert"},
          {"ready", true},
          {"reason", "Issued"},
          {"since", "2026-11-27T19:00:00Z"},
          {"facts", {{"renewalTime", "2026-12-20T19:00:00Z"}, {"fileOwner", "1000:1000"}, {"fileMode", "0400"}}},
          {"certificate",
           {{"serial", "718BBDCA98ECCB2876F3049B830837B8"},
            {"notBefore", "2026-11-27T19:00:00Z"},
            {"notAfter", "2027-01-26T19:00:00Z"},
            {"issuingCa", "mqtt-ca"},
            {"caVersion", 1},
            {"revocation", nullptr}}},
          {"eventsError", "standalone mode records no Events"}};
}

TEST(StatusScreen, AGoodCertificateShowsItsSerialRenewalAndOcspAnswer) {
  json entry = vaultSecretEntry();
  entry["ocsp"] = {{"url", "http://127.0.0.1:4664/ocsp/t/mqtt-ca"},
                   {"status", "good"},
                   {"thisUpdate", "2026-11-27T19:00:00Z"},
                   {"nextUpdate", "2026-11-27T20:00:00Z"}};
  std::string screen = renderStatusScreen(entry);
  EXPECT_THAT(screen, ::testing::StartsWith("VaultSecret default/server-cert\n"));
  EXPECT_THAT(screen, HasSubstr("Ready:            True  Issued  since 2026-11-27T19:00:00Z\n"));
  EXPECT_THAT(screen, HasSubstr("  Serial:         718BBDCA98ECCB2876F3049B830837B8\n"));
  EXPECT_THAT(screen, HasSubstr("  Renewal time:   2026-12-20T19:00:00Z\n"));
  EXPECT_THAT(screen, HasSubstr("  Issuer:         CertificateAuthority mqtt-ca version 1\n"));
  EXPECT_THAT(screen, HasSubstr("  Revoked:        no (not in the CA's revocations)\n"));
  EXPECT_THAT(screen, HasSubstr("OCSP:             good\n"));
  EXPECT_THAT(screen, HasSubstr("  Next update:    2026-11-27T20:00:00Z\n"));
  // Who may read the key: a broker of another uid cannot, and may not say so.
  EXPECT_THAT(screen, HasSubstr("fileOwner:        1000:1000\n"));
  EXPECT_THAT(screen, HasSubstr("fileMode:         0400\n"));
}

// revoca replaces a revoked server certificate at its next pass, so the
// end-to-end test cannot count on catching this screen: it is checked here.
TEST(StatusScreen, ARevokedCertificateShowsTheReasonInTheLedgerAndFromOcsp) {
  json entry = vaultSecretEntry();
  entry["certificate"]["revocation"] = {{"revokedAt", "2026-11-27T19:30:00Z"}, {"reason", "keyCompromise"}};
  entry["ocsp"] = {{"url", "http://127.0.0.1:4664/ocsp/t/mqtt-ca"},
                   {"status", "revoked"},
                   {"reason", "keyCompromise"},
                   {"revokedAt", "2026-11-27T19:30:00Z"},
                   {"thisUpdate", "2026-11-27T19:30:01Z"}};
  std::string screen = renderStatusScreen(entry);
  EXPECT_THAT(screen, HasSubstr("  Revoked:        yes, 2026-11-27T19:30:00Z (keyCompromise)\n"));
  EXPECT_THAT(screen, HasSubstr("OCSP:             revoked (keyCompromise, 2026-11-27T19:30:00Z)\n"));
  EXPECT_THAT(screen, Not(HasSubstr("Next update")));
}

TEST(StatusScreen, AnUnreachableResponderIsShownNotHidden) {
  json entry = vaultSecretEntry();
  entry["ocsp"] = {{"url", "http://127.0.0.1:1/ocsp/t/mqtt-ca"}, {"error", "connection refused"}};
  EXPECT_THAT(renderStatusScreen(entry), HasSubstr("OCSP:             no answer: connection refused\n"));
}

TEST(StatusScreen, AVaultShowsHowManyDeploymentsItDistributesTo) {
  json entry = {{"kind", "Vault"}, {"namespace", "default"}, {"name", "mqtt-vault"},
                {"ready", true},   {"reason", "Ready"},        {"facts", {{"deployments", "2"}}}};
  EXPECT_THAT(renderStatusScreen(entry), HasSubstr("deployments:      2\n"));
}

TEST(StatusScreen, ObjectNamesTakeKubectlsShortAndLongKinds) {
  std::string error;
  auto named = parseObjectName("VS/server-cert", error);
  ASSERT_TRUE(named);
  EXPECT_EQ(named->kind, Kind::VaultSecret);
  EXPECT_EQ(named->name, "server-cert");
  EXPECT_EQ(parseObjectName("certificateauthorities/mqtt-ca", error)->kind, Kind::CertificateAuthority);
  EXPECT_EQ(parseObjectName("crev/r1", error)->kind, Kind::CertificateRevocation);
}

TEST(StatusScreen, AnythingElseIsRefusedWithAnExample) {
  for (const char* text : {"secret/x", "vs", "vs/", "server-cert"}) {
    std::string error;
    EXPECT_FALSE(parseObjectName(text, error)) << text;
    EXPECT_THAT(error, HasSubstr("KIND/NAME, e.g. vaultsecret/server-cert")) << text;
  }
}

}  // namespace
}  // namespace revoca
