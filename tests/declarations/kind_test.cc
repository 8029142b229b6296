#include "declarations/kind.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

namespace revoca {
namespace {

TEST(Kind, EveryKindIsFoundAgainByItsNameAndItsPlural) {
  std::set<std::string> names, plurals;
  for (Kind kind : kAllKinds) {
    EXPECT_EQ(kindNamed(kindName(kind)), kind) << kindName(kind);
    EXPECT_EQ(kindWithPlural(kindPlural(kind)), kind) << kindPlural(kind);
    names.insert(kindName(kind));
    plurals.insert(kindPlural(kind));
  }
  EXPECT_EQ(names.size(), kAllKinds.size());
  EXPECT_EQ(plurals.size(), kAllKinds.size());
}

TEST(Kind, NamesAreTheApisSpelling) {
  EXPECT_EQ(kindName(Kind::VaultSecret), "VaultSecret");
  EXPECT_EQ(kindPlural(Kind::VaultSecret), "vaultsecrets");
  EXPECT_EQ(kindName(Kind::CertificateRevocation), "CertificateRevocation");
  EXPECT_EQ(kindPlural(Kind::CertificateAuthority), "certificateauthorities");
}

TEST(Kind, AnExactNameOnly) {
  for (const char* text : {"vaultsecret", "VAULTSECRET", "VaultSecrets", "vs", " VaultSecret", "Secret", ""})
    EXPECT_EQ(kindNamed(text), std::nullopt) << text;
  EXPECT_EQ(kindWithPlural("VaultSecrets"), std::nullopt);
  EXPECT_EQ(kindWithPlural("vaultsecret"), std::nullopt);
}

TEST(Kind, APersonMayTypeTheShortNameSingularOrPluralInAnyCase) {
  EXPECT_EQ(kindCalled("vs"), Kind::VaultSecret);
  EXPECT_EQ(kindCalled("VS"), Kind::VaultSecret);
  EXPECT_EQ(kindCalled("vaultsecret"), Kind::VaultSecret);
  EXPECT_EQ(kindCalled("VaultSecret"), Kind::VaultSecret);
  EXPECT_EQ(kindCalled("vaultsecrets"), Kind::VaultSecret);
  EXPECT_EQ(kindCalled("ca"), Kind::CertificateAuthority);
  EXPECT_EQ(kindCalled("crev"), Kind::CertificateRevocation);
  EXPECT_EQ(kindCalled("emqx"), Kind::EmqxDeployment);
  EXPECT_EQ(kindCalled("vault"), Kind::Vault);
  EXPECT_EQ(kindCalled("vaults"), Kind::Vault);
}

TEST(Kind, AnythingElseIsNoKind) {
  for (const char* text : {"", "secret", "v", "vss", "certificate", "deployment", "vault secret"})
    EXPECT_EQ(kindCalled(text), std::nullopt) << text;
}

// The table and crds/*.yaml name the kinds alike: kind, plural, singular, short names.
TEST(Kind, TheNamesAreTheCrdsNames) {
  const std::filesystem::path crds = std::filesystem::path(REVOCA_SOURCE_DIR) / "crds";
  for (Kind kind : kAllKinds) {
    YAML::Node crd = YAML::LoadFile((crds / (kindPlural(kind) + ".yaml")).string());
    YAML::Node names = crd["spec"]["names"];
    EXPECT_EQ(names["kind"].as<std::string>(), kindName(kind));
    EXPECT_EQ(names["plural"].as<std::string>(), kindPlural(kind));
    EXPECT_EQ(kindCalled(names["singular"].as<std::string>()), kind) << kindName(kind);
    if (names["shortNames"]) {
      for (const YAML::Node& shortName : names["shortNames"])
        EXPECT_EQ(kindCalled(shortName.as<std::string>()), kind) << shortName.as<std::string>();
    }
  }
}

}  // namespace
}  // namespace revoca
