#include "reconcilers/declaration_pass.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reconcilers/renewal.h"
#include "tests/reconcilers/fakes.h"
#include "testing/fake_clock.h"

namespace revoca {
namespace {

using ::testing::HasSubstr;
using testing::FakeClock;
using testing::FakeStateStore;
using testing::kDay;
using testing::nowSeconds;
using testing::RecordingOutputSink;
using testing::RecordingStatusSink;

template <typename Spec>
Object<Spec> object(const std::string& name, Spec spec, const std::string& namespace_ = "default") {
  Object<Spec> o;
  o.meta.namespace_ = namespace_;
  o.meta.name = name;
  o.meta.source = "decl/" + name + ".yaml (document 1)";
  o.spec = std::move(spec);
  return o;
}

CertificateAuthoritySpec caSpec(std::optional<std::string> parent = std::nullopt) {
  CertificateAuthoritySpec spec;
  spec.ttl = 365 * kDay;
  spec.issuingCa = parent;
  spec.ocspResponderUrls = {"http://api.internal:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}"};
  return spec;
}

VaultSecretSpec secretSpec(const std::string& vault, const std::string& ca = "mqtt-ca") {
  VaultSecretSpec spec;
  spec.vault = vault;
  spec.autoCert.issuingCa = ca;
  spec.autoCert.host = "mqtt.emqx.internal";
  return spec;
}

VaultSpec vaultSpec(std::vector<std::string> deployments) { return VaultSpec{std::move(deployments)}; }

class DeclarationPassTest : public ::testing::Test {
 protected:
  TimePoint run() {
    DeclarationPass pass(ReconcileContext{service, store, output, clock}, registry, statuses);
    return pass.run(declarations);
  }
  const ObjectStatus& status(Kind kind, const std::string& name) {
    const ObjectStatus* s = statuses.last(kind, "default", name);
    if (!s) throw std::runtime_error("no status for " + kindName(kind) + " " + name);
    return *s;
  }
  std::vector<std::string> publishedDeployments() {
    std::vector<std::string> out;
    for (const auto& s : output.secrets) out.push_back(s.deployment);
    return out;
  }

