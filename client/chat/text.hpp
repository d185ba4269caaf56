#pragma once
// Text as a terminal shows it and as the server limits it: screen columns
// (wcwidth), word wrap, splitting a long line at spaces to fit the body
// limit, whole-word nick highlights, and visible placeholders for bidi
// controls. Pure functions, no I/O. The width functions depend on the
// process's LC_CTYPE (set from the environment by the front ends).
// Thread safety: stateless; safe from any thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chat::term {

// The screen columns one character takes: wcwidth, with a character the
// locale cannot print counted as one column (the terminal shows something).
int char_columns(wchar_t wc);
// The screen columns of a string (the sum of char_columns).
int columns(std::wstring_view s);
// The longest prefix of `s` that fits in `cols` screen columns.
std::wstring fit_columns(std::wstring_view s, int cols);

// Word wrap: where each screen row of `s` starts (indices into s; the first
// is 0). The first row holds `cols` columns, the others `cols - indent`
// (they are shown indented). Rows break at a space, which is dropped at the
// break; a word longer than a row is cut where the row is full.
std::vector<std::size_t> wrap_rows(std::wstring_view s, int cols, int indent);

// A line too long for the server (over max_bytes of UTF-8) as several
// messages, each at most max_bytes: cut at the last space that fits (the
// space is dropped), or, in a word longer than that, at the last whole UTF-8
// character that fits. Text that fits comes back as it is.
std::vector<std::string> split_message(std::string_view text, std::size_t max_bytes);

// Whether `text` names `nick` as a whole word, ignoring ASCII case: "bob:",
// "@Bob" and "hi bob!" do, "bobcat" and "kabob" do not. A word is a run of
// the characters nicks are made of (A-Z a-z 0-9 _ -).
bool mentions(std::string_view text, std::string_view nick);

// Bidi controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) can
// reorder what the terminal shows after them (a "Trojan Source" line):
// each becomes a visible placeholder, "<U+202E>". Everything else is kept.
std::string show_bidi_controls(std::string_view utf8);
// The same for JSON text: each becomes the escape "\u202e", which a JSON
// reader turns back into the character. Only valid on JSON text, where such
// characters can only be inside strings.
std::string escape_bidi_controls_json(std::string_view json);
// Whether the code point is one of those.
bool is_bidi_control(char32_t cp);

// Room names in a comma-separated list ("#a,#b", "a, b"), empty entries
// dropped.
std::vector<std::string> split_rooms(std::string_view list);

}  // namespace chat::term
