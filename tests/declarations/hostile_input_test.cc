// Declarations as a careless operator or a hostile tenant writes them: each
// value that could leave the tenant's directory, add a line to a file,
// smuggle a name into a certificate or overflow a time is refused at its
// field, and every message is safe to log and to write as JSON.
#include <gtest/gtest.h>

#include "core/text.h"
#include "parse_helpers.h"

namespace revoca {
namespace {

using namespace std::string_literals;
using testing::allErrors;
using testing::objectCount;
using testing::parse;

std::string document(const std::string& kind, const std::string& spec, const std::string& name = "x") {
  return "apiVersion: revoca.io/v1alpha1\nkind: " + kind + "\nmetadata: {name: " + name + "}\nspec:\n" + spec;
}

// Every error of `set` reads as one line of valid UTF-8, whatever the input held.
void expectSafeErrors(const DeclarationSet& set) {
  for (const DeclarationError& error : set.errors) {
    std::string text = error.str();
    EXPECT_EQ(findUnprintable(text), std::string::npos) << safeText(text);
  }
}

// `yaml` declares nothing and has an error at `field` holding `phrase`.
void expectRefused(const std::string& yaml, const std::string& field, const std::string& phrase) {
  DeclarationSet set = parse(yaml);
  EXPECT_EQ(objectCount(set), 0u) << safeText(yaml);
  const DeclarationError* error = testing::errorAt(set, field);
  ASSERT_NE(error, nullptr) << "no error at " << field << "; got:\n" << allErrors(set);
  EXPECT_NE(error->message.find(phrase), std::string::npos) << error->str();
  expectSafeErrors(set);
}

const std::string kSecret = "  vault: v\n  autoCert: {issuingCa: ca, certType: server, host: ";

TEST(HostileDeclarations, DeploymentNamesCannotBePaths) {
  for (const char* name : {"../other-tenant/emqx", "..", ".", "./emqx", "a/b", "/etc"})
    expectRefused(document("Vault", "  distribute: {deployments: [\""s + name + "\"]}\n"),
                  "spec.distribute.deployments[0]", "Deployment name");
  expectRefused(document("Vault", "  distribute: {deployments: [\"emqx\\0x\"]}\n"), "spec.distribute.deployments[0]",
                "control character");
  expectRefused(document("Vault", "  distribute: {deployments: [emqx, emqx]}\n"), "spec.distribute.deployments[1]",
                "listed twice");
  expectRefused(document("EmqxDeployment", "  vault: v\n  secret: s\n  deploymentName: ../../kube-system/x\n"),
                "spec.deploymentName", "Deployment name");
}

TEST(HostileDeclarations, NoValueCanAddALineToEmqxEnv) {
  expectRefused(document("EmqxDeployment", "  vault: v\n  secret: s\n  certDir: \"/certs\\nEMQX_DASHBOARD__DEFAULT_PASSWORD=x\"\n"),
                "spec.certDir", "control character");
  expectRefused(document("EmqxDeployment", "  vault: v\n  secret: s\n  listener: {bind: \"0.0.0.0:8883\\nEMQX_X=1\"}\n"),
                "spec.listener.bind", "control character");
  expectRefused(document("EmqxDeployment", "  vault: v\n  secret: s\n  certDir: /certs/../../etc\n"), "spec.certDir",
                "step");
}

TEST(HostileDeclarations, OnlyHostNamesAreSigned) {
  for (const char* host : {"\"has space.example\"", "\"*\"", "\"*.com\"", "bad_name.example"})
    expectRefused(document("VaultSecret", kSecret + host + "}\n"), "spec.autoCert.host", "write a DNS name");
  // A null-prefix name: a verifier reading up to the NUL sees good.example.
  expectRefused(document("VaultSecret", kSecret + "\"good.example\\0.evil.example\"}\n"), "spec.autoCert.host",
                "control character");
  expectRefused(document("VaultSecret", kSecret + "h, altNames: [ok.example, \"a b\"]}\n"),
                "spec.autoCert.altNames[1]", "write a DNS name");
  expectRefused(document("VaultSecret", "  vault: v\n  autoCert: {issuingCa: ca, certType: client, host: \"*.x.example\"}\n"),
                "spec.autoCert.host", "only server certificates");
  DeclarationSet wildcard = parse(document("VaultSecret", kSecret + "\"*.mqtt.example.com\"}\n"));
  EXPECT_EQ(wildcard.vaultSecrets.size(), 1u) << allErrors(wildcard);
}

TEST(HostileDeclarations, UrlTemplatesCannotCarryQuotesOrEmptyHosts) {
  for (const char* url : {"http://x/\\\"onerror", "http://x/<script>", "http://:4664/crl", "http://@/crl"})
    expectRefused(document("CertificateAuthority", "  crlDistUrls: [\""s + url + "\"]\n"), "spec.crlDistUrls[0]", "");
}

TEST(HostileDeclarations, DurationsTheTimeTypeCannotHoldNameTheirField) {
  for (const char* ttl : {"9999y", "300y", "101y"})
    expectRefused(document("CertificateAuthority", "  ttl: "s + ttl + "\n"), "spec.ttl", "longer than 100y");
  expectRefused(document("VaultSecret", kSecret + "h, ttl: 36600000d}\n"), "spec.autoCert.ttl", "longer than 100y");
  DeclarationSet century = parse(document("CertificateAuthority", "  ttl: 100y\n"));
  EXPECT_EQ(century.authorities.size(), 1u) << allErrors(century);
}

TEST(HostileDeclarations, SubjectFieldsKeepToRfc5280Bounds) {
  expectRefused(document("CertificateAuthority", "  subject: {organization: " + std::string(65, 'o') + "}\n"),
                "spec.subject.organization", "at most 64");
  DeclarationSet unicode = parse(document("CertificateAuthority", "  subject: {organization: \"Malmö Hamn AB\"}\n"));
  EXPECT_EQ(unicode.authorities.size(), 1u) << allErrors(unicode);
}

TEST(HostileDeclarations, BytesThatAreNotUtf8AreRefusedAndNeverEchoedRaw) {
  expectRefused(document("CertificateAuthority", "  subject: {organization: \"\xff\xfe\"}\n"),
                "spec.subject.organization", "not UTF-8");
  // A name that is not a name: the error names the file and the document, never the bad object.
  DeclarationSet badName = parse(document("Vault", "", "\"caf\xc3\""));
  EXPECT_EQ(objectCount(badName), 0u);
  ASSERT_FALSE(badName.errors.empty());
  for (const DeclarationError& error : badName.errors) EXPECT_EQ(error.object, "");
  expectSafeErrors(badName);
  // An unknown field whose name holds raw bytes and a newline.
  expectSafeErrors(parse(document("Vault", "  \"w\xc3\\x\\n\": 1\n")));
  // A file name that is not UTF-8.
  expectSafeErrors(parse("kind: [", "decl-\xff\n.yaml"));
}

TEST(HostileDeclarations, LongValuesAreRefusedWithAShortMessage) {
  DeclarationSet set = parse(document("VaultSecret", kSecret + std::string(100000, 'a') + "}\n"));
  EXPECT_EQ(objectCount(set), 0u);
  ASSERT_FALSE(set.errors.empty());
  for (const DeclarationError& error : set.errors) EXPECT_LT(error.str().size(), 2500u);
}

TEST(HostileDeclarations, DocumentsTooLargeToParseSafelyAreRefusedBeforeParsing) {
  DeclarationSet big = parse("apiVersion: v1\nkind: ConfigMap\ndata: {x: \"" + std::string(2 << 20, 'x') + "\"}\n");
  ASSERT_EQ(big.errors.size(), 1u);
  EXPECT_NE(big.errors[0].message.find("split it"), std::string::npos);

  std::string list = "apiVersion: v1\nkind: ConfigMap\ndata: [";
  for (int i = 0; i < 30000; ++i) list += "1,";
  DeclarationSet many = parse(list + "1]\n---\n" + document("Vault", "  distribute: {deployments: [emqx]}\n", "kept"));
  ASSERT_EQ(many.errors.size(), 1u) << allErrors(many);
  EXPECT_NE(many.errors[0].message.find("more than 20000 values"), std::string::npos);
  EXPECT_EQ(many.vaults.size(), 1u) << "the next document is still read";
}

}  // namespace
}  // namespace revoca
