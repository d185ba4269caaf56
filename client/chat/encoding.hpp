#pragma once
// Text between the user's charset and the wire's UTF-8. Protobuf refuses a
// string field that is not UTF-8, and the server answers such a frame with
// MALFORMED_FRAME and closes the connection; so what a user types (in the
// charset of their locale, LC_CTYPE) is converted here before anything is
// sent, and a line that cannot be converted is refused locally.
//
//   typed bytes ──to_utf8(bytes, locale_charset())──► UTF-8 ──► ChatCore
//                  (iconv; UTF-8 is only checked)      or an error line
//   plain lines ◄──from_utf8(line, locale_charset())── UTF-8 ◄── events
//
// Thread safety: stateless (each call opens its own iconv descriptor); safe
// from any thread, except locale_charset (see there).

#include <cstddef>
#include <string>
#include <string_view>

namespace chat::term {

// The offset of the first byte of the first sequence in `s` that is not
// UTF-8 as protobuf accepts it (a stray continuation byte, a sequence cut
// short, an overlong form, a surrogate, past U+10FFFF), or npos if it is all
// valid.
std::size_t invalid_utf8_at(std::string_view s);

// The charset the process's LC_CTYPE names (nl_langinfo(CODESET)):
// "UTF-8", "ISO-8859-1"... The C and POSIX locales cannot say (they name
// ASCII): then "UTF-8", what terminals and scripts send today, and checked.
// It reads the global locale: call it at start, where setlocale is called,
// before other threads run.
std::string locale_charset();

struct Utf8Text {
  std::string text;   // the UTF-8 form; empty on failure
  std::string error;  // empty when converted: else why not, naming the byte and its offset
  bool ok() const { return error.empty(); }
};

// `bytes` in `charset` (an iconv name) as UTF-8. Bytes that are not text in
// that charset, or a charset iconv does not know, are an error.
Utf8Text to_utf8(std::string_view bytes, const std::string& charset);

// UTF-8 as text in `charset`, for showing it (line mode's plain output):
// a character the charset lacks becomes the locale's approximation or '?'.
// Never fails; an unknown charset gets the UTF-8 as it is.
std::string from_utf8(std::string_view utf8, const std::string& charset);

// The full screen works in wide characters, which glibc makes Unicode code
// points in every locale (__STDC_ISO_10646__); ncurses turns them to and
// from the terminal's charset. These turn them to and from the UTF-8 that
// ChatCore and the wire hold, whatever the locale.
// UTF-8 as code points; each byte that starts no valid sequence becomes
// `replacement`.
std::wstring wide_from_utf8(std::string_view utf8, wchar_t replacement = L'\uFFFD');
// Code points as UTF-8; a value that is none (a surrogate, past U+10FFFF)
// becomes `replacement`.
std::string utf8_from_wide(std::wstring_view wide, char replacement = '?');

}  // namespace chat::term
