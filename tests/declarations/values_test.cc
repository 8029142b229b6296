#include "declarations/values.h"

#include <gtest/gtest.h>

#include <vector>

namespace revoca::decl {
namespace {

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
  for (const char* text : {"0.0.0.0:8883", "[::]:8883", "8883", "localhost:1"})
    EXPECT_TRUE(checkBind(text).ok()) << text;
  for (const char* text : {"", ":8883", "0.0.0.0:", "0.0.0.0:70000", "::1:8883", "0.0.0.0:mqtt"}) {
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

}  // namespace
}  // namespace revoca::decl
