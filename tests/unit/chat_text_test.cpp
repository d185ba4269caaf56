// The terminal client's text pieces: screen columns, word wrap, splitting
// a line at the server's body limit, whole-word highlights, bidi
// placeholders and comma-separated room lists.
#include "client/chat/text.hpp"

#include <gtest/gtest.h>

#include <clocale>
#include <numeric>

namespace chat::term {
namespace {

// Widths need a UTF-8 locale (the client takes the user's); C.UTF-8 is
// built into glibc.
class ChatTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = std::setlocale(LC_CTYPE, nullptr);
    saved_ = old ? old : "C";
    if (!std::setlocale(LC_CTYPE, "C.UTF-8")) GTEST_SKIP() << "no C.UTF-8 locale";
  }
  void TearDown() override { std::setlocale(LC_CTYPE, saved_.c_str()); }

  // The rows wrap_rows gives, as strings (without the indent).
  static std::vector<std::wstring> rows(std::wstring_view s, int cols, int indent) {
    const auto starts = wrap_rows(s, cols, indent);
    std::vector<std::wstring> out;
    for (std::size_t i = 0; i < starts.size(); ++i) {
      const std::size_t end = i + 1 < starts.size() ? starts[i + 1] : s.size();
      std::wstring row(s.substr(starts[i], end - starts[i]));
      while (i + 1 < starts.size() && !row.empty() && row.back() == L' ') row.pop_back();
      out.push_back(row);
    }
    return out;
  }

 private:
  std::string saved_;
};

TEST_F(ChatTextTest, ColumnsCountWideCharactersTwice) {
  EXPECT_EQ(columns(L"abc"), 3);
  EXPECT_EQ(columns(L"\u4F60\u597D"), 4);  // 你好: two CJK characters, four columns
  EXPECT_EQ(columns(L"e\u0301"), 1);       // e and a combining accent: one column
  EXPECT_EQ(char_columns(L'\u4F60'), 2);
}

TEST_F(ChatTextTest, FitColumnsCutsAtTheScreenWidthNotTheCharacterCount) {
  EXPECT_EQ(fit_columns(L"hello", 3), L"hel");
  EXPECT_EQ(fit_columns(L"hi", 10), L"hi");
  // Five CJK characters are ten columns: five columns hold two of them, not
  // half of a third.
  EXPECT_EQ(fit_columns(L"\u4F60\u597D\u4E16\u754C\u554A", 5), L"\u4F60\u597D");
  EXPECT_EQ(columns(fit_columns(L"\u4F60\u597D\u4E16\u754C\u554A", 5)), 4);
}

TEST_F(ChatTextTest, WordWrapBreaksAtSpacesNotInsideWords) {
  EXPECT_EQ(rows(L"short", 20, 0), (std::vector<std::wstring>{L"short"}));
  EXPECT_EQ(rows(L"the quick brown fox jumps", 10, 0),
            (std::vector<std::wstring>{L"the quick", L"brown fox", L"jumps"}));
  // Continuation rows are indented: they hold cols - indent.
  EXPECT_EQ(rows(L"<b> one two three four", 12, 4),
            (std::vector<std::wstring>{L"<b> one two", L"three", L"four"}));
  // A word longer than a row is cut where the row is full.
  EXPECT_EQ(rows(L"abcdefghijkl", 5, 0), (std::vector<std::wstring>{L"abcde", L"fghij", L"kl"}));
  // Wide characters count two columns each.
  EXPECT_EQ(rows(L"\u4F60\u597D\u4E16\u754C", 5, 0), (std::vector<std::wstring>{L"\u4F60\u597D", L"\u4E16\u754C"}));
  // No row is wider than the screen.
  const std::wstring text = L"12:00:00 <bob> lorem ipsum dolor sit amet, consectetur adipiscing elit";
  for (int cols = 10; cols < 40; ++cols) {
    const auto r = rows(text, cols, 5);
    for (std::size_t i = 0; i < r.size(); ++i) EXPECT_LE(columns(r[i]) + (i ? 5 : 0), cols) << cols;
  }
}

