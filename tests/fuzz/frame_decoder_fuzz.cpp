// libFuzzer target: the frame decoder fed an arbitrary byte stream in
// arbitrary chunks. Checks that every chunking yields the same frames as
// decoding the whole stream at once, and that no frame exceeds the cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/framing.hpp"

namespace {

constexpr std::size_t kMaxFrame = 1024;

struct Result {
  std::vector<std::string> frames;
  chat::common::DecodeError error = chat::common::DecodeError::kNone;
};

Result decode(std::string_view stream, const std::vector<std::size_t>& chunk_sizes) {
  chat::common::FrameDecoder decoder(kMaxFrame);
  Result r;
  std::size_t at = 0;
  std::size_t next = 0;
  while (at < stream.size() && r.error == chat::common::DecodeError::kNone) {
    const std::size_t n = chunk_sizes.empty() ? stream.size() : std::min(stream.size() - at, chunk_sizes[next++ % chunk_sizes.size()]);
    r.error = decoder.feed(stream.substr(at, n), [&](std::string_view payload) {
      if (payload.size() > kMaxFrame) std::abort();
      r.frames.emplace_back(payload);
      return true;
    });
    at += n;
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte says how many chunk sizes follow; each is one byte (+1).
  const std::size_t count = std::min<std::size_t>(data[0] % 16, size - 1);
  std::vector<std::size_t> chunks;
  for (std::size_t i = 0; i < count; ++i) chunks.push_back(data[1 + i] + 1u);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1 + count, size - 1 - count);

  const Result whole = decode(stream, {});
  const Result pieces = decode(stream, chunks);
  if (whole.error != pieces.error || whole.frames != pieces.frames) std::abort();
  return 0;
}
