#include "reconcilers/authority_commands_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/unwrap.h"

namespace revoca {
namespace {

using nlohmann::json;
using ::testing::StartsWith;
using testing::unwrap;

std::string refusal(const json& request) {
  auto parsed = parseRevocactlRequest(request);
  EXPECT_FALSE(parsed.ok()) << request.dump();
  return parsed ? "" : parsed.error().message;
}

TEST(AuthorityCommandsJson, ParsesAnIssueCertRequestIntoItsTypedFields) {
  auto parsed = unwrap(parseRevocactlRequest({{"verb", "issue-cert"}, {"namespace", "tenant-a"}, {"ca", "mqtt-ca"},
                                              {"host", "broker.example"}, {"ttl", "30d"}, {"certType", "server"}}));
  const auto& issue = std::get<IssueCertRequest>(parsed);
  EXPECT_EQ(issue.ca, (ObjectKey{"tenant-a", "mqtt-ca"}));
  EXPECT_EQ(issue.leaf.host, "broker.example");
  EXPECT_EQ(issue.leaf.ttl, Seconds(30 * 86400));
  EXPECT_EQ(issue.leaf.type, pki::CertType::Server);
}

TEST(AuthorityCommandsJson, AnIssueCertRequestTakesTheDefaultsRevocactlDocuments) {
  auto parsed = unwrap(parseRevocactlRequest({{"verb", "issue-cert"}, {"ca", "mqtt-ca"}, {"host", "client-1"}}));
  const auto& issue = std::get<IssueCertRequest>(parsed);
  EXPECT_EQ(issue.ca.namespace_, "default");
  EXPECT_EQ(issue.leaf.ttl, Seconds(86400));
  EXPECT_EQ(issue.leaf.type, pki::CertType::Client);
}

TEST(AuthorityCommandsJson, RefusesABadFieldNamingItsFlag) {
  json issue = {{"verb", "issue-cert"}, {"ca", "mqtt-ca"}, {"host", "client-1"}};
  json noCa = issue;
  noCa.erase("ca");
  EXPECT_EQ(refusal(noCa), "--ca is required: name the CertificateAuthority");
  json noHost = issue;
  noHost.erase("host");
  EXPECT_EQ(refusal(noHost), "--host is required: the certificate's DNS name or IP address");
  json zeroTtl = issue;
  zeroTtl["ttl"] = "0s";
  EXPECT_EQ(refusal(zeroTtl), "--ttl must be longer than 0s; write e.g. 30d");
  json badType = issue;
  badType["certType"] = "both";
  EXPECT_EQ(refusal(badType), "--cert-type must be client or server, not \"both\"");
  json badHost = issue;
  badHost["host"] = "a b";
  EXPECT_THAT(refusal(badHost), StartsWith("--host: "));
  json badNamespace = issue;
  badNamespace["namespace"] = "../x";
  EXPECT_THAT(refusal(badNamespace), StartsWith("--namespace: "));
  json numericCa = issue;
  numericCa["ca"] = 7;
  EXPECT_EQ(refusal(numericCa), "--ca must be a string");
}

TEST(AuthorityCommandsJson, ParsesARevokeCertRequestAndRefusesAnUnknownReason) {
  json request = {{"verb", "revoke-cert"}, {"ca", "mqtt-ca"}, {"serial", "0x4f:0a"}, {"reason", "keyCompromise"}};
  auto revoke = std::get<RevokeCertRequest>(unwrap(parseRevocactlRequest(request)));
  EXPECT_EQ(revoke.serialHex, "4F0A");
  EXPECT_EQ(revoke.reason, pki::RevocationReason::KeyCompromise);
  request["reason"] = "sorry";
  EXPECT_THAT(refusal(request), StartsWith("--reason: unknown reason \"sorry\""));
  request["serial"] = "xyz";
  EXPECT_THAT(refusal(request), StartsWith("SERIAL: "));
}

TEST(AuthorityCommandsJson, AGetCrlRequestTakesAVersionOnlyWhenItIsAnInteger) {
  auto versioned = unwrap(parseRevocactlRequest({{"verb", "get-crl"}, {"ca", "mqtt-ca"}, {"version", 2}}));
  EXPECT_EQ(std::get<CrlRequest>(versioned).version, 2);
  auto current = unwrap(parseRevocactlRequest({{"verb", "get-crl"}, {"ca", "mqtt-ca"}, {"version", "2"}}));
  EXPECT_EQ(std::get<CrlRequest>(current).version, std::nullopt);
}

TEST(AuthorityCommandsJson, ParsesStatusAndRefusesAnUnknownVerbOrKind) {
  auto one = std::get<StatusRequest>(
      unwrap(parseRevocactlRequest({{"verb", "status"}, {"kind", "VaultSecret"}, {"name", "server-cert"}})));
  EXPECT_EQ(one.kind, Kind::VaultSecret);
  EXPECT_EQ(one.name, "server-cert");
  EXPECT_EQ(std::get<StatusRequest>(unwrap(parseRevocactlRequest({{"verb", "status"}}))).kind, std::nullopt);
  EXPECT_EQ(refusal({{"verb", "status"}, {"kind", "Pod"}, {"name", "x"}}),
            "unknown kind \"Pod\"; give one of revoca's kinds, e.g. VaultSecret");
  EXPECT_EQ(refusal({{"verb", "rotate"}}),
            "unknown verb \"rotate\"; use get-tenant-uuid, issue-cert, revoke-cert, get-crl, get-ca-cert or status");
}

TEST(AuthorityCommandsJson, RendersResultsAsRevocactlPrintsThem) {
  IssuedLeaf issued{"CERT", "KEY", "4F0A", 2, fromUnixSeconds(0), fromUnixSeconds(86400)};
  EXPECT_EQ(commandAnswer(Result<IssuedLeaf>(issued)).dump(),
            R"({"ok":true,"result":{"ca-version":2,"cert":"CERT","expires":"1970-01-02T00:00:00Z",)"
            R"("private-key":"KEY","serial":"4F0A"}})");
  Revoked revoked{"4F0A", true, pki::RevocationReason::KeyCompromise, std::nullopt};
  EXPECT_EQ(toJson(revoked).dump(),
            R"({"already-revoked":true,"reason":"keyCompromise","revoked":true,"serial":"4F0A"})");
  revoked.revocationObject = "mqtt-ca-4f0a";
  EXPECT_EQ(toJson(revoked)["object"], "mqtt-ca-4f0a");
  EXPECT_EQ(toJson(CaCrl{"CRL", 7, 1}).dump(), R"({"crl":"CRL","crl-number":7,"version":1})");
  EXPECT_EQ(toJson(CaCertificate{"CERT", 3, "BUNDLE"}).dump(), R"({"bundle":"BUNDLE","cert":"CERT","version":3})");
  EXPECT_EQ(toJson(TenantUuid{"default", "U"}).dump(), R"({"tenant":"default","uuid":"U"})");
  EXPECT_EQ(commandAnswer(Result<TenantUuid>(makeError("no such tenant"))).dump(),
            R"({"error":"no such tenant","ok":false})");
}

TEST(AuthorityCommandsJson, ACertificateDescriptionHasARevocationForAVaultSecretOnly) {
  CertificateDescription described{Kind::VaultSecret, "LEAF", "ISSUER", "4F0A", fromUnixSeconds(0),
                                   fromUnixSeconds(60), "mqtt-ca", 1, std::nullopt};
  EXPECT_EQ(toJson(described).dump(),
            R"({"caVersion":1,"certificate":"LEAF","issuer":"ISSUER","issuingCa":"mqtt-ca",)"
            R"("notAfter":"1970-01-01T00:01:00Z","notBefore":"1970-01-01T00:00:00Z","revocation":null,"serial":"4F0A"})");
  described.revocation = Revocation{"4F0A", fromUnixSeconds(30), pki::RevocationReason::Superseded, std::nullopt};
  EXPECT_EQ(toJson(described)["revocation"].dump(), R"({"reason":"superseded","revokedAt":"1970-01-01T00:00:30Z"})");
  described.kind = Kind::CertificateAuthority;
  EXPECT_FALSE(toJson(described).contains("revocation"));
}

}  // namespace
}  // namespace revoca
