#include "core/text.h"

#include <gtest/gtest.h>

#include <string>

namespace revoca {
namespace {

using namespace std::string_literals;

TEST(IsValidUtf8, AcceptsWellFormedText) {
  for (const std::string& text : {""s, "mqtt-ca"s, "Malmö"s, "東京"s, "\xF0\x9F\x94\x92"s /* U+1F512 */})
    EXPECT_TRUE(isValidUtf8(text)) << text;
}

TEST(IsValidUtf8, RefusesWhatRfc3629Forbids) {
  for (const std::string& text : {"\xC3"s /* cut short */, "\xC0\xAF"s /* overlong '/' */, "\xE0\x80\xAF"s,
                                  "\xED\xA0\x80"s /* surrogate */, "\xF4\x90\x80\x80"s /* above U+10FFFF */,
                                  "\xFF"s, "ab\x80"s})
    EXPECT_FALSE(isValidUtf8(text)) << safeText(text);
}

TEST(FindUnprintable, FindsControlCharactersAndBrokenBytes) {
  EXPECT_EQ(findUnprintable("Malmö AB"), std::string::npos);
  EXPECT_EQ(findUnprintable("a\nb"), 1u);
  EXPECT_EQ(findUnprintable("good.example\0.evil.example"s), 12u);
  EXPECT_EQ(findUnprintable("x\x7F"), 1u);
  EXPECT_EQ(findUnprintable("x\xC2\x85"), 1u);  // U+0085, a C1 "next line"
  EXPECT_EQ(findUnprintable("ok\xFF"), 2u);
}

TEST(SafeText, IsOneLineOfValidUtf8WhateverTheInput) {
  std::string hostile = "a\nb\r\0\xFF\xC3(Malmö)"s;
  std::string shown = safeText(hostile);
  EXPECT_EQ(shown, "a\\x0ab\\x0d\\x00\\xff\\xc3(Malmö)");
  EXPECT_TRUE(isValidUtf8(shown));
  EXPECT_EQ(findUnprintable(shown), std::string::npos);
}

TEST(SafeText, CutsLongTextOnACharacterBoundary) {
  std::string shown = safeText(std::string(100, 'a') + std::string(50, '\xFF'), 110);
  EXPECT_TRUE(isValidUtf8(shown));
  EXPECT_EQ(shown.substr(shown.size() - 3), "...");
  EXPECT_LE(shown.size(), 110u + 4 + 3);
  std::string umlauts;
  for (int i = 0; i < 100; ++i) umlauts += "ö";
  EXPECT_TRUE(isValidUtf8(safeText(umlauts, 81)));  // never half of a two-byte 'ö'
}

TEST(Quoted, WrapsSafeText) { EXPECT_EQ(quotedText("a\"\n"), "\"a\"\\x0a\""); }

}  // namespace
}  // namespace revoca
