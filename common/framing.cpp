#include "common/framing.hpp"

namespace chat::common {

std::size_t varint_size(std::uint64_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

char* write_varint(std::uint64_t value, char* out) {
  while (value >= 0x80) {
    *out++ = static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  *out++ = static_cast<char>(value);
  return out;
}

VarintStatus read_varint(std::string_view in, std::uint64_t& value, std::size_t& consumed) {
  std::uint64_t result = 0;
  for (std::size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (i == in.size()) return VarintStatus::kNeedMore;
    const auto byte = static_cast<std::uint8_t>(in[i]);
    // The tenth byte may only carry the single remaining bit of a 64-bit value.
    if (i == kMaxVarintBytes - 1 && byte > 1) return VarintStatus::kMalformed;
    result |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      value = result;
      consumed = i + 1;
      return VarintStatus::kOk;
    }
  }
  return VarintStatus::kMalformed;
}

FrameDecoder::Step FrameDecoder::split(std::string_view in, std::string_view& payload,
                                       std::size_t& consumed) {
  std::uint64_t length = 0;
  std::size_t prefix = 0;
  switch (read_varint(in, length, prefix)) {
    case VarintStatus::kNeedMore:
      return Step::kNeedMore;
    case VarintStatus::kMalformed:
      error_ = DecodeError::kMalformedLength;
      return Step::kError;
    case VarintStatus::kOk:
      break;
  }
  if (length > max_frame_bytes_) {
    error_ = DecodeError::kFrameTooLarge;
    return Step::kError;
  }
  if (in.size() - prefix < length) return Step::kNeedMore;
  payload = in.substr(prefix, length);
  consumed = prefix + length;
  return Step::kFrame;
}

}  // namespace chat::common
