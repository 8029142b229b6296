#include "kubernetes/status_writer.h"

#include <gtest/gtest.h>

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

ObjectStatus ready(std::map<std::string, std::string> facts) {
  ObjectStatus status;
  status.ready = true;
  status.reason = "Ready";
  status.message = "fine";
  status.observedGeneration = 3;
  status.facts = std::move(facts);
  return status;
}

TEST(StatusBody, FactsAreTypedAsTheCrdSaysAndUndeclaredOnesDropped) {
  json body = statusBody("CertificateAuthority",
                         ready({{"version", "2"}, {"crlNumber", "17"}, {"serial", "ABCD"}, {"envFile", "/x"}}),
                         "2026-11-27T00:00:00Z");
  EXPECT_EQ(body["version"], 2);
  EXPECT_EQ(body["crlNumber"], 17);
  EXPECT_EQ(body["serial"], "ABCD");
  EXPECT_FALSE(body.contains("envFile"));
  EXPECT_EQ(body["observedGeneration"], 3);
  EXPECT_EQ(body["conditions"][0]["type"], "Ready");
  EXPECT_EQ(body["conditions"][0]["status"], "True");
  EXPECT_EQ(body["conditions"][0]["lastTransitionTime"], "2026-11-27T00:00:00Z");
}

TEST(StatusEvents, AFirstSerialIsIssuedANewOneRenewedTheSameOneNothing) {
  auto first = eventsFor("VaultSecret", json::object(), ready({{"serial", "AA"}}));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].reason, "Issued");
  json before = statusBody("VaultSecret", ready({{"serial", "AA"}}), "t");
  auto renewed = eventsFor("VaultSecret", before, ready({{"serial", "BB"}}));
  ASSERT_EQ(renewed.size(), 1u);
  EXPECT_EQ(renewed[0].reason, "Renewed");
  EXPECT_TRUE(eventsFor("VaultSecret", before, ready({{"serial", "AA"}})).empty());
}

TEST(StatusEvents, CaVersionsAreIssuedThenRotated) {
  EXPECT_EQ(eventsFor("CertificateAuthority", json::object(), ready({{"version", "1"}}))[0].reason, "Issued");
  json before = statusBody("CertificateAuthority", ready({{"version", "1"}}), "t");
  EXPECT_EQ(eventsFor("CertificateAuthority", before, ready({{"version", "2"}}))[0].reason, "Rotated");
}

TEST(StatusEvents, AFailureIsAWarningOncePerReason) {
  ObjectStatus failed;
  failed.reason = "InvalidSpec";
  failed.message = "spec.autoCert.ttl: bad";
  auto first = eventsFor("VaultSecret", json::object(), failed);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].type, "Warning");
  EXPECT_EQ(first[0].reason, "Failed");
  json before = statusBody("VaultSecret", failed, "t");
  EXPECT_TRUE(eventsFor("VaultSecret", before, failed).empty());
  failed.reason = "IssuerNotReady";
  EXPECT_EQ(eventsFor("VaultSecret", before, failed).size(), 1u);
}

TEST(StatusEvents, ARevocationIsAnnouncedWhenItBecomesReady) {
  ObjectStatus revoked = ready({{"serial", "AA"}});
  EXPECT_EQ(eventsFor("CertificateRevocation", json::object(), revoked)[0].reason, "Revoked");
  json before = statusBody("CertificateRevocation", revoked, "t");
  EXPECT_TRUE(eventsFor("CertificateRevocation", before, revoked).empty());
}

}  // namespace
}  // namespace revoca::kubernetes
