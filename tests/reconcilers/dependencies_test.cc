#include "reconcilers/dependencies.h"

#include <gtest/gtest.h>

#include "declarations/parse.h"

namespace revoca {
namespace {

DeclarationSet parsed(const std::string& yaml) {
  DeclarationSet set;
  parseDeclarations(yaml, "test.yaml", set);
  return set;
}

// What the cluster keeps of one object.
std::shared_ptr<const ObjectDeclaration> declared(const std::string& yaml) { return declarationFrom(parsed(yaml)); }

TEST(Dependencies, EachKindNamesWhatItsReconcileReads) {
  auto intermediate = declared(R"(
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: edge, namespace: mqtt}
spec: {issuingCa: root}
)");
  EXPECT_EQ(namedBy(*intermediate), (std::vector<ObjectRef>{{Kind::CertificateAuthority, {"mqtt", "root"}}}));
  ASSERT_NE(declarationOf<CertificateAuthority>(*intermediate), nullptr);
  EXPECT_EQ(declarationOf<Vault>(*intermediate), nullptr);

  auto secret = declared(R"(
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: server-cert, namespace: mqtt}
spec: {vault: mqtt-vault, autoCert: {issuingCa: edge, host: broker.example}}
)");
  EXPECT_EQ(namedBy(*secret), (std::vector<ObjectRef>{{Kind::CertificateAuthority, {"mqtt", "edge"}},
                                                     {Kind::Vault, {"mqtt", "mqtt-vault"}}}));

  auto emqx = declared(R"(
apiVersion: revoca.io/v1alpha1
kind: EmqxDeployment
metadata: {name: emqx, namespace: mqtt}
spec: {vault: mqtt-vault, secret: server-cert, listener: {name: default, bind: "0.0.0.0:8883"}}
)");
  EXPECT_EQ(namedBy(*emqx), (std::vector<ObjectRef>{{Kind::Vault, {"mqtt", "mqtt-vault"}},
                                                   {Kind::VaultSecret, {"mqtt", "server-cert"}}}));
  EXPECT_EQ(ObjectRef({Kind::VaultSecret, {"mqtt", "server-cert"}}).str(), "VaultSecret mqtt/server-cert");
}

TEST(Dependencies, ARootCaAndARefusedDeclarationNameNothing) {
  EXPECT_TRUE(namedBy(*declared(R"(
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: root, namespace: mqtt}
spec: {}
)")).empty());
  auto refused = declared(R"(
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: broken, namespace: mqtt}
spec: {vault: v, autoCert: {issuingCa: ca, host: h.example, ttl: 30 days}}
)");
  ASSERT_FALSE(refused->errors.empty());
  EXPECT_TRUE(namedBy(*refused).empty());
}

TEST(Dependencies, OneObjectsDeclarationKeepsTheObjectOrItsErrorsAlone) {
  auto secret = declarationFrom(parsed(R"(
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: server-cert, namespace: mqtt}
spec: {vault: mqtt-vault, autoCert: {issuingCa: edge, host: broker.example}}
)"));
  ASSERT_NE(declarationOf<VaultSecret>(*secret), nullptr);
  EXPECT_EQ(declarationOf<VaultSecret>(*secret)->spec.autoCert.host, "broker.example");
  EXPECT_EQ(declarationOf<Vault>(*secret), nullptr);
  EXPECT_EQ(namedBy(*secret), (std::vector<ObjectRef>{{Kind::CertificateAuthority, {"mqtt", "edge"}},
                                                      {Kind::Vault, {"mqtt", "mqtt-vault"}}}));

  auto refused = declarationFrom(parsed(R"(
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: broken, namespace: mqtt}
spec: {vault: v, autoCert: {issuingCa: ca, host: h.example, ttl: 30 days}}
)"));
  EXPECT_EQ(declarationOf<VaultSecret>(*refused), nullptr);
  ASSERT_EQ(refused->errors.size(), 1u);
  EXPECT_TRUE(namedBy(*refused).empty());

  DeclarationSet both;
  copyInto(*secret, both);
  copyInto(*refused, both);
  ASSERT_EQ(both.vaultSecrets.size(), 1u);
  EXPECT_EQ(both.vaultSecrets[0].meta.name, "server-cert");
  EXPECT_EQ(both.errors.size(), 1u);
}

}  // namespace
}  // namespace revoca
