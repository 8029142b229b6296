// Every way a declaration can be wrong: each error names the field and says
// what to write instead, and the document declares nothing.
#include <gtest/gtest.h>

#include "parse_helpers.h"

namespace revoca {
namespace {

using testing::allErrors;
using testing::objectCount;
using testing::parse;

std::string document(const std::string& kind, const std::string& spec, const std::string& name = "x") {
  return "apiVersion: revoca.io/v1alpha1\nkind: " + kind + "\nmetadata: {name: " + name + "}\nspec:\n" + spec;
}

const std::string kSecretBase = "  vault: v\n  autoCert: {issuingCa: ca, host: h}\n";
const std::string kEmqxBase = "  vault: v\n  secret: s\n";

// Parses `yaml`, expects that it declares nothing and that `field` has an
// error whose message holds every one of `phrases`.
void expectError(const std::string& yaml, const std::string& field, const std::vector<std::string>& phrases) {
  DeclarationSet set = parse(yaml);
  EXPECT_EQ(objectCount(set), 0u) << yaml;
  const DeclarationError* error = testing::errorAt(set, field);
  ASSERT_NE(error, nullptr) << "no error at " << field << "; got:\n" << allErrors(set);
  for (const std::string& phrase : phrases)
    EXPECT_NE(error->message.find(phrase), std::string::npos) << "\"" << phrase << "\" missing from: " << error->str();
}

// --- The envelope ----------------------------------------------------------

TEST(DeclarationErrors, OtherVersionOfOurGroup) {
  expectError("apiVersion: revoca.io/v1beta1\nkind: Vault\nmetadata: {name: v}\n", "apiVersion",
              {"\"revoca.io/v1beta1\"", "write apiVersion: revoca.io/v1alpha1"});
  expectError("apiVersion: revoca.io\nkind: Vault\nmetadata: {name: v}\n", "apiVersion", {"revoca.io/v1alpha1"});
}

TEST(DeclarationErrors, OurKindWithoutApiVersion) {
  expectError("kind: CertificateAuthority\nmetadata: {name: ca}\n", "apiVersion",
              {"required", "apiVersion: revoca.io/v1alpha1"});
}

TEST(DeclarationErrors, UnknownKindListsTheFive) {
  expectError("apiVersion: revoca.io/v1alpha1\nkind: Secret\nmetadata: {name: s}\n", "kind",
              {"unknown kind \"Secret\"", "CertificateAuthority, Vault, VaultSecret, CertificateRevocation or EmqxDeployment"});
  expectError("apiVersion: revoca.io/v1alpha1\nkind: certificate-authority\nmetadata: {name: s}\n", "kind",
              {"did you mean CertificateAuthority?"});
  expectError("apiVersion: revoca.io/v1alpha1\nmetadata: {name: s}\n", "kind", {"required", "EmqxDeployment"});
}

TEST(DeclarationErrors, UnknownKindKeepsObjectButNoKind) {
  DeclarationSet set = parse("apiVersion: revoca.io/v1alpha1\nkind: Nope\nmetadata: {name: s, namespace: t}\n", "f.yaml");
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].kind, "");
  EXPECT_EQ(set.errors[0].object, "t/s");
  EXPECT_EQ(set.errors[0].str().rfind("f.yaml (document 1): t/s: kind: unknown kind", 0), 0u) << set.errors[0].str();
}

TEST(DeclarationErrors, MetadataAndName) {
  expectError("apiVersion: revoca.io/v1alpha1\nkind: Vault\n", "metadata", {"required", "metadata: {name:"});
  expectError("apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {namespace: t}\n", "metadata.name",
              {"required", "name: mqtt-ca"});
  expectError("apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: MQTT_Vault}\n", "metadata.name",
              {"\"MQTT_Vault\"", "lowercase letters, digits and '-'"});
  expectError("apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: v, namespace: Team.A}\n",
              "metadata.namespace", {"lowercase", "leave namespace out"});
  expectError("apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: mqtt-vault\n", "metadata",
              {"expected a map of fields, got \"mqtt-vault\""});
}

