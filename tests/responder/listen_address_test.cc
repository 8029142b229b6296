#include "responder/listen_address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace revoca::responder {
namespace {

using ::testing::StartsWith;

TEST(ParseListenAddressTest, Ipv4HostAndPort) {
  auto endpoint = parseListenAddress("0.0.0.0:4664");
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().message;
  EXPECT_TRUE(endpoint->address().is_v4());
  EXPECT_EQ(endpoint->port(), 4664);
}

TEST(ParseListenAddressTest, BracketedIpv6) {
  auto endpoint = parseListenAddress("[::1]:0");
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().message;
  EXPECT_TRUE(endpoint->address().is_v6());
  EXPECT_EQ(endpoint->port(), 0);
}

TEST(ParseListenAddressTest, EmptyHostMeansEveryInterface) {
  auto endpoint = parseListenAddress(":4664");
  ASSERT_TRUE(endpoint.ok());
  EXPECT_TRUE(endpoint->address().is_unspecified());
}

TEST(ParseListenAddressTest, ResolvesLocalhost) {
  auto endpoint = parseListenAddress("localhost:8080");
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().message;
  EXPECT_TRUE(endpoint->address().is_loopback());
}

TEST(ParseListenAddressTest, ClearErrors) {
  EXPECT_EQ(parseListenAddress("127.0.0.1").error().message,
            "listen 127.0.0.1: expected host:port");
  EXPECT_EQ(parseListenAddress("127.0.0.1:99999").error().message,
            "listen 127.0.0.1:99999: the port must be a number from 0 to 65535");
  EXPECT_EQ(parseListenAddress("127.0.0.1:http").error().message,
            "listen 127.0.0.1:http: the port must be a number from 0 to 65535");
  EXPECT_THAT(parseListenAddress("::1:80").error().message, StartsWith("listen ::1:80: write IPv6"));
  EXPECT_THAT(parseListenAddress("[::1]80").error().message, StartsWith("listen [::1]80: expected"));
  EXPECT_THAT(parseListenAddress("no.such.host.invalid:80").error().message,
              StartsWith("listen no.such.host.invalid:80: cannot resolve host"));
}

}  // namespace
}  // namespace revoca::responder
