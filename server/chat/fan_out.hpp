#pragma once
// Fan-out at the room owner: one Deliver per reactor that has members in the
// room, never one per member; each reactor then hands the same frame to its
// local members (session/local_hub.hpp).
// Thread safety: reactor-confined (the room owner's thread).

#include <string>

#include "server/chat/room_state.hpp"
#include "server/chat/router.hpp"

namespace chat::server {

class FanOut {
 public:
  explicit FanOut(Router& router) : router_(router) {}

  // Sends `frame` once to every reactor with members in `room`. The sender's
  // reactor gets `sender_frame` for `sender` alongside, when there is one.
  // `sequenced_ns`: when a room message was sequenced (0: not a message).
  void broadcast(const RoomState& room, const SharedFrame& frame, SessionId sender = 0,
                 const SharedFrame& sender_frame = nullptr, std::int64_t sequenced_ns = 0);
  void presence(const RoomState& room, const std::string& nick, v1::Presence::Kind kind,
                v1::Presence::Reason reason, const std::string& old_nick = {});

 private:
  Router& router_;
};

}  // namespace chat::server
