#include "declarations/values.h"

#include <gtest/gtest.h>

#include <vector>

namespace revoca::decl {
namespace {

using namespace std::string_literals;

TEST(CheckObjectName, AcceptsLabels) {
  for (const std::string& name : std::vector<std::string>{"mqtt-ca", "a", "ca2", std::string(63, 'a')})
    EXPECT_TRUE(checkObjectName(name).ok()) << name;
}

TEST(CheckObjectName, RejectsWithTheRule) {
  for (const std::string& name :
       std::vector<std::string>{"", "Mqtt-CA", "mqtt_ca", "-ca", "ca-", "mqtt.ca", std::string(64, 'a')}) {
    Result<void> checked = checkObjectName(name);
    ASSERT_FALSE(checked.ok()) << name;
    EXPECT_NE(checked.error().message.find("lowercase letters, digits and '-'"), std::string::npos);
  }
}

TEST(ParseTimestamp, Rfc3339) {
  EXPECT_EQ(toUnixSeconds(*parseTimestamp("1970-01-01T00:00:00Z")), 0);
  EXPECT_EQ(toUnixSeconds(*parseTimestamp("2026-01-02T03:04:05Z")), 1767323045);
  EXPECT_EQ(toUnixSeconds(*parseTimestamp("2026-01-02T05:04:05.250+02:00")), 1767323045);
  EXPECT_EQ(toUnixSeconds(*parseTimestamp("2026-01-01T22:04:05-05:00")), 1767323045);
  EXPECT_EQ(toUnixSeconds(*parseTimestamp("2024-02-29t00:00:00z")), 1709164800);
}

TEST(ParseTimestamp, RejectsWithAnExample) {
  for (const char* text : {"", "2026-01-02", "2026-01-02T03:04:05", "2026-02-30T00:00:00Z", "2026-01-02T24:00:00Z",
                           "2026-01-02 03:04:05Z", "2026-01-02T03:04:05Zjunk", "2026-01-02T03:04:05+0200"}) {
    Result<TimePoint> parsed = parseTimestamp(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message.find("2026-01-02T03:04:05Z"), std::string::npos);
  }
}

// Found by fuzz/declarations: year 7900 overflowed TimePoint's nanoseconds (UB).
TEST(ParseTimestamp, RejectsYearsTimePointCannotHold) {
  for (const char* text : {"7900-01-02T05:04:05+02:00", "2262-04-12T00:00:00Z", "9999-12-31T23:59:59Z",
                           "0000-01-01T00:00:00Z", "1677-01-01T00:00:00Z"}) {
    Result<TimePoint> parsed = parseTimestamp(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message.find("between 1678 and 2261"), std::string::npos) << text;
  }
  EXPECT_TRUE(parseTimestamp("2261-12-31T23:59:59Z").ok());
  EXPECT_TRUE(parseTimestamp("1678-01-01T00:00:00Z").ok());
}

TEST(ParseFileMode, OctalDigitsHoweverWritten) {
  EXPECT_EQ(*parseFileMode("0400"), 0400);
  EXPECT_EQ(*parseFileMode("400"), 0400);
  EXPECT_EQ(*parseFileMode("644"), 0644);
  EXPECT_EQ(*parseFileMode("0o640"), 0640);
  EXPECT_EQ(*parseFileMode("777"), 0777);
}

TEST(ParseFileMode, Rejects) {
  for (const char* text : {"", "abc", "0489", "1777", "04000", "-400"}) {
    Result<int> mode = parseFileMode(text);
    ASSERT_FALSE(mode.ok()) << text;
    EXPECT_NE(mode.error().message.find("like 0400"), std::string::npos);
  }
}

TEST(ParseFileOwnership, UidColonGid) {
  FileOwnership ownership = *parseFileOwnership("1000:1001");
  EXPECT_EQ(ownership.uid, 1000);
  EXPECT_EQ(ownership.gid, 1001);
  for (const char* text : {"1000", "emqx:emqx", "1000:", ":1000", "-1:0", "1:2:3"}) {
    Result<FileOwnership> parsed = parseFileOwnership(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message.find("\"1000:1000\""), std::string::npos);
  }
}

TEST(CheckBind, Forms) {
  for (const char* text : {"0.0.0.0:8883", "[::]:8883", "8883", "127.0.0.1:1", "[2001:db8::1]:8883"})
    EXPECT_TRUE(checkBind(text).ok()) << text;
  // EMQX binds to addresses: a name, or anything after the address, is no bind.
  for (const char* text : {"", ":8883", "0.0.0.0:", "0.0.0.0:70000", "::1:8883", "0.0.0.0:mqtt", "localhost:1",
                           "0.0.0.0\nEMQX_DASHBOARD__DEFAULT_PASSWORD=x:8883", "[::1:8883", "[zz]:8883"}) {
    Result<void> checked = checkBind(text);
    ASSERT_FALSE(checked.ok()) << text;
    EXPECT_NE(checked.error().message.find("0.0.0.0:8883"), std::string::npos);
  }
}

TEST(CheckListenerName, EnvironmentSafe) {
  EXPECT_TRUE(checkListenerName("default").ok());
  EXPECT_TRUE(checkListenerName("mqtts_2").ok());
  EXPECT_FALSE(checkListenerName("Default").ok());
  EXPECT_FALSE(checkListenerName("my-listener").ok());
  EXPECT_FALSE(checkListenerName("2nd").ok());
  EXPECT_FALSE(checkListenerName("").ok());
}

TEST(CheckHttpUrlTemplate, Accepts) {
  EXPECT_TRUE(checkHttpUrlTemplate("http://api.internal:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}").ok());
  EXPECT_TRUE(checkHttpUrlTemplate("http://10.0.0.1/ocsp").ok());
}

TEST(CheckHttpUrlTemplate, Rejects) {
  auto message = [](const std::string& text) { return checkHttpUrlTemplate(text).error().message; };
  EXPECT_NE(message("https://x/ocsp").find("must start with http://"), std::string::npos);
  EXPECT_NE(message("api.internal:4664/ocsp").find("must start with http://"), std::string::npos);
  EXPECT_NE(message("http:///ocsp").find("no host"), std::string::npos);
  EXPECT_NE(message("http://x/${SYS_NOPE}").find("unknown variable ${SYS_NOPE}"), std::string::npos);
  EXPECT_NE(message("http://x/\\${SYS_CA_NAME}").find("backslash"), std::string::npos);
  EXPECT_NE(message("http://x/a b").find("space"), std::string::npos);
}

TEST(CheckHttpUrlTemplate, RefusesWhatCouldEndAQuotedValue) {
  for (const char* text : {"http://x/\"", "http://x/<a>", "http://x/a`b", "http://x/{a}", "http://x/a|b",
                           "http://x/a^b", "http://x/#frag", "http://x/%zz", "http://x/%4"}) {
    Result<void> checked = checkHttpUrlTemplate(text);
    ASSERT_FALSE(checked.ok()) << text;
    EXPECT_TRUE(checked.error().message.find("RFC 3986") != std::string::npos ||
                checked.error().message.find("%25") != std::string::npos)
        << checked.error().message;
  }
  EXPECT_TRUE(checkHttpUrlTemplate("http://x/a%20b?c=d&e=f").ok());
}

TEST(CheckHttpUrlTemplate, NeedsAHostNameOrAddressAndAPort) {
  for (const char* text : {"http://:4664/ocsp", "http://user@x/ocsp", "http://x:/ocsp", "http://x:0/ocsp",
                           "http://x:99999/ocsp", "http://bad_host/ocsp", "http://a..b/ocsp", "http://[::1/ocsp",
                           "http://[nothex]/ocsp", "http://-x/ocsp"})
    EXPECT_FALSE(checkHttpUrlTemplate(text).ok()) << text;
  for (const char* text : {"http://[::1]:4664/ocsp", "http://[2001:db8::1]/ocsp", "http://127.0.0.1:4664",
                           "http://revoca.revoca-system.svc:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}"})
    EXPECT_TRUE(checkHttpUrlTemplate(text).ok()) << text;
}

TEST(CheckDeploymentName, IsAKubernetesSubdomainNeverAPath) {
  for (const char* name : {"emqx", "emqx-0", "emqx.edge-1", "a"}) EXPECT_TRUE(checkDeploymentName(name).ok()) << name;
  for (const std::string& name : std::vector<std::string>{"", ".", "..", "../x", "./x", "a/b", "x/..", "a..b", ".a",
                                                          "a.", "Emqx", "emqx_1", std::string("x\0y", 3),
                                                          std::string(254, 'a')}) {
    Result<void> checked = checkDeploymentName(name);
    ASSERT_FALSE(checked.ok()) << name;
    EXPECT_NE(checked.error().message.find("Deployment name"), std::string::npos);
  }
}

TEST(CheckHostName, AcceptsNamesAndAddresses) {
  for (const char* name : {"mqtt.example.com", "h", "MQTT.Example.com", "xn--mlm-dna.se", "10.0.0.1", "::1",
                           "2001:db8::1", "a-b.c"})
    EXPECT_TRUE(checkHostName(name, false).ok()) << name;
  EXPECT_TRUE(checkHostName("*.mqtt.example.com", true).ok());
}

TEST(CheckHostName, RefusesWhatIsNoHost) {
  for (const std::string& name : std::vector<std::string>{
           "", "has space.example", "*", "*.com", "a.*.example.com", "x*.example.com", "good.example\0.evil.example"s,
           "under_score.example", "trailing.dot.", ".lead", "a..b", "-a.example", "a-.example", "malmö.se",
           "1.2.3.999", std::string(64, 'a') + ".example", std::string(250, 'a') + ".example"}) {
    Result<void> checked = checkHostName(name, true);
    ASSERT_FALSE(checked.ok()) << name;
    EXPECT_NE(checked.error().message.find("write a DNS name"), std::string::npos) << checked.error().message;
  }
  Result<void> wildcard = checkHostName("*.mqtt.example.com", false);
  ASSERT_FALSE(wildcard.ok());
  EXPECT_NE(wildcard.error().message.find("only server certificates"), std::string::npos);
}

TEST(CheckContainerPath, AbsoluteAndPlain) {
  EXPECT_TRUE(checkContainerPath("/etc/emqx-certs").ok());
  EXPECT_TRUE(checkContainerPath("/opt/emqx/etc/certs_1.d").ok());
  for (const char* path : {"", "etc/certs", "/etc/certs\nEMQX_X=1", "/etc/../root", "/etc/./x", "/etc/\"x",
                           "/etc/a b", "/etc/$HOME"})
    EXPECT_FALSE(checkContainerPath(path).ok()) << path;
}

}  // namespace
}  // namespace revoca::decl
