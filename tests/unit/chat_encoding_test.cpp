// The terminal client's input conversion: typed bytes in the locale's
// charset to the UTF-8 the wire takes, and the check that nothing else goes
// out. Charsets are named explicitly (iconv's own tables, no locale needed).
#include "client/chat/encoding.hpp"

#include <gtest/gtest.h>

#include <clocale>
#include <string>

namespace chat::term {
namespace {

constexpr auto npos = std::string_view::npos;

TEST(ChatEncodingTest, ValidUtf8IsAcceptedWhole) {
  EXPECT_EQ(invalid_utf8_at(""), npos);
  EXPECT_EQ(invalid_utf8_at("plain ascii"), npos);
  EXPECT_EQ(invalid_utf8_at("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), npos);  // é € 😀
  EXPECT_EQ(invalid_utf8_at("\xED\x9F\xBF \xEE\x80\x80 \xF4\x8F\xBF\xBF"), npos);     // U+D7FF U+E000 U+10FFFF
  EXPECT_EQ(invalid_utf8_at(std::string_view("a\0b", 3)), npos);
}

TEST(ChatEncodingTest, InvalidUtf8IsFoundAtItsFirstByte) {
  EXPECT_EQ(invalid_utf8_at("caf\xE9 au lait"), 3u);      // Latin-1 é
  EXPECT_EQ(invalid_utf8_at("ok \x80"), 3u);              // a stray continuation byte
  EXPECT_EQ(invalid_utf8_at("cut \xE2\x82"), 4u);         // a sequence cut short
  EXPECT_EQ(invalid_utf8_at("\xC0\xAF"), 0u);             // overlong '/'
  EXPECT_EQ(invalid_utf8_at("\xE0\x80\xAF"), 0u);         // overlong, three bytes
  EXPECT_EQ(invalid_utf8_at("\xF0\x80\x80\xAF"), 0u);     // overlong, four bytes
  EXPECT_EQ(invalid_utf8_at("x\xED\xA0\x80"), 1u);        // a surrogate, U+D800
  EXPECT_EQ(invalid_utf8_at("\xF4\x90\x80\x80"), 0u);     // past U+10FFFF
  EXPECT_EQ(invalid_utf8_at("\xF5\x80\x80\x80"), 0u);     // no such lead byte
  EXPECT_EQ(invalid_utf8_at("\xC3\xA9\xFF"), 2u);         // after a valid é
}

TEST(ChatEncodingTest, Utf8InputIsCheckedNotChanged) {
  const auto ok = to_utf8("caf\xC3\xA9", "UTF-8");
  ASSERT_TRUE(ok.ok()) << ok.error;
  EXPECT_EQ(ok.text, "caf\xC3\xA9");
  const auto bad = to_utf8("caf\xE9 au lait", "utf8");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.text, "");
  EXPECT_EQ(bad.error, "byte 0xE9 at offset 3 is not valid UTF-8");
}

TEST(ChatEncodingTest, Latin1InputIsConvertedToUtf8) {
  const auto r = to_utf8("caf\xE9 cr\xE8me br\xFBl\xE9""e", "ISO-8859-1");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.text, "caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9""e");
  // Every Latin-1 byte is a character: each becomes the code point of its value.
  std::string all;
  for (int b = 1; b < 256; ++b) all.push_back(static_cast<char>(b));
  const auto every = to_utf8(all, "ISO-8859-1");
  ASSERT_TRUE(every.ok()) << every.error;
  EXPECT_EQ(invalid_utf8_at(every.text), npos);
  EXPECT_EQ(every.text.size(), 127u + 2u * 128u);
  // ISO-8859-15 has the euro sign where Latin-1 has the currency sign.
  EXPECT_EQ(to_utf8("5\xA4", "ISO-8859-15").text, "5\xE2\x82\xAC");
}

TEST(ChatEncodingTest, BytesThatAreNotTextInTheCharsetAreRefused) {
  // ASCII has no byte 0xE9; Shift JIS 0x82 starts a two-byte character.
  const auto ascii = to_utf8("caf\xE9", "ASCII");
  EXPECT_FALSE(ascii.ok());
  EXPECT_EQ(ascii.error, "byte 0xE9 at offset 3 is not valid ASCII");
  const auto cut = to_utf8("ab\x82", "SHIFT_JIS");
  EXPECT_FALSE(cut.ok());
  EXPECT_NE(cut.error.find("ends inside a character"), std::string::npos) << cut.error;
  const auto shift_jis = to_utf8("\x82\xA0", "SHIFT_JIS");  // あ
  ASSERT_TRUE(shift_jis.ok()) << shift_jis.error;
  EXPECT_EQ(shift_jis.text, "\xE3\x81\x82");
  const auto unknown = to_utf8("x", "NO-SUCH-CHARSET");
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error.find("NO-SUCH-CHARSET"), std::string::npos) << unknown.error;
}

TEST(ChatEncodingTest, LongInputIsConvertedWhole) {
  // More output than the first guess at its size: the buffer grows.
  const std::string euros(10000, '\xA4');
  const auto r = to_utf8(euros, "ISO-8859-15");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.text.size(), 30000u);
  EXPECT_EQ(invalid_utf8_at(r.text), npos);
  EXPECT_EQ(r.text.substr(29997), "\xE2\x82\xAC");
}