TEST(DeclarationErrors, MissingNameIsTheOnlyComplaint) {
  // The CA's commonName defaults to the name; that must not become a second error.
  DeclarationSet set = parse("apiVersion: revoca.io/v1alpha1\nkind: CertificateAuthority\nmetadata: {}\n");
  ASSERT_EQ(set.errors.size(), 1u) << allErrors(set);
  EXPECT_EQ(set.errors[0].field, "metadata.name");
  EXPECT_EQ(set.errors[0].object, "");
}

TEST(DeclarationErrors, EnvelopeFieldOfTheWrongTypeIsReportedOnce) {
  DeclarationSet set = parse("apiVersion: revoca.io/v1alpha1\nkind: {name: Vault}\nmetadata: {name: v}\n");
  ASSERT_EQ(set.errors.size(), 1u) << allErrors(set);
  EXPECT_EQ(set.errors[0].field, "kind");
  EXPECT_NE(set.errors[0].message.find("expected a string, got a map"), std::string::npos);
}

TEST(DeclarationErrors, SelfReferencingAnchorsAreRefused) {
  DeclarationSet set = parse("apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: v}\n"
                             "spec: &loop\n  distribute: *loop\n");
  ASSERT_EQ(set.errors.size(), 1u) << allErrors(set);
  EXPECT_NE(set.errors[0].message.find("without anchors that refer to themselves"), std::string::npos);
  // Exponential expansion ("billion laughs") too.
  std::string laughs = "apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: v}\na0: &a0 [x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    std::string previous = "*a" + std::to_string(i - 1);
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + previous + ", " + previous + ", " +
              previous + ", " + previous + ", " + previous + ", " + previous + ", " + previous + ", " + previous + "]\n";
  }
  set = parse(laughs);
  ASSERT_EQ(set.errors.size(), 1u) << allErrors(set);
  EXPECT_NE(set.errors[0].message.find("expands to more than"), std::string::npos);
}

TEST(DeclarationErrors, DocumentThatIsNotAMap) {
  DeclarationSet set = parse("- apiVersion: revoca.io/v1alpha1\n");
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_NE(set.errors[0].message.find("not a map"), std::string::npos);
  EXPECT_NE(set.errors[0].message.find("apiVersion: revoca.io/v1alpha1"), std::string::npos);
}

TEST(DeclarationErrors, UnknownTopLevelField) {
  expectError("apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: v}\nSpec: {}\n", "Spec",
              {"unknown field \"Spec\"", "did you mean spec?"});
}

TEST(DeclarationErrors, SpecIsNotAMap) {
  expectError(document("Vault", "  - distribute\n"), "spec", {"expected a map of fields, got a list"});
}

// --- Unknown fields --------------------------------------------------------

TEST(DeclarationErrors, KebabCaseFromTheSeedSuggestsCamelCase) {
  expectError(document("CertificateAuthority", "  cert-key-type: ecdsa\n"), "spec.cert-key-type",
              {"unknown field \"cert-key-type\"", "did you mean certKeyType?", "ttl, certKeyType, certKeyCurve"});
  expectError(document("VaultSecret", kSecretBase + "  allow-image-access: [\"*\"]\n"), "spec.allow-image-access",
              {"did you mean allowImageAccess?"});
  expectError(document("VaultSecret", "  vault: v\n  autoCert: {issuingCa: ca, host: h, refresh-threshold: 1d}\n"),
              "spec.autoCert.refresh-threshold", {"did you mean refreshThreshold?", "fields of spec.autoCert"});
  expectError(document("CertificateAuthority", "  crl_dist_urls: []\n"), "spec.crl_dist_urls",
              {"did you mean crlDistUrls?"});
}

