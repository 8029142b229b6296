#include "responder/ocsp_get.h"

#include <gtest/gtest.h>

namespace revoca::responder {
namespace {

TEST(PercentDecodeTest, DecodesEscapesAndKeepsPlus) {
  EXPECT_EQ(percentDecode("a%2Fb%2bc+d"), "a/b+c+d");
  EXPECT_EQ(percentDecode("%3D%3d"), "==");
  EXPECT_EQ(percentDecode(""), "");
}

TEST(PercentDecodeTest, RejectsBrokenEscapes) {
  EXPECT_FALSE(percentDecode("abc%"));
  EXPECT_FALSE(percentDecode("abc%2"));
  EXPECT_FALSE(percentDecode("abc%zz"));
}

TEST(Base64DecodeTest, StandardAlphabetWithPadding) {
  EXPECT_EQ(base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64Decode("aGVsbA=="), "hell");
  EXPECT_EQ(base64Decode("aGVs"), "hel");
}

TEST(Base64DecodeTest, PaddingIsOptional) {
  EXPECT_EQ(base64Decode("aGVsbG8"), "hello");
  EXPECT_EQ(base64Decode("aGVsbA"), "hell");
}

TEST(Base64DecodeTest, UrlSafeAlphabetAndLineBreaks) {
  EXPECT_EQ(base64Decode("-_-_"), base64Decode("+/+/"));
  EXPECT_EQ(base64Decode("aGVs\r\nbG8="), "hello");
}

TEST(Base64DecodeTest, RejectsWhatIsNotBase64) {
  EXPECT_FALSE(base64Decode("a*bc"));
  EXPECT_FALSE(base64Decode("aGVsb"));      // a lone trailing character
  EXPECT_FALSE(base64Decode("aG==VsbG8"));  // data after padding
}

TEST(DecodeOcspGetRequestTest, PercentThenBase64) {
  const std::string expected{"\x30\x0b\xfb\xef\xbf\xfe\x3f\xff\x01\x02\x03\x04\x05", 13};
  EXPECT_EQ(decodeOcspGetRequest("MAv777%2F%2BP%2F8BAgMEBQ%3D%3D"), expected);
  EXPECT_EQ(decodeOcspGetRequest("MAv777/+P/8BAgMEBQ=="), expected);
  EXPECT_EQ(decodeOcspGetRequest("MAv777_-P_8BAgMEBQ"), expected);
  EXPECT_FALSE(decodeOcspGetRequest(""));
  EXPECT_FALSE(decodeOcspGetRequest("%%%"));
}

}  // namespace
}  // namespace revoca::responder
