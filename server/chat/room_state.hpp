#pragma once
// One room as its owner holds it: the counter, the members and how many sit
// on each reactor, the topic. Its messages are in the shard's HistoryStore.
// Thread safety: reactor-confined (the room owner's thread).

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/chat/messages.hpp"

namespace chat::server {

struct RoomState {
  std::string name;
  std::string topic;
  std::string topic_set_by;
  std::uint64_t last_seq = 0;
  std::uint64_t incarnation = 0;  // new each time the name is created
  std::unordered_map<SessionId, std::string> members;  // session -> nick
  std::vector<std::uint32_t> members_per_reactor;
  // While the room is empty: its place in the shard's list of empty rooms.
  std::optional<std::list<std::string>::iterator> empty_since;
};

}  // namespace chat::server
