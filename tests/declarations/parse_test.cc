#include "declarations/parse.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "parse_helpers.h"

namespace revoca {
namespace {

using testing::allErrors;
using testing::objectCount;
using testing::parse;

constexpr std::int64_t kDay = 86400;

// Steps 1 to 4 and 6 of docs/emqx.md, as revoca declarations.
const char* kGoldenPathExample = R"(
# Step 1: the CA
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata:
  name: mqtt-ca
  namespace: iot
  labels: {team: edge}
spec:
  ttl: 1y350d
  certKeyType: ecdsa
  certKeyCurve: secp256r1
  digest: sha256
  subject: {organization: Acme, organizationalUnit: IoT, country: SE}
  crlDistUrls:
  - http://api.internal:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}
  ocspResponderUrls:
  - http://api.internal:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}
  renewThreshold: 60d
  crl: {validity: 2d, cacheMaxAge: 10m}
  ocsp: {validity: 2h}
  distribute:
    deployments:
    - emqx
---
# Step 2: vault and auto-rotated server certificate
apiVersion: revoca.io/v1alpha1
kind: Vault
metadata: {name: mqtt-vault, namespace: iot}
spec:
  distribute:
    deployments: [emqx]
---
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: server-cert, namespace: iot}
spec:
  vault: mqtt-vault
  allowImageAccess: [ "*" ]
  autoCert:
    issuingCa: mqtt-ca
    host: mqtt.emqx.internal
    altNames: [emqx.iot.svc]
    certType: server
    ttl: 30d
    refreshThreshold: 15d
  fileOwnership: 1000:1000
  fileMode: 400
---
# Step 6: revoke a certificate
apiVersion: revoca.io/v1alpha1
kind: CertificateRevocation
metadata: {name: client-1-revoked, namespace: iot}
spec:
  ca: mqtt-ca
  serial: "0x4f:0a:1B"
  reason: keyCompromise
  invalidityDate: 2026-01-02T03:04:05Z
---
# Step 4: EMQX
apiVersion: revoca.io/v1alpha1
kind: EmqxDeployment
metadata: {name: emqx, namespace: iot}
spec:
  listener: {name: default, bind: "0.0.0.0:8883"}
  vault: mqtt-vault
  secret: server-cert
  certDir: /etc/emqx-certs
  crl: {enabled: true, refreshInterval: 5m, httpTimeout: 15s}
  ocspStapling: {enabled: true, refreshInterval: 5s, refreshHttpTimeout: 15s}
  verify: verify_peer
  failIfNoPeerCert: true
  podTemplate:
    spec:
      containers: [{name: emqx, image: "emqx/emqx:5.10.3"}]
)";

