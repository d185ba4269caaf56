#pragma once
// The messages the cluster link (cluster_link.hpp) sends the reactors, in
// the vocabulary of chat/messages.hpp (whose Message variant holds them).

#include <cstdint>
#include <string>
#include <vector>

#include "server/cluster/cluster_say.hpp"

namespace chat::server::msg {

// Cluster mode (issue 11): the cluster link -> a room's owner on this node.
// The room's channel is subscribed, then its epoch, newest seq and newest
// says were read: every say after last_seq comes as a ClusterDeliver (some
// at or before it may come too, and are dropped), and its members on every
// node, this one's too: every change after them comes as a ClusterPresence.
// !ok: Redis could not be reached; the joins waiting for it are refused.
struct ClusterReady {
  std::string room;
  bool ok = false;
  std::uint64_t epoch = 0;
  std::uint64_t last_seq = 0;
  std::vector<cluster::Published> tail;  // oldest first
  std::vector<cluster::Member> members = {};
  std::uint64_t first_seq = 0;  // the oldest say its stream keeps (0: none)
  std::string topic = {};
  std::string topic_set_by = {};
};
// The room's topic was set on another node.
struct ClusterTopic {
  std::string room;
  std::string topic;
  std::string set_by;
};
// A member of the room on another node joined, left or was renamed.
struct ClusterPresence {
  std::string room;
  cluster::MemberChange change;
};
// A say published on the room's channel, in the room's order.
struct ClusterDeliver {
  cluster::Published say;
};
// The cluster link -> a nick's owner: the answer to lease `lease` of a
// nick; !ok: another node holds it (or Redis could not be asked).
struct NickLeased {
  std::uint64_t lease = 0;
  bool ok = false;
};
// The answer to a repair read of a gap: the says in it, oldest first.
struct ClusterRange {
  std::string room;
  bool ok = false;
  std::vector<cluster::Published> says;
};

}  // namespace chat::server::msg
