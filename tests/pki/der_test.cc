#include "pki/der.h"

#include <gtest/gtest.h>

namespace revoca::pki {
namespace {

TEST(DerTest, LengthsUseShortAndLongForms) {
  EXPECT_EQ(der::tlv(der::kOctetString, "ab"), std::string("\x04\x02" "ab"));
  std::string l127 = der::tlv(der::kOctetString, std::string(127, 'x'));
  EXPECT_EQ(l127.substr(0, 2), std::string("\x04\x7F"));
  std::string l128 = der::tlv(der::kOctetString, std::string(128, 'x'));
  EXPECT_EQ(l128.substr(0, 3), std::string("\x04\x81\x80"));
  std::string l70000 = der::tlv(der::kSequence, std::string(70000, 'x'));
  EXPECT_EQ(l70000.substr(0, 5), std::string("\x30\x83\x01\x11\x70", 5));
  EXPECT_EQ(l70000.size(), 70005u);
}

TEST(DerTest, ReadWalksWhatTlvWrote) {
  std::string two =
      der::tlv(der::kInteger, "\x01") + der::tlv(der::kSequence, std::string(300, 'y'));
  auto first = der::read(two, 0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->tag, der::kInteger);
  EXPECT_EQ(first->end, 3u);
  auto second = der::read(two, first->end);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->tag, der::kSequence);
  EXPECT_EQ(second->contentStart, 7u);
  EXPECT_EQ(second->end, two.size());
  EXPECT_FALSE(der::read(two.substr(0, two.size() - 1), first->end)) << "content cut short";
  EXPECT_FALSE(der::read("\x30", 0));
  EXPECT_FALSE(der::read(std::string("\x30\x80", 2), 0)) << "indefinite length is not DER";
}

TEST(DerTest, ReadStrictTakesOnlyTheLengthsDerAllows) {
  std::string content(300, 'y');
  std::string minimal = der::tlv(der::kSequence, content);
  EXPECT_EQ(der::readStrict(minimal, 0)->end, minimal.size());
  std::string shortInLongForm = std::string("\x04\x81\x03", 3) + "abc";
  std::string leadingZero = std::string("\x30\x83\x00\x01\x2C", 5) + content;
  for (const std::string& loose : {shortInLongForm, leadingZero}) {
    EXPECT_TRUE(der::read(loose, 0)) << "BER: read takes it";
    EXPECT_FALSE(der::readStrict(loose, 0)) << "not DER";
  }
}

TEST(DerTest, IntegersAreMinimalAndPositive) {
  EXPECT_EQ(der::integerContent("0"), std::string(1, '\0'));
  EXPECT_EQ(der::integerContent("7F"), "\x7F");
  EXPECT_EQ(der::integerContent("80"), std::string("\x00\x80", 2));
  EXPECT_EQ(der::integerContent("ABC"), "\x0A\xBC");
  EXPECT_EQ(der::integerContent("1234"), "\x12\x34");
}

TEST(DerTest, TimesSwitchToGeneralizedTimeOutside1950To2049) {
  EXPECT_EQ(der::time(fromUnixSeconds(0)), std::string("\x17\x0D" "700101000000Z"));
  EXPECT_EQ(der::time(fromUnixSeconds(2524607999)), std::string("\x17\x0D" "491231235959Z"));
  EXPECT_EQ(der::time(fromUnixSeconds(2524608000)), std::string("\x18\x0F" "20500101000000Z"));
  EXPECT_EQ(der::time(fromUnixSeconds(-631152001)), std::string("\x18\x0F" "19491231235959Z"));
  EXPECT_EQ(der::generalizedTime(fromUnixSeconds(0)), std::string("\x18\x0F" "19700101000000Z"));
}

}  // namespace
}  // namespace revoca::pki