TEST(ParseDeclarations, GoldenPathExampleOfAllFiveKinds) {
  DeclarationSet set = parse(kGoldenPathExample, "decl/emqx.yaml");
  ASSERT_TRUE(set.errors.empty()) << allErrors(set);
  ASSERT_EQ(set.authorities.size(), 1u);
  ASSERT_EQ(set.vaults.size(), 1u);
  ASSERT_EQ(set.vaultSecrets.size(), 1u);
  ASSERT_EQ(set.revocations.size(), 1u);
  ASSERT_EQ(set.emqxDeployments.size(), 1u);

  const CertificateAuthority& ca = set.authorities[0];
  EXPECT_EQ(ca.key().str(), "iot/mqtt-ca");
  EXPECT_EQ(ca.meta.source, "decl/emqx.yaml (document 1)");
  EXPECT_EQ(ca.spec.ttl.count(), (365 + 350) * kDay);
  EXPECT_EQ(ca.spec.key.type, pki::KeyType::Ecdsa);
  EXPECT_EQ(ca.spec.key.curve, pki::Curve::P256);
  EXPECT_EQ(ca.spec.digest, pki::Digest::Sha256);
  EXPECT_EQ(ca.spec.subject.commonName, "mqtt-ca");
  EXPECT_EQ(ca.spec.subject.organization, "Acme");
  EXPECT_EQ(ca.spec.subject.organizationalUnit, "IoT");
  EXPECT_EQ(ca.spec.subject.country, "SE");
  EXPECT_FALSE(ca.spec.issuingCa);
  ASSERT_EQ(ca.spec.crlDistUrls.size(), 1u);
  EXPECT_EQ(ca.spec.crlDistUrls[0],
            "http://api.internal:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}");
  ASSERT_EQ(ca.spec.ocspResponderUrls.size(), 1u);
  EXPECT_EQ(ca.spec.ocspResponderUrls[0], "http://api.internal:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}");
  EXPECT_EQ(ca.spec.renewThreshold.count(), 60 * kDay);
  EXPECT_EQ(ca.spec.crlValidity.count(), 2 * kDay);
  EXPECT_EQ(ca.spec.crlCacheMaxAge.count(), 600);
  EXPECT_EQ(ca.spec.ocspValidity.count(), 7200);
  EXPECT_EQ(ca.spec.distributeDeployments, std::vector<std::string>{"emqx"});

  const Vault& vault = set.vaults[0];
  EXPECT_EQ(vault.key().str(), "iot/mqtt-vault");
  EXPECT_EQ(vault.spec.distributeDeployments, std::vector<std::string>{"emqx"});

  const VaultSecret& secret = set.vaultSecrets[0];
  EXPECT_EQ(secret.meta.source, "decl/emqx.yaml (document 3)");
  EXPECT_EQ(secret.spec.vault, "mqtt-vault");
  EXPECT_EQ(secret.spec.allowImageAccess, std::vector<std::string>{"*"});
  EXPECT_EQ(secret.spec.autoCert.issuingCa, "mqtt-ca");
  EXPECT_EQ(secret.spec.autoCert.host, "mqtt.emqx.internal");
  EXPECT_EQ(secret.spec.autoCert.altNames, std::vector<std::string>{"emqx.iot.svc"});
  EXPECT_EQ(secret.spec.autoCert.certType, pki::CertType::Server);
  EXPECT_EQ(secret.spec.autoCert.ttl.count(), 30 * kDay);
  EXPECT_EQ(secret.spec.autoCert.refreshThreshold.count(), 15 * kDay);
  ASSERT_TRUE(secret.spec.fileOwnership);
  EXPECT_EQ(secret.spec.fileOwnership->uid, 1000);
  EXPECT_EQ(secret.spec.fileOwnership->gid, 1000);
  EXPECT_EQ(secret.spec.fileMode, 0400);

  const CertificateRevocation& revocation = set.revocations[0];
  EXPECT_EQ(revocation.spec.ca, "mqtt-ca");
  EXPECT_EQ(revocation.spec.serial, "4F0A1B");
  EXPECT_EQ(revocation.spec.reason, pki::RevocationReason::KeyCompromise);
  ASSERT_TRUE(revocation.spec.invalidityDate);
  EXPECT_EQ(toUnixSeconds(*revocation.spec.invalidityDate), 1767323045);

  const EmqxDeployment& emqx = set.emqxDeployments[0];
  EXPECT_EQ(emqx.spec.listenerName, "default");
  EXPECT_EQ(emqx.spec.bind, "0.0.0.0:8883");
  EXPECT_EQ(emqx.spec.vault, "mqtt-vault");
  EXPECT_EQ(emqx.spec.secret, "server-cert");
  EXPECT_EQ(emqx.spec.certDir, "/etc/emqx-certs");
  EXPECT_TRUE(emqx.spec.crl.enabled);
  EXPECT_EQ(emqx.spec.crl.refreshInterval.count(), 300);
  EXPECT_EQ(emqx.spec.crl.httpTimeout.count(), 15);
  EXPECT_TRUE(emqx.spec.ocspStapling.enabled);
  EXPECT_EQ(emqx.spec.ocspStapling.refreshInterval.count(), 5);
  EXPECT_EQ(emqx.spec.ocspStapling.refreshHttpTimeout.count(), 15);
  EXPECT_FALSE(emqx.spec.ocspStapling.responderUrl);
  EXPECT_EQ(emqx.spec.verify, "verify_peer");
  EXPECT_TRUE(emqx.spec.failIfNoPeerCert);
  EXPECT_FALSE(emqx.spec.deploymentName);
}