TEST_F(ChatTextTest, SplitMessageCutsAtSpacesWithinTheLimit) {
  EXPECT_EQ(split_message("fits", 10), (std::vector<std::string>{"fits"}));
  EXPECT_EQ(split_message("one two three four", 9), (std::vector<std::string>{"one two", "three", "four"}));
  // Every piece fits, and the words are all there, in order.
  std::string text;
  for (int i = 0; i < 200; ++i) text += "word" + std::to_string(i) + " ";
  text.pop_back();
  const auto pieces = split_message(text, 100);
  ASSERT_GT(pieces.size(), 1u);
  std::string joined;
  for (const auto& p : pieces) {
    EXPECT_LE(p.size(), 100u);
    EXPECT_FALSE(p.empty());
    EXPECT_NE(p.front(), ' ');
    EXPECT_NE(p.back(), ' ');
    joined += (joined.empty() ? "" : " ") + p;
  }
  EXPECT_EQ(joined, text);
}

TEST_F(ChatTextTest, SplitMessageNeverCutsAUtf8Character) {
  // A 30-byte word of 3-byte characters cut at 10 bytes: 9, 9, 9, 3.
  std::string word;
  for (int i = 0; i < 10; ++i) word += "\u4F60";
  const auto pieces = split_message(word, 10);
  ASSERT_EQ(pieces.size(), 4u);
  std::string joined;
  for (const auto& p : pieces) {
    EXPECT_EQ(p.size() % 3, 0u);
    joined += p;
  }
  EXPECT_EQ(joined, word);
}

TEST_F(ChatTextTest, MentionsAreWholeWordsIgnoringCase) {
  EXPECT_TRUE(mentions("bob: look", "bob"));
  EXPECT_TRUE(mentions("alicia: hi", "Alicia"));
  EXPECT_TRUE(mentions("hi ALICIA!", "Alicia"));
  EXPECT_TRUE(mentions("@bob, see this", "bob"));
  EXPECT_TRUE(mentions("bob", "bob"));
  EXPECT_TRUE(mentions("thanks bob's script", "bob"));
  EXPECT_FALSE(mentions("a bobcat ran by", "bob"));
  EXPECT_FALSE(mentions("kabob", "bob"));
  EXPECT_FALSE(mentions("bob_2 is here", "bob"));  // another nick
  EXPECT_FALSE(mentions("bob-x is here", "bob"));
  EXPECT_FALSE(mentions("", "bob"));
  EXPECT_FALSE(mentions("anything", ""));
}

TEST_F(ChatTextTest, BidiControlsBecomeVisiblePlaceholders) {
  EXPECT_EQ(show_bidi_controls("abc\u202Edef"), "abc<U+202E>def");
  EXPECT_EQ(show_bidi_controls("\u2066x\u2069"), "<U+2066>x<U+2069>");
  EXPECT_EQ(show_bidi_controls("\u200E\u200F\u061C"), "<U+200E><U+200F><U+061C>");
  for (char32_t cp : {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C}) {
    EXPECT_TRUE(is_bidi_control(cp)) << std::hex << static_cast<unsigned>(cp);
  }
  // Other text, wide, accented or not UTF-8 at all, is left alone.
  for (const char* kept : {"plain", "\u4F60\u597D", "caf\u00E9", "\u200B zero width space", "\xff\xfe bytes"}) {
    EXPECT_EQ(show_bidi_controls(kept), kept);
  }
  EXPECT_EQ(escape_bidi_controls_json(R"({"text":"a)" "\u202E" R"(b"})"), R"({"text":"a\u202eb"})");
}

TEST_F(ChatTextTest, RoomListsSplitAtCommas) {
  EXPECT_EQ(split_rooms("#a,#b"), (std::vector<std::string>{"#a", "#b"}));
  EXPECT_EQ(split_rooms("a, b ,,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(split_rooms("#solo"), (std::vector<std::string>{"#solo"}));
  EXPECT_TRUE(split_rooms(",").empty());
}

}  // namespace
}  // namespace chat::term