TEST(ChatEncodingTest, Utf8IsShownInTheLocalesCharsetWithPlaceholdersForWhatItLacks) {
  EXPECT_EQ(from_utf8("caf\xC3\xA9", "UTF-8"), "caf\xC3\xA9");
  EXPECT_EQ(from_utf8("caf\xC3\xA9 cr\xC3\xA8me", "ISO-8859-1"), "caf\xE9 cr\xE8me");
  // Latin-1 has no euro sign and no CJK: an approximation or '?', never a
  // dropped line. A byte that is not UTF-8 is a '?' too.
  const std::string shown = from_utf8("5 \xE2\x82\xAC \xE4\xB8\xAD x\xFF" "y", "ISO-8859-1");
  EXPECT_EQ(shown.rfind("5 ", 0), 0u) << shown;
  EXPECT_EQ(shown.find('\xE2'), std::string::npos) << shown;
  EXPECT_NE(shown.find(" ? x?y"), std::string::npos) << shown;
  EXPECT_EQ(from_utf8("as is", "NO-SUCH-CHARSET"), "as is");
}

TEST(ChatEncodingTest, WideCharactersAreCodePointsToAndFromUtf8WhateverTheLocale) {
  const std::string saved = std::setlocale(LC_CTYPE, nullptr);
  ASSERT_NE(std::setlocale(LC_CTYPE, "C"), nullptr);  // no multibyte locale: none is used
  const std::string utf8 = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
  const std::wstring wide = {L'c', L'a', L'f', 0xE9, L' ', 0x20AC, L' ', 0x1F600};
  EXPECT_EQ(wide_from_utf8(utf8), wide);
  EXPECT_EQ(utf8_from_wide(wide), utf8);
  // Bytes that are not UTF-8: one replacement each, the rest kept.
  EXPECT_EQ(wide_from_utf8("a\xE9" "b\xE2\x82", L'?'), L"a?b??");
  EXPECT_EQ(wide_from_utf8("\xED\xA0\x80").size(), 3u);  // a surrogate is three bad bytes
  // Values that are no code point become the replacement, never bad UTF-8.
  const std::wstring bad = {L'x', static_cast<wchar_t>(0xD800), static_cast<wchar_t>(0x110000), L'y'};
  EXPECT_EQ(utf8_from_wide(bad), "x??y");
  std::wstring every;
  for (wchar_t wc = 1; wc < 0x11000; ++wc) every.push_back(wc);
  const std::string all = utf8_from_wide(every);
  EXPECT_EQ(invalid_utf8_at(all), npos);
  std::setlocale(LC_CTYPE, saved.c_str());
}

TEST(ChatEncodingTest, TheLocalesCharsetIsUtf8WhereTheLocaleCannotSay) {
  const std::string saved = std::setlocale(LC_CTYPE, nullptr);
  ASSERT_NE(std::setlocale(LC_CTYPE, "C"), nullptr);
  EXPECT_EQ(locale_charset(), "UTF-8");  // C names ASCII: it cannot say
  if (std::setlocale(LC_CTYPE, "C.UTF-8")) {
    EXPECT_EQ(locale_charset(), "UTF-8");
  }
  std::setlocale(LC_CTYPE, saved.c_str());
}

}  // namespace
}  // namespace chat::term