TEST(ParseDeclarations, DefaultsWhenFieldsAreLeftOut) {
  DeclarationSet set = parse(R"(
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: root}
---
apiVersion: revoca.io/v1alpha1
kind: Vault
metadata: {name: v}
---
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: s}
spec: {vault: v, autoCert: {issuingCa: root, host: h.example}}
---
apiVersion: revoca.io/v1alpha1
kind: CertificateRevocation
metadata: {name: r}
spec: {ca: root, serial: "00ff"}
---
apiVersion: revoca.io/v1alpha1
kind: EmqxDeployment
metadata: {name: e}
spec: {vault: v, secret: s}
)");
  ASSERT_TRUE(set.errors.empty()) << allErrors(set);
  ASSERT_EQ(objectCount(set), 5u);

  const CertificateAuthoritySpec& ca = set.authorities[0].spec;
  EXPECT_EQ(set.authorities[0].meta.namespace_, "default");
  EXPECT_EQ(ca.subject.commonName, "root");
  EXPECT_EQ(ca.key.type, pki::KeyType::Ecdsa);
  EXPECT_EQ(ca.key.curve, pki::Curve::P256);
  EXPECT_EQ(ca.digest, pki::Digest::Sha256);
  EXPECT_EQ(ca.ttl, CertificateAuthoritySpec{}.ttl);
  EXPECT_EQ(ca.crlValidity, CertificateAuthoritySpec{}.crlValidity);
  EXPECT_EQ(ca.crlCacheMaxAge, Seconds(300));
  EXPECT_TRUE(ca.crlDistUrls.empty());

  EXPECT_TRUE(set.vaults[0].spec.distributeDeployments.empty());

  const VaultSecretSpec& secret = set.vaultSecrets[0].spec;
  EXPECT_EQ(secret.fileMode, 0400);
  EXPECT_FALSE(secret.fileOwnership);
  EXPECT_EQ(secret.autoCert.certType, pki::CertType::Server);
  EXPECT_EQ(secret.autoCert.ttl.count(), 30 * kDay);
  EXPECT_EQ(secret.autoCert.refreshThreshold.count(), 15 * kDay);

  EXPECT_EQ(set.revocations[0].spec.serial, "FF");
  EXPECT_EQ(set.revocations[0].spec.reason, pki::RevocationReason::Unspecified);
  EXPECT_FALSE(set.revocations[0].spec.invalidityDate);

  const EmqxDeploymentSpec& emqx = set.emqxDeployments[0].spec;
  EXPECT_EQ(emqx.listenerName, "default");
  EXPECT_EQ(emqx.bind, "0.0.0.0:8883");
  EXPECT_EQ(emqx.certDir, "/etc/emqx-certs");
  EXPECT_FALSE(emqx.crl.enabled);
  EXPECT_FALSE(emqx.ocspStapling.enabled);
  EXPECT_EQ(emqx.verify, "verify_peer");
  EXPECT_TRUE(emqx.failIfNoPeerCert);
}

TEST(ParseDeclarations, RsaIntermediateWithCurveAliasesAndOtherDigests) {
  DeclarationSet set = parse(R"(
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: sub}
spec: {issuingCa: root, certKeyType: rsa, certKeySize: 3072, digest: sha512, subject: {commonName: "Sub CA"}}
---
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: p384}
spec: {certKeyCurve: P-384, digest: sha384}
---
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: p256}
spec: {certKeyCurve: prime256v1}
---
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: p521}
spec: {certKeyCurve: secp521r1}
)");
  ASSERT_TRUE(set.errors.empty()) << allErrors(set);
  ASSERT_EQ(set.authorities.size(), 4u);
  EXPECT_EQ(set.authorities[0].spec.issuingCa, "root");
  EXPECT_EQ(set.authorities[0].spec.key.type, pki::KeyType::Rsa);
  EXPECT_EQ(set.authorities[0].spec.key.rsaBits, 3072);
  EXPECT_EQ(set.authorities[0].spec.digest, pki::Digest::Sha512);
  EXPECT_EQ(set.authorities[0].spec.subject.commonName, "Sub CA");
  EXPECT_EQ(set.authorities[1].spec.key.curve, pki::Curve::P384);
  EXPECT_EQ(set.authorities[1].spec.digest, pki::Digest::Sha384);
  EXPECT_EQ(set.authorities[2].spec.key.curve, pki::Curve::P256);
  EXPECT_EQ(set.authorities[3].spec.key.curve, pki::Curve::P521);
}

