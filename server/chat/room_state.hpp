#pragma once
// One room as its owner holds it: the counter, the members and how many sit
// on each reactor, the topic. Its messages are in the shard's HistoryStore.
// Thread safety: reactor-confined (the room owner's thread).

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/chat/messages.hpp"

namespace chat::server {

// A message sequenced and waiting for the store to say it is durable; only
// then do members get it.
struct PendingDelivery {
  std::uint64_t seq = 0;
  std::int64_t sequenced_ns = 0;  // monotonic: the delivery-latency histogram starts here
  SharedFrame frame;  // every member's copy
  SessionId sender = 0;
  SharedFrame sender_frame;  // the sender's own copy
  // Sessions that sent the same say again meanwhile: (session, request_id).
  std::vector<std::pair<SessionId, std::uint64_t>> resent_by;
};

// A member as its room's owner knows it.
struct Member {
  std::string nick;
  std::string account;  // empty: a guest
  std::string address;  // address_key, for the address's room count and bans
  std::uint64_t join = 0;  // the session's number for this join (msg::Join)
  // Its role here: the account's kept one, or a guest's for this stay.
  v1::Role role = v1::ROLE_MEMBER;
};

struct RoomState {
  std::string name;
  std::string topic;
  std::string topic_set_by;
  std::uint64_t last_seq = 0;       // the newest seq given out
  std::uint64_t delivered_seq = 0;  // the newest seq members have been sent
  std::deque<PendingDelivery> pending;  // delivered_seq + 1 .. last_seq
  std::uint64_t incarnation = 0;  // new each time the name is created
  std::unordered_map<SessionId, Member> members;
  // The same members in nick order (issue 15): who and the join reply page
  // through it.
  std::set<std::pair<std::string, SessionId>> roster;
  // A room of presence_full_below members or more announces joins, leaves
  // and renames in a PresenceDelta at most once a second: each nick changed
  // since the last one -> whether it was a member before its first change.
  std::unordered_map<std::string, bool> presence_changes;
  std::int64_t last_delta_ms = 0;
  bool delta_queued = false;  // named in the shard's list of rooms with changes
  std::vector<std::uint32_t> members_per_reactor;
  // Issue 12: members per address (address_key), so the owner knows the
  // rooms an address holds alone.
  std::unordered_map<std::string, std::uint32_t> members_per_address;
  // While the room is empty: its place in the shard's list of empty rooms.
  std::optional<std::list<std::string>::iterator> empty_since;
  // Issue 13 (room_keepers.cpp): modes, key, founder, the accounts' roles
  // and the bans, as stored; and the folded nicks invited, each for one join.
  v1::StoredRoomSettings settings;
  std::vector<std::string> invited;
  // Cluster mode (issue 11, room_cluster.cpp): the room's says come from
  // Redis while it has members here (`live`); says past a gap wait in
  // `ahead` for the repair read of the gap.
  bool live = false;
  std::map<std::uint64_t, cluster::Published> ahead;
  bool repairing = false;
  // Its members on the other nodes (nick, "<node>:<session>"), mirrored from
  // Redis: who, the join reply and the counts show them with those here.
  std::set<std::pair<std::string, std::string>> remote;
  // The oldest say Redis kept of it, as its last ready read: history
  // pages older than this node's ring are read from the stream.
  std::uint64_t stream_first = 0;
  std::size_t member_count() const { return members.size() + remote.size(); }
  // Read only by members: invite-only, keyed or secret.
  bool is_private() const {
    const v1::RoomModes& m = settings.modes();
    return m.invite_only() || m.has_key() || m.secret();
  }
};

}  // namespace chat::server