TEST(DeclarationErrors, TypoSuggestsAndUnrelatedFieldSaysRemove) {
  expectError(document("CertificateAuthority", "  renewTreshold: 10d\n"), "spec.renewTreshold",
              {"did you mean renewThreshold?"});
  expectError(document("Vault", "  replicas: 3\n"), "spec.replicas", {"remove it", "fields of spec: distribute"});
  expectError(document("EmqxDeployment", kEmqxBase + "  crl: {enable: true}\n"), "spec.crl.enable",
              {"did you mean enabled?"});
  expectError(document("CertificateAuthority", "  distribute: {deployment: [emqx]}\n"), "spec.distribute.deployment",
              {"did you mean deployments?"});
  expectError(document("CertificateAuthority", "  subject: {cn: x}\n"), "spec.subject.cn",
              {"commonName, organization, organizationalUnit, country"});
}

TEST(DeclarationErrors, FieldGivenTwice) {
  expectError(document("Vault", "  distribute: {}\n  distribute: {}\n"), "spec.distribute", {"given twice", "keep one"});
}

// --- Wrong types -------------------------------------------------------------

TEST(DeclarationErrors, WrongTypes) {
  expectError(document("CertificateAuthority", "  subject: CN=mqtt\n"), "spec.subject",
              {"expected a map of fields, got \"CN=mqtt\""});
  expectError(document("CertificateAuthority", "  certKeyType: rsa\n  certKeySize: abc\n"), "spec.certKeySize",
              {"expected a whole number, got \"abc\"", "e.g. 2048"});
  expectError(document("CertificateAuthority", "  certKeyType: rsa\n  certKeySize: \"2048\"\n"), "spec.certKeySize",
              {"without quotes"});
  expectError(document("VaultSecret", "  vault: v\n  autoCert: {issuingCa: ca, host: {name: h}}\n"),
              "spec.autoCert.host", {"expected a string, got a map"});
  expectError(document("VaultSecret", kSecretBase + "  allowImageAccess: \"*\"\n"), "spec.allowImageAccess",
              {"expected a list of strings", "write it as a list: [\"*\"]"});
  expectError(document("CertificateAuthority", "  crlDistUrls: [{url: http://x}]\n"), "spec.crlDistUrls[0]",
              {"expected a string, got a map"});
  expectError(document("EmqxDeployment", kEmqxBase + "  crl: {enabled: yes}\n"), "spec.crl.enabled",
              {"expected true or false, got \"yes\"", "write true or false"});
  expectError(document("EmqxDeployment", kEmqxBase + "  failIfNoPeerCert: \"true\"\n"), "spec.failIfNoPeerCert",
              {"unquoted"});
  expectError(document("EmqxDeployment", kEmqxBase + "  ocspStapling: {enabled: [true]}\n"), "spec.ocspStapling.enabled",
              {"expected true or false, got a list"});
  expectError(document("VaultSecret", kSecretBase + "  fileOwnership: {uid: 1000, gid: 1000}\n"),
              "spec.fileOwnership", {"expected a string, got a map"});
}

TEST(DeclarationErrors, WrongNestedMapIsReportedOnce) {
  DeclarationSet set = parse(document("VaultSecret", "  vault: v\n  autoCert: mqtt-ca\n"));
  ASSERT_EQ(set.errors.size(), 1u) << allErrors(set);
  EXPECT_EQ(set.errors[0].field, "spec.autoCert");
  EXPECT_NE(set.errors[0].message.find("expected a map of fields"), std::string::npos);
}

TEST(DeclarationErrors, EveryProblemOfADocumentIsReported) {
  DeclarationSet set = parse(document("CertificateAuthority", "  ttl: soon\n  digest: md5\n  cert-key-type: rsa\n"));
  EXPECT_EQ(objectCount(set), 0u);
  EXPECT_NE(testing::errorAt(set, "spec.ttl"), nullptr);
  EXPECT_NE(testing::errorAt(set, "spec.digest"), nullptr);
  EXPECT_NE(testing::errorAt(set, "spec.cert-key-type"), nullptr);
  for (const DeclarationError& error : set.errors) {
    EXPECT_EQ(error.source, "decl.yaml (document 1)");
    EXPECT_EQ(error.kind, "CertificateAuthority");
    EXPECT_EQ(error.object, "default/x");
  }
}

