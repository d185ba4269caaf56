#include "server/chat/fan_out.hpp"

namespace chat::server {

void FanOut::broadcast(const RoomState& room, const SharedFrame& frame, SessionId sender,
                       const SharedFrame& sender_frame, std::int64_t sequenced_ns) {
  const std::uint32_t sender_reactor = sender != 0 ? reactor_of(sender) : ~0u;
  for (std::uint32_t r = 0; r < room.members_per_reactor.size(); ++r) {
    if (room.members_per_reactor[r] == 0) continue;
    if (r == sender_reactor) {
      router_.send(r, msg::Deliver{room.name, frame, sender, sender_frame, sequenced_ns});
    } else {
      router_.send(r, msg::Deliver{room.name, frame, 0, nullptr, sequenced_ns});
    }
  }
}

void FanOut::presence(const RoomState& room, const std::string& nick, v1::Presence::Kind kind,
                      v1::Presence::Reason reason, const std::string& old_nick) {
  v1::ServerFrame frame;
  auto* presence = frame.mutable_presence();
  presence->set_room(room.name);
  presence->set_nick(nick);
  presence->set_kind(kind);
  presence->set_reason(reason);
  presence->set_timestamp_ms(now_ms());
  presence->set_old_nick(old_nick);
  broadcast(room, common::make_shared_frame(frame));
}

}  // namespace chat::server
