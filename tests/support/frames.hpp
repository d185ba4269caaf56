#pragma once
// Frames for tests that speak the wire protocol themselves (through a
// RawConnection): one builder per request the tests send, the bytes of
// several frames back to back (a pipelined write), and the bytes of frames
// that are deliberately wrong. Well-formed frames are encoded by the
// server's own common::encode_frame; only the hostile ones are put together
// here by hand, from common::write_varint.
//
//   a frame:  | varint len | payload |     (see common/framing.hpp)
//
// Thread safety: pure functions.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "chat/v1/chat.pb.h"

namespace chat::testing {

// One request each, with its request id.
v1::ClientFrame hello_frame(const std::string& nick, std::uint64_t request_id);
v1::ClientFrame rename_frame(const std::string& nick, std::uint64_t request_id);
v1::ClientFrame join_frame(const std::string& room, std::uint64_t request_id);
v1::ClientFrame leave_frame(const std::string& room, std::uint64_t request_id);
v1::ClientFrame say_frame(const std::string& room, const std::string& text, std::uint64_t request_id);
v1::ClientFrame who_frame(const std::string& room, std::uint64_t request_id);
// One page of who: the members after `cursor`, at most `limit` (0: the server's page).
v1::ClientFrame who_page_frame(const std::string& room, const std::string& cursor, std::uint32_t limit,
                               std::uint64_t request_id);
v1::ClientFrame ping_frame(std::uint64_t nonce, std::uint64_t request_id);
v1::ClientFrame pong_frame(std::uint64_t nonce);
v1::ClientFrame set_topic_frame(const std::string& room, const std::string& topic, std::uint64_t request_id);
// The newest `limit` messages of `room`.
v1::ClientFrame history_frame(const std::string& room, std::uint32_t limit, std::uint64_t request_id);

// The frames encoded back to back, for one write that pipelines them.
std::string encode_frames(std::initializer_list<v1::ClientFrame> frames);

// Hostile bytes. A varint on its own: a length prefix that may lie about
// what follows (or is followed by nothing).
std::string varint(std::uint64_t value);
// `payload` as a frame, whatever its bytes: garbage, or fields this
// server's ClientFrame does not have.
std::string length_prefixed(std::string_view payload);

// The error code a reply carries; CODE_UNSPECIFIED for a reply that is not
// an error, or no reply at all.
v1::Error::Code code_of(const v1::ServerFrame& frame);
v1::Error::Code code_of(const std::optional<v1::ServerFrame>& frame);

}  // namespace chat::testing
