#include "support/frames.hpp"

#include <algorithm>

#include "common/framing.hpp"

namespace chat::testing {

namespace {

v1::ClientFrame with_id(std::uint64_t request_id) {
  v1::ClientFrame f;
  f.set_request_id(request_id);
  return f;
}

// Arbitrary bytes with the two calls common::encode_frame makes of a
// protobuf message, so that even a hostile payload gets the real prefix.
struct Bytes {
  std::size_t ByteSizeLong() const { return bytes.size(); }
  std::uint8_t* SerializeWithCachedSizesToArray(std::uint8_t* out) const {
    return std::copy(bytes.begin(), bytes.end(), out);
  }
  std::string_view bytes;
};

}  // namespace

v1::ClientFrame hello_frame(const std::string& nick, std::uint64_t request_id) {
  auto f = with_id(request_id);
  f.mutable_hello()->set_nick(nick);
  return f;
}

v1::ClientFrame pong_frame(std::uint64_t nonce) {
  v1::ClientFrame f;
  f.mutable_pong()->set_nonce(nonce);
  return f;
}

v1::ClientFrame set_topic_frame(const std::string& room, const std::string& topic, std::uint64_t request_id) {
  auto f = with_id(request_id);
  f.mutable_set_topic()->set_room(room);
  f.mutable_set_topic()->set_topic(topic);
  return f;
}

v1::ClientFrame history_frame(const std::string& room, std::uint32_t limit, std::uint64_t request_id) {
  auto f = with_id(request_id);
  f.mutable_history()->set_room(room);
  f.mutable_history()->set_limit(limit);
  return f;
}

v1::ClientFrame rename_frame(const std::string& nick, std::uint64_t request_id) {
  auto f = with_id(request_id);
  f.mutable_rename()->set_nick(nick);
  return f;
}

v1::ClientFrame join_frame(const std::string& room, std::uint64_t request_id) {
  auto f = with_id(request_id);
  f.mutable_join()->set_room(room);
  return f;
}

v1::ClientFrame leave_frame(const std::string& room, std::uint64_t request_id) {
  auto f = with_id(request_id);
  f.mutable_leave()->set_room(room);
  return f;
}

v1::ClientFrame say_frame(const std::string& room, const std::string& text, std::uint64_t request_id) {
  auto f = with_id(request_id);
  f.mutable_say()->set_room(room);
  f.mutable_say()->set_text(text);
  return f;
}

v1::ClientFrame who_frame(const std::string& room, std::uint64_t request_id) {
  auto f = with_id(request_id);
  f.mutable_who()->set_room(room);
  return f;
}

v1::ClientFrame who_page_frame(const std::string& room, const std::string& cursor, std::uint32_t limit,
                               std::uint64_t request_id) {
  auto f = who_frame(room, request_id);
  f.mutable_who()->set_cursor(cursor);
  f.mutable_who()->set_limit(limit);
  return f;
}

v1::ClientFrame ping_frame(std::uint64_t nonce, std::uint64_t request_id) {
  auto f = with_id(request_id);
  f.mutable_ping()->set_nonce(nonce);
  return f;
}

std::string encode_frames(std::initializer_list<v1::ClientFrame> frames) {
  std::string out;
  for (const auto& f : frames) out += common::encode_frame(f);
  return out;
}

std::string varint(std::uint64_t value) {
  std::string out(common::varint_size(value), '\0');
  common::write_varint(value, out.data());
  return out;
}

std::string length_prefixed(std::string_view payload) { return common::encode_frame(Bytes{payload}); }

v1::Error::Code code_of(const v1::ServerFrame& frame) {
  return frame.has_error() ? frame.error().code() : v1::Error::CODE_UNSPECIFIED;
}

v1::Error::Code code_of(const std::optional<v1::ServerFrame>& frame) {
  return frame ? code_of(*frame) : v1::Error::CODE_UNSPECIFIED;
}

}  // namespace chat::testing