// --- Durations ------------------------------------------------------------------

TEST(DeclarationErrors, Durations) {
  expectError(document("CertificateAuthority", "  ttl: 5x\n"), "spec.ttl", {"unknown unit \"x\"", "write it like"});
  expectError(document("CertificateAuthority", "  ttl: 30\n"), "spec.ttl", {"no unit", "30d"});
  expectError(document("CertificateAuthority", "  ttl: 0s\n"), "spec.ttl", {"longer than 0s"});
  expectError(document("CertificateAuthority", "  crl: {validity: -1d}\n"), "spec.crl.validity", {"write it like"});
  expectError(document("CertificateAuthority", "  ocsp: {validity: 1 hour}\n"), "spec.ocsp.validity", {"write it like"});
  expectError(document("CertificateAuthority", "  crl: {cacheMaxAge: 0s}\n"), "spec.crl.cacheMaxAge",
              {"longer than 0s"});
  expectError(document("EmqxDeployment", kEmqxBase + "  ocspStapling: {refreshHttpTimeout: fast}\n"),
              "spec.ocspStapling.refreshHttpTimeout", {"write it like"});
}

TEST(DeclarationErrors, CrlCacheMaxAgeMustNotOutlastTheCrl) {
  expectError(document("CertificateAuthority", "  crl: {validity: 1h, cacheMaxAge: 2h}\n"), "spec.crl.cacheMaxAge",
              {"cacheMaxAge 2h is longer than validity 1h", "e.g. 5m"});
  // Against the default validity (1d) too.
  expectError(document("CertificateAuthority", "  crl: {cacheMaxAge: 2d}\n"), "spec.crl.cacheMaxAge",
              {"longer than validity 1d"});
  // The default cacheMaxAge (5m) under a shorter validity is no error: it is
  // capped at the CRL's nextUpdate when served.
  DeclarationSet set = parse(document("CertificateAuthority", "  crl: {validity: 1m}\n"));
  EXPECT_TRUE(set.errors.empty()) << allErrors(set);
  // Equal is fine: a cache may keep the CRL until its nextUpdate.
  set = parse(document("CertificateAuthority", "  crl: {validity: 1h, cacheMaxAge: 60m}\n"));
  EXPECT_TRUE(set.errors.empty()) << allErrors(set);
}

TEST(DeclarationErrors, ThresholdsMustBeShorterThanTheLifetime) {
  expectError(document("CertificateAuthority", "  ttl: 30d\n  renewThreshold: 30d\n"), "spec.renewThreshold",
              {"renewThreshold 30d must be shorter than ttl 30d", "shorten renewThreshold", "lengthen ttl"});
  // The default renewThreshold (30d) against a short ttl.
  expectError(document("CertificateAuthority", "  ttl: 7d\n"), "spec.renewThreshold", {"shorter than ttl 7d"});
  expectError(document("VaultSecret", "  vault: v\n  autoCert: {issuingCa: ca, host: h, ttl: 1d, refreshThreshold: 2d}\n"),
              "spec.autoCert.refreshThreshold", {"refreshThreshold 2d must be shorter than ttl 1d"});
}

TEST(DeclarationErrors, BrokenTtlDoesNotAlsoBlameTheThreshold) {
  DeclarationSet set = parse(document("CertificateAuthority", "  ttl: 1 year\n"));
  ASSERT_EQ(set.errors.size(), 1u) << allErrors(set);
  EXPECT_EQ(set.errors[0].field, "spec.ttl");
}

// --- CertificateAuthority --------------------------------------------------