TEST(ParseDeclarations, FileModeSpellings) {
  const char* header = "apiVersion: revoca.io/v1alpha1\nkind: VaultSecret\nmetadata: {name: s}\n"
                       "spec: {vault: v, autoCert: {issuingCa: ca, host: h}, fileMode: ";
  for (auto [text, mode] : std::vector<std::pair<std::string, int>>{
           {"400", 0400}, {"0400", 0400}, {"\"0644\"", 0644}, {"'600'", 0600}, {"0o640", 0640}}) {
    DeclarationSet set = parse(header + text + "}\n");
    ASSERT_EQ(set.vaultSecrets.size(), 1u) << text << "\n" << allErrors(set);
    EXPECT_EQ(set.vaultSecrets[0].spec.fileMode, mode) << text;
  }
}

TEST(ParseDeclarations, ClientCertAndOtherReasons) {
  DeclarationSet set = parse(R"(
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: client}
spec: {vault: v, autoCert: {issuingCa: ca, host: c1, certType: client}, fileOwnership: "0:0"}
---
apiVersion: revoca.io/v1alpha1
kind: CertificateRevocation
metadata: {name: r}
spec: {ca: ca, serial: 4F0A, reason: cessationOfOperation, invalidityDate: "2026-01-02T05:04:05+02:00"}
)");
  ASSERT_TRUE(set.errors.empty()) << allErrors(set);
  EXPECT_EQ(set.vaultSecrets[0].spec.autoCert.certType, pki::CertType::Client);
  EXPECT_EQ(set.vaultSecrets[0].spec.fileOwnership->uid, 0);
  EXPECT_EQ(set.revocations[0].spec.reason, pki::RevocationReason::CessationOfOperation);
  EXPECT_EQ(toUnixSeconds(*set.revocations[0].spec.invalidityDate), 1767323045);
}

TEST(ParseDeclarations, EmqxResponderUrlAndExistingDeployment) {
  DeclarationSet set = parse(R"(
apiVersion: revoca.io/v1alpha1
kind: EmqxDeployment
metadata: {name: e}
spec:
  vault: v
  secret: s
  listener: {name: mqtts_2, bind: "[::]:8884"}
  ocspStapling: {enabled: true, responderUrl: "http://api.internal:4664/ocsp/5a3e/mqtt-ca/"}
  verify: verify_none
  failIfNoPeerCert: false
  deploymentName: emqx
  rotation: {policy: restart, reloadWithin: 90s}
)");
  ASSERT_TRUE(set.errors.empty()) << allErrors(set);
  const EmqxDeploymentSpec& emqx = set.emqxDeployments[0].spec;
  EXPECT_EQ(emqx.listenerName, "mqtts_2");
  EXPECT_EQ(emqx.bind, "[::]:8884");
  EXPECT_EQ(emqx.ocspStapling.responderUrl, "http://api.internal:4664/ocsp/5a3e/mqtt-ca/");
  EXPECT_EQ(emqx.verify, "verify_none");
  EXPECT_FALSE(emqx.failIfNoPeerCert);
  EXPECT_EQ(emqx.deploymentName, "emqx");
  EXPECT_EQ(emqx.rotation, RotationPolicy::Restart);
  EXPECT_EQ(emqx.reloadWithin, Seconds(90));
  EXPECT_EQ(parse("apiVersion: revoca.io/v1alpha1\nkind: EmqxDeployment\nmetadata: {name: e}\nspec: {vault: v, secret: s}\n")
                .emqxDeployments[0].spec.rotation,
            RotationPolicy::Reload);
}

