#include "declarations/types.h"

#include <gtest/gtest.h>

namespace revoca {
namespace {

TEST(DeclarationError, AllParts) {
  DeclarationError error{"d/ca.yaml (document 2)", "CertificateAuthority", "default/mqtt-ca", "spec.ttl", "bad"};
  EXPECT_EQ(error.str(), "d/ca.yaml (document 2): CertificateAuthority default/mqtt-ca: spec.ttl: bad");
}

TEST(DeclarationError, EmptyPartsLeftOut) {
  EXPECT_EQ((DeclarationError{"f.yaml (document 1)", "", "", "", "not valid YAML"}).str(),
            "f.yaml (document 1): not valid YAML");
  EXPECT_EQ((DeclarationError{"f.yaml (document 1)", "", "default/x", "kind", "unknown"}).str(),
            "f.yaml (document 1): default/x: kind: unknown");
  EXPECT_EQ((DeclarationError{"f.yaml (document 1)", "Vault", "", "metadata.name", "required"}).str(),
            "f.yaml (document 1): Vault: metadata.name: required");
}

}  // namespace
}  // namespace revoca
