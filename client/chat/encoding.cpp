#include "client/chat/encoding.hpp"

#include <iconv.h>
#include <langinfo.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace chat::term {
namespace {

// The length of the valid UTF-8 sequence at s[i], or 0 (RFC 3629's table:
// the second byte's range depends on the first, which rules out overlong
// forms, surrogates and code points past U+10FFFF).
std::size_t sequence_length(std::string_view s, std::size_t i) {
  const auto at = [&s](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = at(i);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size() || at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if ((at(i + k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

bool same_charset(std::string_view a, const char* b) {
  if (a.size() != std::strlen(b)) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'a' && a[i] <= 'z') ? static_cast<char>(a[i] - 'a' + 'A') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

bool is_utf8_name(std::string_view charset) { return same_charset(charset, "UTF-8") || same_charset(charset, "UTF8"); }

std::string bad_byte(std::string_view bytes, std::size_t at, const std::string& charset) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "byte 0x%02X at offset %zu is not valid %s", static_cast<unsigned char>(bytes[at]),
                at, charset.c_str());
  return buf;
}

// iconv_open's failure value, (iconv_t)-1 by its contract.
iconv_t const kNoIconv = reinterpret_cast<iconv_t>(-1);  // NOLINT(performance-no-int-to-ptr,misc-misplaced-const)

// Closes an iconv descriptor on every return path.
struct Iconv {
  iconv_t cd;
  ~Iconv() {
    if (cd != kNoIconv) ::iconv_close(cd);
  }
};

// strerror, but safe from any thread.
std::string describe(int err) { return std::generic_category().message(err); }

}  // namespace

std::size_t invalid_utf8_at(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = sequence_length(s, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

#ifndef __STDC_ISO_10646__
#error "wchar_t must hold Unicode code points (glibc's does)"
#endif

std::wstring wide_from_utf8(std::string_view utf8, wchar_t replacement) {
  std::wstring out;
  out.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size();) {
    const std::size_t len = sequence_length(utf8, i);
    if (len == 0) {
      out.push_back(replacement);
      ++i;
      continue;
    }
    const auto b0 = static_cast<unsigned char>(utf8[i]);
    // The lead byte's payload bits, then six from each continuation byte.
    char32_t cp = len == 1 ? b0 : (b0 & (0x7Fu >> len));
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3Fu);
    out.push_back(static_cast<wchar_t>(cp));
    i += len;
  }
  return out;
}

std::string utf8_from_wide(std::wstring_view wide, char replacement) {
  std::string out;
  out.reserve(wide.size());
  for (const wchar_t wc : wide) {
    const auto cp = static_cast<char32_t>(wc);
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000 && (cp < 0xD800 || cp > 0xDFFF)) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp >= 0x10000 && cp <= 0x10FFFF) {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(replacement);
    }
  }
  return out;
}

std::string locale_charset() {
  const char* name = ::nl_langinfo(CODESET);  // NOLINT(concurrency-mt-unsafe): see the header
  const std::string_view charset = name ? name : "";
  if (charset.empty() || same_charset(charset, "ANSI_X3.4-1968") || same_charset(charset, "ASCII") ||
      same_charset(charset, "US-ASCII")) {
    return "UTF-8";
  }
  return std::string(charset);
}

namespace {

// Converts `bytes` with `cd` onto the end of `out`: all of them and a
// stateful charset's closing shift (0), or the errno that stopped it, with
// `at` the offset of the byte it stopped at.
int convert(iconv_t cd, std::string_view bytes, std::string& out, std::size_t& at) {
  std::size_t used = out.size();
  out.resize(used + bytes.size() * 2 + 16);
  // iconv's interface takes char* for its input, though it never writes it.
  char* in = const_cast<char*>(bytes.data());  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  std::size_t in_left = bytes.size();
  int err = 0;
  // The text, then (in == nullptr) the closing shift; on E2BIG, more room
  // and on from where it stopped.
  for (bool flushing = false;;) {
    char* dst = out.data() + used;
    std::size_t out_left = out.size() - used;
    const std::size_t r = flushing ? ::iconv(cd, nullptr, nullptr, &dst, &out_left)
                                   : ::iconv(cd, &in, &in_left, &dst, &out_left);
    err = r == static_cast<std::size_t>(-1) ? errno : 0;
    used = out.size() - out_left;
    if (err == E2BIG) {
      out.resize(out.size() * 2);
    } else if (err != 0 || flushing) {
      break;
    } else {
      flushing = true;
    }
  }
  out.resize(used);
  at = static_cast<std::size_t>(in - bytes.data());
  return err;
}

}  // namespace

Utf8Text to_utf8(std::string_view bytes, const std::string& charset) {
  if (is_utf8_name(charset)) {
    const std::size_t bad = invalid_utf8_at(bytes);
    if (bad != std::string_view::npos) return {"", bad_byte(bytes, bad, "UTF-8")};
    return {std::string(bytes), ""};
  }
  Iconv conv{::iconv_open("UTF-8", charset.c_str())};
  if (conv.cd == kNoIconv) {
    return {"", "cannot convert from the charset " + charset + " (" + describe(errno) + ")"};
  }
  std::string out;
  std::size_t at = 0;
  const int err = convert(conv.cd, bytes, out, at);
  if (err == EINVAL) return {"", "the line ends inside a character of " + charset};
  if (err == EILSEQ && at < bytes.size()) return {"", bad_byte(bytes, at, charset)};
  if (err != 0) return {"", "cannot convert from " + charset + " (" + describe(err) + ")"};
  // What goes out must be UTF-8 whatever iconv did.
  if (invalid_utf8_at(out) != std::string_view::npos) return {"", "the " + charset + " text did not convert to UTF-8"};
  return {std::move(out), ""};
}

std::string from_utf8(std::string_view utf8, const std::string& charset) {
  if (is_utf8_name(charset)) return std::string(utf8);
  // //TRANSLIT: the locale's approximations ("EUR" for the euro sign in
  // Latin-1) where it has them.
  Iconv conv{::iconv_open((charset + "//TRANSLIT").c_str(), "UTF-8")};
  if (conv.cd == kNoIconv) return std::string(utf8);
  std::string out;
  while (!utf8.empty()) {
    std::size_t at = 0;
    if (convert(conv.cd, utf8, out, at) == 0 || at >= utf8.size()) break;
    // A character the charset lacks, or a byte that is not UTF-8: '?', and on.
    out.push_back('?');
    const std::size_t len = sequence_length(utf8, at);
    utf8.remove_prefix(at + (len == 0 ? 1 : len));
    ::iconv(conv.cd, nullptr, nullptr, nullptr, nullptr);  // back to the initial state
  }
  return out;
}

}  // namespace chat::term
