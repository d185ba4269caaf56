#pragma once
// A zero-copy reader for the one message chat-bench receives millions of
// times: chat.v1.RoomMessage. It reads the three fields the measurements need
// (seq, client_msg_id, and the text as a view into the read buffer) straight
// off protobuf's wire format and skips every other field, known or not.
//
// Why not the generated parser: it copies each text into a std::string and
// walks every field; at a few million deliveries a second that was about a
// seventh of the generator's CPU, and a generator that saturates first hides
// the server's real cost. Anything this reader does not expect (a group, a
// truncated field) makes it return false, and the caller falls back to the
// generated parser. Unlike that parser it does not check that strings are
// UTF-8: the bench reads nothing from a text but its own ASCII header.
// Thread safety: pure function.

#include <cstdint>
#include <string_view>

#include "common/framing.hpp"

namespace chat::bench {

struct RoomMessageView {
  std::uint64_t seq = 0;
  std::uint64_t client_msg_id = 0;
  std::string_view text;
};

// Field numbers of chat.v1.RoomMessage (proto/chat/v1/chat.proto).
inline constexpr std::uint64_t kRoomMessageText = 3;
inline constexpr std::uint64_t kRoomMessageSeq = 4;
inline constexpr std::uint64_t kRoomMessageClientMsgId = 6;

inline bool read_room_message(std::string_view in, RoomMessageView& out) {
  out = RoomMessageView{};
  while (!in.empty()) {
    std::uint64_t tag = 0;
    std::size_t used = 0;
    if (common::read_varint(in, tag, used) != common::VarintStatus::kOk) return false;
    in.remove_prefix(used);
    const std::uint64_t field = tag >> 3;
    switch (tag & 7) {
      case 0: {  // varint
        std::uint64_t value = 0;
        if (common::read_varint(in, value, used) != common::VarintStatus::kOk) return false;
        in.remove_prefix(used);
        if (field == kRoomMessageSeq) out.seq = value;
        if (field == kRoomMessageClientMsgId) out.client_msg_id = value;
        break;
      }
      case 1:  // 64-bit
        if (in.size() < 8) return false;
        in.remove_prefix(8);
        break;
      case 2: {  // length-delimited
        std::uint64_t length = 0;
        if (common::read_varint(in, length, used) != common::VarintStatus::kOk) return false;
        in.remove_prefix(used);
        if (length > in.size()) return false;
        if (field == kRoomMessageText) out.text = in.substr(0, length);
        in.remove_prefix(length);
        break;
      }
      case 5:  // 32-bit
        if (in.size() < 4) return false;
        in.remove_prefix(4);
        break;
      default:  // groups (3, 4) and the unused wire types
        return false;
    }
    if (field == 0) return false;
  }
  return true;
}

}  // namespace chat::bench
