// RoomShard: who may take a room slot (issue 12). A new room is refused
// when the joiner's connection or address has created its most rooms
// lately (the session's reactor keeps those budgets and says so in the
// Join), or when the joiner's address already holds, alone, this shard's
// share of --max-rooms-per-address: a few connections from one address
// cannot hold every slot by sitting in rooms nobody else is in.
#include "server/chat/room_shard.hpp"

namespace chat::server {

namespace {
// The address all of a room's members are from, or null (none, or several).
const std::string* sole_address(const RoomState& room) {
  return room.members_per_address.size() == 1 ? &room.members_per_address.begin()->first : nullptr;
}
}  // namespace

std::size_t RoomShard::address_share() const {
  const std::size_t shards = router_.reactor_count();
  return (config_.max_rooms_per_address + shards - 1) / shards;
}

bool RoomShard::may_create(const msg::Join& m) {
  using Limit = msg::Join::CreateLimit;
  if (m.create_limit == Limit::kConnection) {
    ReactorMetrics::bump(metrics_.room_creations_refused_connection);
    refuse(m, v1::Error::CODE_RATE_LIMITED,
           "this connection has created " + std::to_string(config_.room_create_per_min) + " rooms in the last minute",
           m.retry_after_ms);
    return false;
  }
  if (m.create_limit == Limit::kAddress) {
    ReactorMetrics::bump(metrics_.room_creations_refused_address);
    refuse(m, v1::Error::CODE_RATE_LIMITED,
           "your address has created its most rooms (" + std::to_string(config_.room_create_per_address) +
               ") in the last ten minutes",
           m.retry_after_ms);
    return false;
  }
  auto held = held_alone_.find(m.address);
  if (!m.address.empty() && held != held_alone_.end() && held->second >= address_share()) {
    ReactorMetrics::bump(metrics_.room_creations_refused_held);
    refuse(m, v1::Error::CODE_TOO_MANY_ROOMS,
           "your address already holds " + std::to_string(held->second) +
               " rooms of this server's share that nobody else is in; leave one first");
    return false;
  }
  return true;
}

void RoomShard::count_address(RoomState& room, const std::string& address, int delta) {
  if (address.empty()) return;  // not counted (unit tests' joins name none)
  if (const std::string* before = sole_address(room)) {
    auto it = held_alone_.find(*before);
    if (it != held_alone_.end() && --it->second == 0) held_alone_.erase(it);
  }
  auto& count = room.members_per_address[address];
  count = static_cast<std::uint32_t>(static_cast<int>(count) + delta);
  if (count == 0) room.members_per_address.erase(address);
  if (const std::string* after = sole_address(room)) ++held_alone_[*after];
}

}  // namespace chat::server
