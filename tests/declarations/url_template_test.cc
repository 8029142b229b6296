#include "declarations/url_template.h"

#include <gtest/gtest.h>

namespace revoca {
namespace {

const UrlTemplateValues kValues{"acme", "5a3e0000-0000-0000-0000-00000000ab12", "mqtt-ca", 3};

TEST(RenderUrlTemplate, SeedCrlUrl) {
  auto url = renderUrlTemplate("http://api.internal:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}",
                               kValues);
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(*url, "http://api.internal:4664/crl-pem/acme/mqtt-ca/3");
}

TEST(RenderUrlTemplate, SeedOcspUrl) {
  auto url = renderUrlTemplate("http://api.internal:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}", kValues);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url, "http://api.internal:4664/ocsp/5a3e0000-0000-0000-0000-00000000ab12/mqtt-ca");
}

TEST(RenderUrlTemplate, TextWithoutVariablesAndLoneDollars) {
  EXPECT_EQ(*renderUrlTemplate("http://x/a$b/$", kValues), "http://x/a$b/$");
  EXPECT_EQ(*renderUrlTemplate("", kValues), "");
  EXPECT_EQ(*renderUrlTemplate("${SYS_CA_NAME}${SYS_CA_NAME}", kValues), "mqtt-camqtt-ca");
}

TEST(RenderUrlTemplate, UnknownVariableIsNamed) {
  auto url = renderUrlTemplate("http://x/${SYS_FOO}/", kValues);
  ASSERT_FALSE(url.ok());
  EXPECT_NE(url.error().message.find("unknown variable ${SYS_FOO}"), std::string::npos);
  EXPECT_NE(url.error().message.find("${SYS_TENANT_UUID}"), std::string::npos) << "lists the known ones";
}

TEST(RenderUrlTemplate, UnterminatedVariable) {
  auto url = renderUrlTemplate("http://x/${SYS_CA_NAME", kValues);
  ASSERT_FALSE(url.ok());
  EXPECT_NE(url.error().message.find("unterminated"), std::string::npos);
  EXPECT_NE(url.error().message.find("close"), std::string::npos);
}

}  // namespace
}  // namespace revoca
