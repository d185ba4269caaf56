#pragma once
// Cluster mode (issue 11): how a room's owner on this node reaches the
// cluster link, which shares the room with the other nodes through Redis
// (cluster/cluster_link.hpp). The owner watches a room while it has
// members here, hands it each say, and reads a gap's says when the live
// path skipped a seq. Null in a single node.
// Thread safety: reactor-confined (the room owner's thread).

#include <cstdint>
#include <string>

#include "server/chat/messages.hpp"

namespace chat::server {

class RoomLink {
 public:
  virtual ~RoomLink() = default;
  // This node's id, as every say's origin names it.
  virtual const std::string& node() const = 0;
  // Numbered, stored and published by Redis.
  virtual void say(cluster::Say&& say, SessionId session, std::uint64_t request_id) = 0;
  // Subscribe to the room's says, then msg::ClusterReady with its epoch
  // (made in Redis if the room has none, so every node names it alike
  // from its first join) and newest `tail`; unwatch when its last member
  // here has left.
  virtual void watch(const std::string& room, std::size_t tail) = 0;
  virtual void unwatch(const std::string& room) = 0;
  // msg::ClusterRange with the says lo..hi.
  virtual void read_range(const std::string& room, std::uint64_t epoch, std::uint64_t lo, std::uint64_t hi) = 0;
  // Presence across nodes: a member here joined, left or was renamed (the
  // room's member set in Redis, and the other nodes, are told).
  virtual void member(const std::string& room, cluster::MemberChange&& change) = 0;
  // A history page older than this node's ring: the says lo..hi of
  // incarnation `epoch` read from the room's stream into `reply` (its
  // history, cut to `max_bytes`, the newest kept if `keep_newest`;
  // client_msg_id only on `reader`'s own), sent to `session`.
  virtual void history(const std::string& room, std::uint64_t epoch, std::uint64_t lo, std::uint64_t hi,
                       const std::string& reader, bool keep_newest, std::size_t max_bytes, v1::ServerFrame&& reply,
                       SessionId session) = 0;
  // The room's topic was set here: kept in Redis and told to the other
  // nodes (msg::ClusterTopic), and read by each node's next first join.
  virtual void topic(const std::string& room, const std::string& topic, const std::string& set_by) = 0;
  // Whether the room is private here (invite-only, keyed or secret): if
  // so, the other nodes neither list it nor answer who for it from Redis.
  virtual void hide(const std::string& room, bool hidden) = 0;
  // Who for a room with no member here: answered to `session` from the
  // room's member set in Redis, a page of at most `limit` nicks and
  // `max_bytes` of them after `cursor`.
  virtual void who(const std::string& room, const std::string& cursor, std::size_t limit, std::size_t max_bytes,
                   SessionId session, std::uint64_t request_id) = 0;
};

}  // namespace chat::server
