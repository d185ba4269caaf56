#pragma once
// The text of every benchmark message: a fixed-size ASCII header that says
// who sent it, which of its messages it is and when it left, then padding up
// to --size bytes. Plain ASCII, so it is valid UTF-8 (a protobuf string) and
// survives any client that prints it.
//
//   byte: 0        8 9               25 26              42 43        size
//         +--------+-+----------------+-+----------------+-+----------+
//         | pub id |:| counter        |:| send time ns   |:| padding  |
//         | 8 hex  | | 16 hex         | | 16 hex         | | 'x' ...  |
//         +--------+-+----------------+-+----------------+-+----------+
//
// pub id: the publisher's index in the run; counter: 0, 1, 2, ... per
// publisher; send time: steady_clock (CLOCK_MONOTONIC) nanoseconds, which every
// process on the machine shares, so a receiver can take latency as now - send.
// Thread safety: pure functions.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chat::bench {

inline constexpr std::size_t kHeaderBytes = 8 + 1 + 16 + 1 + 16 + 1;

struct Header {
  std::uint32_t pub_id = 0;
  std::uint64_t counter = 0;
  std::int64_t send_ns = 0;
};

namespace detail {
inline void put_hex(char* out, std::uint64_t value, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = kDigits[value & 0xf];
    value >>= 4;
  }
}

// Nibble values of '0'-'9' and 'a'-'f'; 0x10 marks every other byte.
inline constexpr auto kHexValue = [] {
  std::array<std::uint8_t, 256> table{};
  table.fill(0x10);
  for (int c = '0'; c <= '9'; ++c) table[c] = static_cast<std::uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) table[c] = static_cast<std::uint8_t>(c - 'a' + 10);
  return table;
}();

// Branch-free: every message passes through here on every receiver.
inline bool get_hex(const char* in, int digits, std::uint64_t& value) {
  std::uint64_t v = 0;
  std::uint8_t bad = 0;
  for (int i = 0; i < digits; ++i) {
    const std::uint8_t nibble = kHexValue[static_cast<unsigned char>(in[i])];
    bad |= nibble;
    v = (v << 4) | (nibble & 0xf);
  }
  value = v;
  return (bad & 0x10) == 0;
}
}  // namespace detail

// Writes the header into the first kHeaderBytes of `out`.
inline void write_header(char* out, const Header& h) {
  detail::put_hex(out, h.pub_id, 8);
  out[8] = ':';
  detail::put_hex(out + 9, h.counter, 16);
  out[25] = ':';
  detail::put_hex(out + 26, static_cast<std::uint64_t>(h.send_ns), 16);
  out[42] = ':';
}

// Reads the header off the front of `text`; false if it is not one of ours.
inline bool read_header(std::string_view text, Header& h) {
  if (text.size() < kHeaderBytes || text[8] != ':' || text[25] != ':' || text[42] != ':') {
    return false;
  }
  std::uint64_t pub = 0;
  std::uint64_t send = 0;
  if (!detail::get_hex(text.data(), 8, pub) || !detail::get_hex(text.data() + 9, 16, h.counter) ||
      !detail::get_hex(text.data() + 26, 16, send)) {
    return false;
  }
  h.pub_id = static_cast<std::uint32_t>(pub);
  h.send_ns = static_cast<std::int64_t>(send);
  return true;
}

}  // namespace chat::bench
