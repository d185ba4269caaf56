#pragma once
// Which reactor owns a room or a nick, for the tests that place names on a
// chosen reactor (to take the local path, or to avoid it): the server's own
// rule (server/chat/router.hpp), not a copy of it.
// Thread safety: pure functions.

#include <cstdint>
#include <string>

#include "server/chat/router.hpp"

namespace chat::testing {

inline std::uint32_t room_owner(const std::string& room, unsigned reactors) {
  return server::Router::room_owner(room, reactors);
}

inline std::uint32_t nick_owner(const std::string& nick, unsigned reactors) {
  return server::Router::nick_owner(nick, reactors);
}

}  // namespace chat::testing
