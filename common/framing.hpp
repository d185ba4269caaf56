#pragma once
// Length-delimited framing, the standard protobuf form: a base-128 varint
// holding the payload length, then the payload.
//
//   byte:  0            k            k+len
//          +------------+------------+
//          | varint len | payload    |   k = 1..10 bytes, len <= max
//          +------------+------------+
//
// A varint stores 7 bits per byte, least significant group first; the top
// bit of each byte says "another byte follows". The length is checked
// against the maximum frame size as soon as the varint is complete, before
// any payload byte is buffered, so a hostile prefix cannot make us allocate.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace chat::common {

inline constexpr std::size_t kMaxVarintBytes = 10;

// Bytes needed to encode `value` as a varint.
std::size_t varint_size(std::uint64_t value);

// Writes `value` at `out` (which must have varint_size(value) bytes); returns
// the byte after it.
char* write_varint(std::uint64_t value, char* out);

enum class VarintStatus { kOk, kNeedMore, kMalformed };

// Reads a varint from the front of `in`. On kOk, `value` and `consumed` are
// set. kMalformed: more than 10 bytes, or a value that overflows 64 bits.
VarintStatus read_varint(std::string_view in, std::uint64_t& value, std::size_t& consumed);

// Encodes one protobuf message as a frame. Works with any type that has
// protobuf's ByteSizeLong / SerializeWithCachedSizesToArray, so this header
// does not depend on protobuf.
template <class Message>
std::string encode_frame(const Message& message) {
  const std::size_t size = message.ByteSizeLong();
  std::string out(varint_size(size) + size, '\0');
  char* body = write_varint(size, out.data());
  message.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(body));
  return out;
}

// An encoded frame shared by every session that sends it.
// Thread safety: immutable once built; any thread may read it.
using SharedFrame = std::shared_ptr<const std::string>;

template <class Message>
SharedFrame make_shared_frame(const Message& message) {
  return std::make_shared<const std::string>(encode_frame(message));
}

enum class DecodeError {
  kNone,
  kFrameTooLarge,   // the length prefix exceeds the maximum frame size
  kMalformedLength  // the length prefix is not a valid varint
};

// Incremental frame decoder: takes a byte stream in arbitrary chunks and
// yields whole payloads. Pure: no I/O, no protobuf.
// Thread safety: confined to the thread that owns the connection.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Appends `chunk` to the stream and calls `on_frame(std::string_view)` for
  // each complete payload, in order. `on_frame` returns false to pause: the
  // bytes after that frame stay buffered, and the next feed (an empty chunk
  // will do) goes on from there. Returns the first framing error; after an
  // error the decoder must not be fed again.
  template <class OnFrame>
  DecodeError feed(std::string_view chunk, OnFrame&& on_frame);

  // Bytes held back waiting for the rest of a frame.
  std::size_t buffered() const { return pending_.size(); }
  // The largest frame accepted from now on (a session raises it at login);
  // frames already split off are not checked again.
  std::size_t max_frame_bytes() const { return max_frame_bytes_; }
  void set_max_frame_bytes(std::size_t max) { max_frame_bytes_ = max; }

 private:
  enum class Step { kFrame, kNeedMore, kError };
  // Splits one frame off the front of `in`.
  Step split(std::string_view in, std::string_view& payload, std::size_t& consumed);

  std::size_t max_frame_bytes_;
  DecodeError error_ = DecodeError::kNone;
  std::string pending_;  // an incomplete frame carried over from earlier chunks
};

template <class OnFrame>
DecodeError FrameDecoder::feed(std::string_view chunk, OnFrame&& on_frame) {
  if (error_ != DecodeError::kNone) return error_;
  // Fast path: nothing held back, so frames are read straight out of the
  // caller's buffer and only a trailing partial frame is copied.
  std::string_view in = chunk;
  if (!pending_.empty()) {
    pending_.append(chunk);
    in = pending_;
  }
  std::size_t offset = 0;
  for (;;) {
    std::string_view payload;
    std::size_t consumed = 0;
    const Step step = split(in.substr(offset), payload, consumed);
    if (step == Step::kError) return error_;
    if (step == Step::kNeedMore) break;
    offset += consumed;
    if (!on_frame(payload)) break;
  }
  if (in.data() == pending_.data()) {
    pending_.erase(0, offset);
  } else {
    pending_.assign(in.substr(offset));
  }
  return DecodeError::kNone;
}

}  // namespace chat::common
