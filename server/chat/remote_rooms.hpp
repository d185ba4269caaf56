#pragma once
// The room list across a cluster's nodes (issue 11): a page of list_rooms
// asks every reactor here for its rooms and, in cluster mode, the cluster
// link for the rooms with members on any node (Redis's room index); the
// asking hub merges them by name, and a room this node holds answers for
// itself (its topic, its secrecy). None on a single node.
// Thread safety: reactor-confined (one per reactor).

#include <cstdint>
#include <string>

namespace chat::server {

class RemoteRooms {
 public:
  virtual ~RemoteRooms() = default;
  // A msg::RoomList for query `query_id` to reactor `reply_to`: the first
  // `limit` rooms named after `cursor` with members on any node.
  virtual void list(std::uint32_t reply_to, std::uint64_t query_id, const std::string& cursor, std::size_t limit) = 0;
};

}  // namespace chat::server