TEST(ParseDeclarations, AppendsToTheSetAndNumbersDocuments) {
  DeclarationSet set;
  parseDeclarations("apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: a}\n", "one.yaml", set);
  parseDeclarations("---\n---\napiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: b}\n", "two.yaml", set);
  ASSERT_EQ(set.vaults.size(), 2u) << allErrors(set);
  EXPECT_EQ(set.vaults[0].meta.source, "one.yaml (document 1)");
  // The empty document between the two markers still counts, as it would for kubectl.
  EXPECT_EQ(set.vaults[1].meta.source, "two.yaml (document 2)");
}

TEST(ParseDeclarations, SkipsEmptyDocumentsAndComments) {
  DeclarationSet set = parse("# only a comment\n---\n---\n# another\n...\n");
  EXPECT_TRUE(set.errors.empty()) << allErrors(set);
  EXPECT_EQ(objectCount(set), 0u);
  EXPECT_EQ(objectCount(parse("")), 0u);
  EXPECT_TRUE(parse("").errors.empty());
}

TEST(ParseDeclarations, SkipsOtherApiGroupsAndNonManifests) {
  DeclarationSet set = parse(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: emqx}
spec: {replicas: 1, whatever: {is: fine}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: b}
---
apiVersion: cert-manager.io/v1
kind: CertificateAuthority
metadata: {name: not-ours}
---
services: {mqtt: {image: emqx}}
---
apiVersion: revoca.io/v1alpha1
kind: Vault
metadata: {name: ours}
)");
  EXPECT_TRUE(set.errors.empty()) << allErrors(set);
  ASSERT_EQ(objectCount(set), 1u);
  EXPECT_EQ(set.vaults[0].meta.name, "ours");
  EXPECT_EQ(set.vaults[0].meta.source, "decl.yaml (document 5)");
}

TEST(ParseDeclarations, OneBrokenDocumentKeepsTheOthers) {
  DeclarationSet set = parse(R"(
apiVersion: revoca.io/v1alpha1
kind: Vault
metadata: {name: first}
---
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: broken}
spec: {vault: v, autoCert: {issuingCa: ca, host: h, ttl: 5x}}
---
apiVersion: revoca.io/v1alpha1
kind: Vault
metadata: {name: third}
)");
  ASSERT_EQ(set.vaults.size(), 2u);
  EXPECT_TRUE(set.vaultSecrets.empty()) << "a document with errors declares nothing";
  ASSERT_EQ(set.errors.size(), 1u) << allErrors(set);
  const DeclarationError& error = set.errors[0];
  EXPECT_EQ(error.source, "decl.yaml (document 2)");
  EXPECT_EQ(error.kind, "VaultSecret");
  EXPECT_EQ(error.object, "default/broken");
  EXPECT_EQ(error.field, "spec.autoCert.ttl");
  EXPECT_NE(error.message.find("5x"), std::string::npos);
}

TEST(ParseDeclarations, YamlSyntaxErrorKeepsTheOtherDocuments) {
  DeclarationSet set = parse("apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: a}\n"
                             "---\n"
                             "apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: [b\n"
                             "---\n"
                             "apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: c}\n");
  ASSERT_EQ(set.vaults.size(), 2u) << allErrors(set);
  EXPECT_EQ(set.vaults[1].meta.source, "decl.yaml (document 3)");
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].source, "decl.yaml (document 2)");
  EXPECT_NE(set.errors[0].message.find("not valid YAML at line 8"), std::string::npos) << set.errors[0].message;
  EXPECT_NE(set.errors[0].message.find("fix the syntax"), std::string::npos);
}

TEST(ParseDeclarations, KubectlListItems) {
  DeclarationSet set = parse(R"(
apiVersion: v1
kind: List
items:
- apiVersion: revoca.io/v1alpha1
  kind: Vault
  metadata: {name: a, namespace: t1, uid: 1234, resourceVersion: "9"}
  status: {conditions: []}
- apiVersion: v1
  kind: Secret
  metadata: {name: not-ours}
- apiVersion: revoca.io/v1alpha1
  kind: Vault
  metadata: {name: b}
  spec: {distribute: {deployments: 3}}
)");
  ASSERT_EQ(set.vaults.size(), 1u);
  EXPECT_EQ(set.vaults[0].key().str(), "t1/a");
  EXPECT_EQ(set.vaults[0].meta.source, "decl.yaml (document 1), items[0]");
  ASSERT_EQ(set.errors.size(), 1u) << allErrors(set);
  EXPECT_EQ(set.errors[0].source, "decl.yaml (document 1), items[2]");
  EXPECT_EQ(set.errors[0].field, "spec.distribute.deployments");
}

