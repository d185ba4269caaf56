#include "client/chat/text.hpp"

#include <wchar.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace chat::term {
namespace {

bool is_nick_char(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return std::isalnum(c) != 0 || c == '_' || c == '-';
}

char fold(char ch) { return static_cast<char>(std::tolower(static_cast<unsigned char>(ch))); }

bool is_space(char ch) { return ch == ' ' || ch == '\t'; }

}  // namespace

int char_columns(wchar_t wc) {
  if (wc == 0) return 0;
  const int w = ::wcwidth(wc);
  return w < 0 ? 1 : w;
}

int columns(std::wstring_view s) {
  int n = 0;
  for (wchar_t wc : s) n += char_columns(wc);
  return n;
}

std::wstring fit_columns(std::wstring_view s, int cols) {
  std::wstring out;
  int used = 0;
  for (wchar_t wc : s) {
    const int w = char_columns(wc);
    if (used + w > cols) break;
    out.push_back(wc);
    used += w;
  }
  return out;
}

std::vector<std::size_t> wrap_rows(std::wstring_view s, int cols, int indent) {
  std::vector<std::size_t> starts{0};
  cols = std::max(1, cols);
  indent = std::clamp(indent, 0, cols - 1);
  int avail = cols;
  int used = 0;
  std::size_t row_start = 0;
  std::size_t last_space = std::wstring_view::npos;  // a space in this row, after the prefix
  for (std::size_t i = 0; i < s.size(); ++i) {
    const int w = char_columns(s[i]);
    if (used + w > avail && i > row_start) {
      std::size_t next = i;
      if (s[i] == L' ') {
        next = i + 1;  // the space that overflows ends the row and goes
      } else if (last_space != std::wstring_view::npos) {
        next = last_space + 1;
      }
      starts.push_back(next);
      row_start = next;
      avail = cols - indent;
      last_space = std::wstring_view::npos;
      used = 0;
      for (std::size_t j = next; j < i; ++j) used += char_columns(s[j]);
      if (next > i) continue;
    }
    // Spaces inside the prefix (time, nick) are not where a message breaks.
    if (s[i] == L' ' && i >= static_cast<std::size_t>(indent)) last_space = i;
    used += w;
  }
  return starts;
}

std::vector<std::string> split_message(std::string_view text, std::size_t max_bytes) {
  if (max_bytes == 0 || text.size() <= max_bytes) return {std::string(text)};
  std::vector<std::string> out;
  auto push = [&out](std::string_view piece) {
    while (!piece.empty() && is_space(piece.back())) piece.remove_suffix(1);
    if (!piece.empty()) out.emplace_back(piece);
  };
  std::string_view rest = text;
  while (rest.size() > max_bytes) {
    // A space at index i leaves a piece of i bytes: any i <= max_bytes fits.
    std::size_t cut = rest.find_last_of(" \t", max_bytes);
    if (cut != std::string_view::npos && cut > 0) {
      push(rest.substr(0, cut));
      rest.remove_prefix(cut + 1);
    } else {
      // One word longer than a message: cut before the UTF-8 character
      // that would not fit whole.
      cut = max_bytes;
      while (cut > 0 && (static_cast<unsigned char>(rest[cut]) & 0xC0) == 0x80) --cut;
      if (cut == 0) cut = max_bytes;  // not UTF-8 at all: bytes it is
      push(rest.substr(0, cut));
      rest.remove_prefix(cut);
    }
    while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  }
  push(rest);
  return out;
}

bool mentions(std::string_view text, std::string_view nick) {
  if (nick.empty() || text.size() < nick.size()) return false;
  for (std::size_t i = 0; i + nick.size() <= text.size(); ++i) {
    if (i > 0 && is_nick_char(text[i - 1])) continue;
    std::size_t k = 0;
    while (k < nick.size() && fold(text[i + k]) == fold(nick[k])) ++k;
    if (k != nick.size()) continue;
    const std::size_t end = i + nick.size();
    if (end < text.size() && is_nick_char(text[end])) continue;
    return true;
  }
  return false;
}

bool is_bidi_control(char32_t cp) {
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F ||
         cp == 0x061C;
}

namespace {

// Each bidi control in `s` replaced by printf(format, code point).
std::string replace_bidi_controls(std::string_view s, const char* format) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    char32_t cp = 0;
    std::size_t len = 0;
    // Only the two- and three-byte forms matter: every bidi control is one.
    if ((b0 & 0xE0) == 0xC0 && i + 1 < s.size()) {
      cp = (static_cast<char32_t>(b0 & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
      len = 2;
    } else if ((b0 & 0xF0) == 0xE0 && i + 2 < s.size()) {
      cp = (static_cast<char32_t>(b0 & 0x0F) << 12) |
           (static_cast<char32_t>(static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
           (static_cast<unsigned char>(s[i + 2]) & 0x3F);
      len = 3;
    }
    bool continuation = len > 0;
    for (std::size_t k = 1; k < len; ++k) {
      continuation = continuation && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (continuation && is_bidi_control(cp)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, format, static_cast<unsigned>(cp));
      out += buf;
      i += len;
    } else {
      out.push_back(s[i]);
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string show_bidi_controls(std::string_view utf8) { return replace_bidi_controls(utf8, "<U+%04X>"); }

std::string escape_bidi_controls_json(std::string_view json) { return replace_bidi_controls(json, "\\u%04x"); }

std::vector<std::string> split_rooms(std::string_view list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(start, comma - start);
    while (!item.empty() && is_space(item.front())) item.remove_prefix(1);
    while (!item.empty() && is_space(item.back())) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

}  // namespace chat::term