TEST(DeclarationErrors, KeyChoices) {
  expectError(document("CertificateAuthority", "  certKeyType: dsa\n"), "spec.certKeyType",
              {"unknown value \"dsa\"", "write ecdsa or rsa"});
  expectError(document("CertificateAuthority", "  certKeyCurve: curve25519\n"), "spec.certKeyCurve",
              {"secp256r1, secp384r1 or secp521r1"});
  expectError(document("CertificateAuthority", "  digest: sha1\n"), "spec.digest", {"sha256, sha384 or sha512"});
  expectError(document("CertificateAuthority", "  certKeyType: rsa\n  certKeySize: 1024\n"), "spec.certKeySize",
              {"1024 bits", "2048, 3072 or 4096"});
  expectError(document("CertificateAuthority", "  certKeySize: 2048\n"), "spec.certKeySize",
              {"rsa keys only", "certKeyType: rsa"});
  expectError(document("CertificateAuthority", "  certKeyType: rsa\n  certKeyCurve: secp384r1\n"),
              "spec.certKeyCurve", {"ecdsa keys only"});
}

TEST(DeclarationErrors, UrlTemplates) {
  expectError(document("CertificateAuthority", "  crlDistUrls: [\"https://x/crl\"]\n"), "spec.crlDistUrls[0]",
              {"must start with http://"});
  expectError(document("CertificateAuthority",
                       "  ocspResponderUrls:\n  - http://x/ocsp/${SYS_TENANT_UUID}\n  - http://x/ocsp/${SYS_TENANT_ID}\n"),
              "spec.ocspResponderUrls[1]", {"unknown variable ${SYS_TENANT_ID}", "${SYS_TENANT_UUID}"});
  expectError(document("CertificateAuthority", "  crlDistUrls: [\"http://x/${SYS_CA_NAME\"]\n"), "spec.crlDistUrls[0]",
              {"unterminated"});
  expectError(document("CertificateAuthority", "  crlDistUrls: ['http://x/\\${SYS_CA_NAME}']\n"),
              "spec.crlDistUrls[0]", {"backslash"});
}

TEST(DeclarationErrors, SubjectAndIssuer) {
  expectError(document("CertificateAuthority", "  subject: {country: Sweden}\n"), "spec.subject.country",
              {"two upper-case letters", "SE"});
  expectError(document("CertificateAuthority", "  subject: {commonName: \"\"}\n"), "spec.subject.commonName",
              {"leave it out"});
  expectError(document("CertificateAuthority", "  issuingCa: x\n"), "spec.issuingCa", {"leave issuingCa out"});
  expectError(document("CertificateAuthority", "  issuingCa: Root_CA\n"), "spec.issuingCa", {"not an object name"});
}

// --- VaultSecret -------------------------------------------------------------

TEST(DeclarationErrors, VaultSecretRequiredFields) {
  expectError(document("VaultSecret", "  autoCert: {issuingCa: ca, host: h}\n"), "spec.vault", {"required", "vault: mqtt-vault"});
  expectError(document("VaultSecret", "  vault: v\n"), "spec.autoCert", {"required", "autoCert: {issuingCa:"});
  expectError(document("VaultSecret", "  vault: v\n  autoCert: {host: h}\n"), "spec.autoCert.issuingCa",
              {"required", "issuingCa: mqtt-ca"});
  expectError(document("VaultSecret", "  vault: v\n  autoCert: {issuingCa: ca}\n"), "spec.autoCert.host",
              {"required", "host: mqtt.example.com"});
  expectError(document("VaultSecret", "  vault: \"\"\n  autoCert: {issuingCa: ca, host: h}\n"), "spec.vault",
              {"must not be empty"});
  expectError(document("VaultSecret", "  vault: v\n  autoCert: {issuingCa: ca, host: h, certType: authority}\n"),
              "spec.autoCert.certType", {"server or client"});
}

TEST(DeclarationErrors, FileOwnershipAndMode) {
  expectError(document("VaultSecret", kSecretBase + "  fileOwnership: emqx:emqx\n"), "spec.fileOwnership",
              {"\"uid:gid\"", "\"1000:1000\""});
  expectError(document("VaultSecret", kSecretBase + "  fileMode: 0999\n"), "spec.fileMode",
              {"'9' is not an octal digit", "like 0400"});
  expectError(document("VaultSecret", kSecretBase + "  fileMode: 1777\n"), "spec.fileMode", {"up to 0777"});
  expectError(document("VaultSecret", kSecretBase + "  fileMode: rw-r--r--\n"), "spec.fileMode", {"0644"});
}