// Found by fuzz/declarations: a List without items threw YAML::InvalidNode
// out of the parser and ended the process.
TEST(ParseDeclarations, ListWithoutItemsHoldsNothing) {
  DeclarationSet set = parse("apiVersion: v1\nkind: List\nitees: []\n---\n"
                             "apiVersion: v1\nkind: List\nitems: {a: 1}\n---\n"
                             "apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: a}\n");
  EXPECT_TRUE(set.errors.empty()) << allErrors(set);
  EXPECT_EQ(set.vaults.size(), 1u);
}

// Found by fuzz/declarations: yaml-cpp 0.7 yields empty documents forever
// on a lone ",", and LoadAll() collected them until memory ran out.
TEST(ParseDeclarations, AStrayCommaIsAnErrorNotAnEndlessLoop) {
  DeclarationSet set = parse("apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: a}\n---\n"
                             ", autoCert: {issuingCa: root}}\n---\n"
                             "apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: b}\n");
  ASSERT_EQ(set.errors.size(), 1u) << allErrors(set);
  EXPECT_NE(set.errors[0].message.find("not valid YAML from line 5"), std::string::npos) << set.errors[0].message;
  EXPECT_NE(set.errors[0].message.find("outside [ ] or { }"), std::string::npos);
  EXPECT_EQ(set.vaults.size(), 2u);
}

TEST(ParseDeclarations, GenerationFollowsTheSpec) {
  auto generation = [](const std::string& metadataAndSpec) {
    DeclarationSet set = parse("apiVersion: revoca.io/v1alpha1\nkind: CertificateAuthority\n" + metadataAndSpec);
    EXPECT_EQ(set.authorities.size(), 1u) << allErrors(set);
    return set.authorities.empty() ? 0 : set.authorities[0].meta.generation;
  };
  std::int64_t base = generation("metadata: {name: ca}\nspec: {ttl: 1y, digest: sha256}\n");
  EXPECT_GT(base, 0);
  EXPECT_EQ(base, generation("metadata: {name: ca}\nspec: {ttl: 1y, digest: sha256}\n"));
  // Same content, other layout: key order, block style, quotes, comments.
  EXPECT_EQ(base, generation("metadata: {name: ca, labels: {a: b}}\nspec:\n  digest: \"sha256\"  # why\n  ttl: 1y\n"));
  EXPECT_NE(base, generation("metadata: {name: ca}\nspec: {ttl: 2y, digest: sha256}\n"));
  EXPECT_NE(base, generation("metadata: {name: ca}\nspec: {ttl: 1y, digest: sha384}\n"));
  EXPECT_NE(base, generation("metadata: {name: ca}\nspec: {ttl: 1y}\n"));
  EXPECT_NE(generation("metadata: {name: ca}\nspec: {crlDistUrls: [\"http://a\", \"http://b\"]}\n"),
            generation("metadata: {name: ca}\nspec: {crlDistUrls: [\"http://b\", \"http://a\"]}\n"));
  EXPECT_GT(generation("metadata: {name: ca}\n"), 0);
}

class DeclarationDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("revoca-decl-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "nested");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  static std::string vault(const std::string& name) {
    return "apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: " + name + "}\n";
  }

  std::filesystem::path dir_;
};

