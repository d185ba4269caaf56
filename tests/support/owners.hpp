#pragma once
// Which reactor owns a room or a nick: the rule of server/reactor.cpp's
// room_owner and nick_owner, written once for the tests that place names on
// a chosen reactor (to take the local fast path, or to avoid it).
// Thread safety: pure functions.

#include <cstdint>
#include <string>

#include "common/names.hpp"

namespace chat::testing {

inline std::uint32_t room_owner(const std::string& room, unsigned reactors) {
  return static_cast<std::uint32_t>(common::stable_hash(room) % reactors);
}

inline std::uint32_t nick_owner(const std::string& nick, unsigned reactors) {
  return static_cast<std::uint32_t>(common::stable_hash(common::fold_case(nick)) % reactors);
}

}  // namespace chat::testing