  FakeClock clock{nowSeconds()};
  FakeStateStore store;
  CaRegistry registry{clock};
  AuthorityService service{store, registry, clock};
  RecordingOutputSink output;
  RecordingStatusSink statuses;
  DeclarationSet declarations;
};

TEST_F(DeclarationPassTest, InvalidDeclarationBecomesInvalidSpecStatus) {
  declarations.errors.push_back({"decl/secret.yaml (document 2)", "VaultSecret", "prod/broken", "spec.autoCert.ttl",
                                 "\"30x\" is not a duration; write e.g. 30d"});
  declarations.errors.push_back({"decl/x.yaml", "", "", "kind", "unknown kind"});  // no object to report on
  declarations.errors.push_back({"decl/y.yaml", "Vault", "", "metadata", "required"});
  run();
  ASSERT_EQ(statuses.reports.size(), 1u);
  const auto& report = statuses.reports[0];
  EXPECT_EQ(report.kind, Kind::VaultSecret);
  EXPECT_EQ(report.meta.namespace_, "prod");
  EXPECT_EQ(report.meta.name, "broken");
  EXPECT_EQ(report.meta.source, "decl/secret.yaml (document 2)");
  EXPECT_FALSE(report.status.ready);
  EXPECT_EQ(report.status.reason, "InvalidSpec");
  EXPECT_EQ(report.status.message, "spec.autoCert.ttl: \"30x\" is not a duration; write e.g. 30d");
  EXPECT_TRUE(registry.ready());
}

TEST_F(DeclarationPassTest, WholeSetInDependencyOrder) {
  // Listed in the worst order: the pass still sorts dependencies out.
  EmqxDeploymentSpec emqx;
  emqx.vault = "mqtt-vault";
  emqx.secret = "server-cert";
  emqx.crl.enabled = true;
  emqx.ocspStapling.enabled = true;
  declarations.emqxDeployments.push_back(object("emqx", emqx));
  declarations.vaultSecrets.push_back(object("server-cert", secretSpec("mqtt-vault", "mqtt-int")));
  declarations.vaults.push_back(object("mqtt-vault", vaultSpec({"emqx"})));
  declarations.authorities.push_back(object("mqtt-int", caSpec("mqtt-ca")));
  declarations.authorities.push_back(object("mqtt-ca", caSpec()));
  TimePoint wakeup = run();

  EXPECT_TRUE(status(Kind::CertificateAuthority, "mqtt-ca").ready);
  EXPECT_TRUE(status(Kind::CertificateAuthority, "mqtt-int").ready)
      << status(Kind::CertificateAuthority, "mqtt-int").message;
  EXPECT_TRUE(status(Kind::Vault, "mqtt-vault").ready);
  EXPECT_TRUE(status(Kind::VaultSecret, "server-cert").ready) << status(Kind::VaultSecret, "server-cert").message;
  EXPECT_TRUE(status(Kind::EmqxDeployment, "emqx").ready) << status(Kind::EmqxDeployment, "emqx").message;
  EXPECT_EQ(publishedDeployments(), std::vector<std::string>{"emqx"});
  ASSERT_EQ(output.envs.size(), 1u);
  EXPECT_TRUE(registry.ready());
  EXPECT_LE(wakeup, clock.now() + Seconds(30));
  EXPECT_GT(wakeup, clock.now());

  // The tenant is registered under its UUID and its name.
  std::string uuid = store.tenants.at("default");
  EXPECT_EQ(std::get<CertificateAuthorityFacts>(status(Kind::CertificateAuthority, "mqtt-ca").facts).tenantUuid, uuid);
  EXPECT_TRUE(registry.crl(uuid, "mqtt-ca", "1").has_value());
  EXPECT_TRUE(registry.crl("default", "mqtt-ca", "1").has_value());

  // A second pass issues nothing new.
  int saved = store.saveSecretCalls;
  run();
  EXPECT_EQ(store.saveSecretCalls, saved);
  EXPECT_EQ(store.saveCaCalls, 2);
}

TEST_F(DeclarationPassTest, CaWithMissingOrCyclicParentIsIssuerNotReady) {
  declarations.authorities.push_back(object("orphan", caSpec("nobody")));
  declarations.authorities.push_back(object("a", caSpec("b")));
  declarations.authorities.push_back(object("b", caSpec("a")));
  run();
  for (const char* name : {"orphan", "a", "b"}) {
    EXPECT_FALSE(status(Kind::CertificateAuthority, name).ready) << name;
    EXPECT_EQ(status(Kind::CertificateAuthority, name).reason, "IssuerNotReady") << name;
    EXPECT_THAT(status(Kind::CertificateAuthority, name).message, HasSubstr("spec.issuingCa")) << name;
  }
  EXPECT_TRUE(store.cas.empty());
}

TEST_F(DeclarationPassTest, SecondSecretForTheSameDeploymentIsADeploymentConflict) {
  declarations.authorities.push_back(object("mqtt-ca", caSpec()));
  declarations.vaults.push_back(object("vault-a", vaultSpec({"emqx"})));
  declarations.vaults.push_back(object("vault-b", vaultSpec({"emqx"})));
  declarations.vaultSecrets.push_back(object("first", secretSpec("vault-a")));
  declarations.vaultSecrets.push_back(object("second", secretSpec("vault-b")));
  run();
  EXPECT_TRUE(status(Kind::VaultSecret, "first").ready);
  const ObjectStatus& conflict = status(Kind::VaultSecret, "second");
  EXPECT_FALSE(conflict.ready);
  EXPECT_EQ(conflict.reason, "DeploymentConflict");
  EXPECT_THAT(conflict.message, HasSubstr("emqx already receives VaultSecret first"));
  EXPECT_EQ(publishedDeployments(), std::vector<std::string>{"emqx"});
  EXPECT_EQ(store.secrets.count(ObjectKey{"default", "second"}), 0u);
  // Stable across passes: the first keeps its deployment.
  run();
  EXPECT_TRUE(status(Kind::VaultSecret, "first").ready);
  EXPECT_EQ(status(Kind::VaultSecret, "second").reason, "DeploymentConflict");
}

EmqxDeploymentSpec emqxSpec(const std::string& vault, const std::string& secret) {
  EmqxDeploymentSpec spec;
  spec.vault = vault;
  spec.secret = secret;
  return spec;
}

TEST_F(DeclarationPassTest, AnEmqxDeploymentIsReadyOnlyWithTheSecretItsDeploymentReceives) {
  // Two VaultSecrets of one Vault: the deployment receives the first only.
  declarations.authorities.push_back(object("mqtt-ca", caSpec()));
  declarations.vaults.push_back(object("mqtt-vault", vaultSpec({"emqx"})));
  declarations.vaultSecrets.push_back(object("first", secretSpec("mqtt-vault")));
  declarations.vaultSecrets.push_back(object("second", secretSpec("mqtt-vault")));
  declarations.emqxDeployments.push_back(object("emqx", emqxSpec("mqtt-vault", "second")));
  run();
  EXPECT_EQ(status(Kind::VaultSecret, "second").reason, "DeploymentConflict");
  const ObjectStatus& emqx = status(Kind::EmqxDeployment, "emqx");
  EXPECT_FALSE(emqx.ready);
  EXPECT_EQ(emqx.reason, "SecretNotDelivered");
  EXPECT_THAT(emqx.message, HasSubstr("spec.secret: VaultSecret second was not delivered to deployment emqx"));
  EXPECT_THAT(emqx.message, HasSubstr("DeploymentConflict"));
  EXPECT_THAT(emqx.message, HasSubstr("emqx already receives VaultSecret first"));
  EXPECT_TRUE(output.envs.empty());

  // Named after the secret it receives, it is Ready.
  declarations.emqxDeployments.back().spec.secret = "first";
  run();
  EXPECT_TRUE(status(Kind::EmqxDeployment, "emqx").ready) << status(Kind::EmqxDeployment, "emqx").message;
}

TEST_F(DeclarationPassTest, AnEmqxDeploymentWhoseSecretWasNotIssuedIsNotReady) {
  declarations.vaults.push_back(object("mqtt-vault", vaultSpec({"emqx"})));
  declarations.vaultSecrets.push_back(object("server-cert", secretSpec("mqtt-vault", "no-such-ca")));
  EmqxDeploymentSpec spec = emqxSpec("mqtt-vault", "server-cert");
  spec.ocspStapling.enabled = false;
  declarations.emqxDeployments.push_back(object("emqx", spec));
  run();
  EXPECT_EQ(status(Kind::VaultSecret, "server-cert").reason, "IssuerNotReady");
  EXPECT_EQ(status(Kind::EmqxDeployment, "emqx").reason, "SecretNotDelivered");
  EXPECT_THAT(status(Kind::EmqxDeployment, "emqx").message, HasSubstr("IssuerNotReady"));
}

TEST_F(DeclarationPassTest, SameDeploymentNameInOtherNamespacesIsNoConflict) {
  declarations.authorities.push_back(object("mqtt-ca", caSpec()));
  declarations.authorities.push_back(object("mqtt-ca", caSpec(), "prod"));
  declarations.vaults.push_back(object("vault", vaultSpec({"emqx"})));
  declarations.vaults.push_back(object("vault", vaultSpec({"emqx"}), "prod"));
  declarations.vaultSecrets.push_back(object("cert", secretSpec("vault")));
  declarations.vaultSecrets.push_back(object("cert", secretSpec("vault"), "prod"));
  run();
  EXPECT_TRUE(statuses.last(Kind::VaultSecret, "default", "cert")->ready);
  EXPECT_TRUE(statuses.last(Kind::VaultSecret, "prod", "cert")->ready);
  EXPECT_NE(store.tenants.at("default"), store.tenants.at("prod"));
}

TEST_F(DeclarationPassTest, RefusedSecretDoesNotClaimItsOtherDeployments) {
  // "middle" conflicts on emqx-a and is refused: it publishes nowhere, so
  // it must not keep "last" from emqx-b.
  declarations.authorities.push_back(object("mqtt-ca", caSpec()));
  declarations.vaults.push_back(object("vault-a", vaultSpec({"emqx-a"})));
  declarations.vaults.push_back(object("vault-ab", vaultSpec({"emqx-a", "emqx-b"})));
  declarations.vaults.push_back(object("vault-b", vaultSpec({"emqx-b"})));
  declarations.vaultSecrets.push_back(object("first", secretSpec("vault-a")));
  declarations.vaultSecrets.push_back(object("middle", secretSpec("vault-ab")));
  declarations.vaultSecrets.push_back(object("last", secretSpec("vault-b")));
  run();
  EXPECT_TRUE(status(Kind::VaultSecret, "first").ready);
  EXPECT_EQ(status(Kind::VaultSecret, "middle").reason, "DeploymentConflict");
  EXPECT_TRUE(status(Kind::VaultSecret, "last").ready) << status(Kind::VaultSecret, "last").message;
  EXPECT_EQ(publishedDeployments(), (std::vector<std::string>{"emqx-a", "emqx-b"}));
}

TEST_F(DeclarationPassTest, SecretInAMissingVaultIsReportedNotSkipped) {
  declarations.authorities.push_back(object("mqtt-ca", caSpec()));
  declarations.vaultSecrets.push_back(object("cert", secretSpec("nowhere")));
  run();
  EXPECT_EQ(status(Kind::VaultSecret, "cert").reason, "VaultNotFound");
}

TEST_F(DeclarationPassTest, WakesUpForTheEarliestRenewal) {
  CertificateAuthoritySpec shortCa = caSpec();
  shortCa.ttl = 30 * kDay + Seconds(10);
  shortCa.renewThreshold = 30 * kDay;
  declarations.authorities.push_back(object("mqtt-ca", shortCa));
  EXPECT_EQ(run(), clock.now() + Seconds(10));
}

TEST_F(DeclarationPassTest, IntermediateWaitingForItsParentDoesNotMakeTheNextPassImmediate) {
  CertificateAuthoritySpec root = caSpec();
  root.ttl = 100 * kDay;
  root.renewThreshold = 10 * kDay;
  CertificateAuthoritySpec intermediate = caSpec("mqtt-root");
  intermediate.ttl = 1000 * kDay;  // capped to the root's end
  intermediate.renewThreshold = 30 * kDay;
  declarations.authorities.push_back(object("mqtt-root", root));
  declarations.authorities.push_back(object("mqtt-int", intermediate));
  // A secret of the intermediate, cut short by it in turn.
  VaultSecretSpec secret = secretSpec("vault", "mqtt-int");
  secret.autoCert.ttl = 60 * kDay;
  secret.autoCert.refreshThreshold = 30 * kDay;
  declarations.vaults.push_back(object("vault", vaultSpec({"emqx"})));
  declarations.vaultSecrets.push_back(object("cert", secret));
  run();
  clock.advance(75 * kDay);  // inside the intermediate's window, before the root's
  TimePoint wakeup = run();
  EXPECT_GT(wakeup, clock.now());
  EXPECT_LE(wakeup, clock.now() + Seconds(30));
  EXPECT_EQ(store.cas.at(ObjectKey{"default", "mqtt-int"}).versions.size(), 1u);
  EXPECT_TRUE(status(Kind::VaultSecret, "cert").ready) << status(Kind::VaultSecret, "cert").message;
  const ObjectKey intKey{"default", "mqtt-int"};
  std::size_t issued = store.ledgers[intKey].size();
  clock.advance(Seconds(30));
  EXPECT_GT(run(), clock.now());
  EXPECT_EQ(store.ledgers[intKey].size(), issued);
}

}  // namespace
}  // namespace revoca