TEST_F(DeclarationDirectory, ReadsYamlFilesSortedByName) {
  write("b.yaml", vault("from-b") + "---\n" + vault("from-b2"));
  write("a.yml", vault("from-a"));
  write("c.txt", vault("from-txt"));
  write(".hidden.yaml", vault("from-hidden"));
  write("nested/n.yaml", vault("from-nested"));
  write("broken.yaml", "apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {}\n");

  DeclarationSet set = loadDeclarationDirectory(dir_.string());
  ASSERT_EQ(set.vaults.size(), 3u) << allErrors(set);
  EXPECT_EQ(set.vaults[0].meta.name, "from-a");
  EXPECT_EQ(set.vaults[1].meta.name, "from-b");
  EXPECT_EQ(set.vaults[2].meta.name, "from-b2");
  EXPECT_EQ(set.vaults[0].meta.source, (dir_ / "a.yml").string() + " (document 1)");
  EXPECT_EQ(set.vaults[2].meta.source, (dir_ / "b.yaml").string() + " (document 2)");
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].source, (dir_ / "broken.yaml").string() + " (document 1)");
  EXPECT_EQ(set.errors[0].field, "metadata.name");
}

TEST_F(DeclarationDirectory, SameObjectInTwoFilesIsAnError) {
  write("a.yaml", vault("dup"));
  write("b.yaml", vault("dup"));
  DeclarationSet set = loadDeclarationDirectory(dir_.string());
  ASSERT_EQ(set.vaults.size(), 1u);
  EXPECT_EQ(set.vaults[0].meta.source, (dir_ / "a.yaml").string() + " (document 1)");
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].field, "metadata.name");
  EXPECT_NE(set.errors[0].message.find("already declared in " + (dir_ / "a.yaml").string()), std::string::npos);
}

TEST_F(DeclarationDirectory, EmptyDirectoryIsFine) {
  DeclarationSet set = loadDeclarationDirectory(dir_.string());
  EXPECT_TRUE(set.errors.empty());
  EXPECT_EQ(objectCount(set), 0u);
}

TEST_F(DeclarationDirectory, MissingDirectoryIsOneError) {
  DeclarationSet set = loadDeclarationDirectory((dir_ / "nope").string());
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].source, (dir_ / "nope").string());
  EXPECT_NE(set.errors[0].message.find("does not exist"), std::string::npos);
  EXPECT_NE(set.errors[0].message.find("create it"), std::string::npos);
}

TEST_F(DeclarationDirectory, ConfigMapLinksInsideTheDirectoryAreFollowed) {
  std::filesystem::create_directories(dir_ / "..2026_12_06");
  write("..2026_12_06/ca.yaml", vault("mounted"));
  std::filesystem::create_directory_symlink("..2026_12_06", dir_ / "..data");
  std::filesystem::create_symlink("..data/ca.yaml", dir_ / "ca.yaml");
  DeclarationSet set = loadDeclarationDirectory(dir_.string());
  ASSERT_EQ(set.vaults.size(), 1u) << allErrors(set);
  EXPECT_EQ(set.vaults[0].meta.name, "mounted");
}

TEST_F(DeclarationDirectory, ALinkToAFileOutsideIsRefusedUnread) {
  std::filesystem::path outside = dir_.string() + "-outside.yaml";
  std::ofstream(outside) << vault("secret-content");
  std::filesystem::create_symlink(outside, dir_ / "key.yaml");
  DeclarationSet set = loadDeclarationDirectory(dir_.string());
  std::filesystem::remove(outside);
  EXPECT_EQ(objectCount(set), 0u);
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].source, (dir_ / "key.yaml").string());
  EXPECT_NE(set.errors[0].message.find("outside the declaration directory"), std::string::npos);
}

TEST_F(DeclarationDirectory, AFileOverSixteenMebibytesIsRefusedAndTheOthersRead) {
  write("big.yaml", "# " + std::string(16 << 20, 'x') + "\n");
  write("small.yaml", vault("small"));
  DeclarationSet set = loadDeclarationDirectory(dir_.string());
  ASSERT_EQ(set.vaults.size(), 1u);
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_NE(set.errors[0].message.find("split it into several files"), std::string::npos);
}

TEST_F(DeclarationDirectory, FileInsteadOfDirectory) {
  write("a.yaml", vault("a"));
  DeclarationSet set = loadDeclarationDirectory((dir_ / "a.yaml").string());
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_NE(set.errors[0].message.find("is not a directory"), std::string::npos);
}

}  // namespace
}  // namespace revoca