// --- CertificateRevocation -----------------------------------------------------

TEST(DeclarationErrors, Revocation) {
  expectError(document("CertificateRevocation", "  serial: 4F\n"), "spec.ca", {"required", "ca: mqtt-ca"});
  expectError(document("CertificateRevocation", "  ca: ca\n"), "spec.serial", {"required", "openssl x509"});
  expectError(document("CertificateRevocation", "  ca: ca\n  serial: xyz\n"), "spec.serial",
              {"\"xyz\"", "hexadecimal", "openssl x509"});
  expectError(document("CertificateRevocation", "  ca: ca\n  serial: 4F\n  reason: stolen\n"), "spec.reason",
              {"unknown reason \"stolen\"", "unspecified, keyCompromise", "superseded", "aACompromise"});
  expectError(document("CertificateRevocation", "  ca: ca\n  serial: 4F\n  reason: certificateHold\n"), "spec.reason",
              {"permanent", "could never be released", "keyCompromise"});
  expectError(document("CertificateRevocation", "  ca: ca\n  serial: 4F\n  reason: removeFromCRL\n"), "spec.reason",
              {"delta CRLs only", "RFC 5280 5.3.1"});
  expectError(document("CertificateRevocation", "  ca: ca\n  serial: 4F\n  invalidityDate: yesterday\n"),
              "spec.invalidityDate", {"2026-01-02T03:04:05Z"});
}

// --- EmqxDeployment ------------------------------------------------------------

TEST(DeclarationErrors, EmqxDeployment) {
  expectError(document("EmqxDeployment", "  secret: s\n"), "spec.vault", {"required"});
  expectError(document("EmqxDeployment", "  vault: v\n"), "spec.secret", {"required", "secret: server-cert"});
  expectError(document("EmqxDeployment", kEmqxBase + "  listener: {bind: \"0.0.0.0:88830\"}\n"), "spec.listener.bind",
              {"1 to 65535", "\"0.0.0.0:8883\""});
  expectError(document("EmqxDeployment", kEmqxBase + "  listener: {name: SSL-1}\n"), "spec.listener.name",
              {"lowercase letters, digits and '_'"});
  expectError(document("EmqxDeployment", kEmqxBase + "  certDir: certs\n"), "spec.certDir", {"absolute", "/etc/emqx-certs"});
  expectError(document("EmqxDeployment", kEmqxBase + "  verify: verify_maybe\n"), "spec.verify",
              {"verify_peer or verify_none"});
  expectError(document("EmqxDeployment", kEmqxBase + "  rotation: {policy: rolling}\n"), "spec.rotation.policy",
              {"unknown value \"rolling\"", "reload", "restart"});
  expectError(document("EmqxDeployment", kEmqxBase + "  rotation: {reloadWithin: 0s}\n"), "spec.rotation.reloadWithin",
              {"must be longer than 0s"});
  expectError(document("EmqxDeployment", kEmqxBase + "  ocspStapling: {responderUrl: \"http://x/ocsp/${SYS_TENANT_UUID}/ca\"}\n"),
              "spec.ocspStapling.responderUrl", {"used as written", "leave responderUrl out"});
  expectError(document("EmqxDeployment", kEmqxBase + "  ocspStapling: {responderUrl: \"https://x/ocsp/\"}\n"),
              "spec.ocspStapling.responderUrl", {"http://"});
  expectError(document("EmqxDeployment", kEmqxBase + "  podTemplate: emqx\n"), "spec.podTemplate", {"expected a map"});
  expectError(document("EmqxDeployment", kEmqxBase + "  deploymentName: emqx\n  podTemplate: {spec: {}}\n"),
              "spec.podTemplate", {"not both"});
}

}  // namespace
}  // namespace revoca
