// RoomShard in cluster mode (issue 11): a room is shared with the other
// nodes through Redis (cluster/cluster_link.hpp). While it has members
// here its channel is subscribed; the first join waits until the link has
// subscribed and then read the room's numbering and newest says
// (ClusterReady), so the joiner misses nothing said after its replay.
// Every say, this node's too, comes back on the channel in the room's
// order (ClusterDeliver) and goes to the members here as on one node; a
// seq past the next is held and the gap read from the room's stream
// (ClusterRange) before anything after it is delivered: never a silent
// skip. The last member leaving stops the watch and forgets the room.
//
// Presence crosses nodes the same way: each member's join, leave and
// rename here goes to the room's member set in Redis, which publishes it
// on the channel; the members on other nodes are mirrored in
// RoomState::remote from the set as the ready read it and the changes
// after, and each change is told to the members here as one made here.
#include <spdlog/spdlog.h>

#include <charconv>
#include <set>

#include "common/random_id.hpp"
#include "server/chat/room_shard.hpp"

namespace chat::server {

bool RoomShard::cluster_admits(msg::Join& m) {
  if (cluster_ == nullptr) return true;
  if (auto it = rooms_.find(m.room); it != rooms_.end() && it->second.live) return true;
  if (ready_.contains(m.room)) return true;  // being made from its ready
  auto& waiting = watching_[m.room];
  if (waiting.empty()) cluster_->watch(m.room, config_.replay_on_join);
  waiting.push_back(std::move(m));
  return false;
}

void RoomShard::on(msg::ClusterReady&& m) {
  router_.assert_owner();
  auto node = watching_.extract(m.room);
  if (auto it = rooms_.find(m.room); it != rooms_.end() && it->second.live) {
    // Subscribed again after the link lost Redis: repair what was missed,
    // or, if Redis lost the room (it came back empty: a new epoch), number
    // from 1 again.
    RoomState& room = it->second;
    if (!m.ok) return;
    resync_members(room, m.members, /*announce=*/true);
    room.stream_first = m.first_seq;
    if (m.topic != room.topic) change_topic(room, m.topic, m.topic_set_by);  // set elsewhere meanwhile
    if (m.epoch != 0 && m.epoch != room.incarnation) new_epoch(room, m.epoch);
    if (m.last_seq > room.delivered_seq && !room.repairing) {
      room.repairing = true;
      cluster_->read_range(room.name, room.incarnation, room.delivered_seq + 1, m.last_seq);
    }
    return;
  }
  if (node.empty()) {
    cluster_->unwatch(m.room);  // nobody waits for it any more
    return;
  }
  std::vector<msg::Join> joins = std::move(node.mapped());
  if (!m.ok) {
    cluster_->unwatch(m.room);
    for (const msg::Join& j : joins) {
      refuse_join(j, v1::Error::CODE_STORE_UNAVAILABLE, "the cluster's Redis cannot be reached now; join again later",
                  1000);
    }
    return;
  }
  const std::string room = m.room;
  ready_.emplace(room, std::move(m));
  for (msg::Join& j : joins) on(std::move(j));
  ready_.erase(room);
  // Every join refused: no member here, nothing to watch.
  auto it = rooms_.find(room);
  if (it == rooms_.end()) {
    cluster_->unwatch(room);
  } else if (it->second.members.empty()) {
    if (it->second.empty_since) empty_.erase(*it->second.empty_since);
    unwatch(it->second);
  }
}

void RoomShard::go_live(RoomState& room) {
  auto node = ready_.extract(room.name);
  if (node.empty()) return;
  const msg::ClusterReady& ready = node.mapped();
  // The room's epoch in Redis, made at its first watch on any node: every
  // node tells its joiners the same incarnation.
  room.incarnation = ready.epoch != 0 ? ready.epoch : common::random_id();
  room.last_seq = room.delivered_seq = ready.last_seq;
  resync_members(room, ready.members, /*announce=*/false);
  room.stream_first = ready.first_seq;
  room.topic = ready.topic;
  room.topic_set_by = ready.topic_set_by;
  store_.evict(room.name);
  for (const cluster::Published& p : ready.tail) {
    if (p.seq > ready.last_seq) continue;  // after the meta was read: it comes live
    v1::RoomMessage message;
    message.set_room(room.name);
    message.set_seq(p.seq);
    message.set_sender(p.say.sender);
    message.set_text(p.say.text);
    message.set_timestamp_ms(p.say.timestamp_ms);
    message.set_client_msg_id(p.say.client_msg_id);
    store_.append(room.name, std::move(message), p.say.identity);
  }
  room.live = true;
}

void RoomShard::unwatch(RoomState& room) {
  cluster_->unwatch(room.name);
  store_.evict(room.name);
  rooms_.erase(room.name);
  count_rooms();
}

void RoomShard::new_epoch(RoomState& room, std::uint64_t epoch) {
  // Redis lost the room (it came back empty, or the room's keys went): its
  // numbering starts again at 1 under a new incarnation.
  spdlog::warn("cluster: {} has a new incarnation ({} -> {}): its numbering starts again", room.name,
               room.incarnation, epoch);
  room.incarnation = epoch;
  room.last_seq = room.delivered_seq = 0;
  room.stream_first = 0;
  room.ahead.clear();
  store_.evict(room.name);
}

void RoomShard::on(msg::ClusterDeliver&& m) {
  router_.assert_owner();
  auto it = rooms_.find(m.say.say.room);
  if (it == rooms_.end() || !it->second.live) return;  // not watched here (any more)
  RoomState& room = it->second;
  if (m.say.epoch != room.incarnation) {
    // Redis lost the room and a say made it again before this node's
    // ready did (or the room's first say raced its first watch).
    if (room.delivered_seq != 0 || m.say.seq != 1) new_epoch(room, m.say.epoch);
    room.incarnation = m.say.epoch;
  }
  if (m.say.seq <= room.delivered_seq) return;  // read with the ready already
  room.ahead.emplace(m.say.seq, std::move(m.say));
  drain_ahead(room);
}

void RoomShard::on(msg::ClusterRange&& m) {
  router_.assert_owner();
  auto it = rooms_.find(m.room);
  if (it == rooms_.end() || !it->second.live) return;
  RoomState& room = it->second;
  room.repairing = false;
  if (!m.ok) return;  // tried again when the link is back (a ClusterReady)
  for (cluster::Published& p : m.says) {
    if (p.seq > room.delivered_seq) room.ahead.emplace(p.seq, std::move(p));
  }
  drain_ahead(room);
}

void RoomShard::drain_ahead(RoomState& room) {
  while (!room.ahead.empty() && room.ahead.begin()->first <= room.delivered_seq + 1) {
    auto node = room.ahead.extract(room.ahead.begin());
    if (node.key() == room.delivered_seq + 1) deliver(room, node.mapped());
  }
  if (!room.ahead.empty() && !room.repairing) {
    // A gap: read it from the stream before anything after it goes out.
    room.repairing = true;
    cluster_->read_range(room.name, room.incarnation, room.delivered_seq + 1, room.ahead.begin()->first - 1);
  }
}

void RoomShard::deliver(RoomState& room, const cluster::Published& p) {
  v1::ServerFrame frame;
  auto* message = frame.mutable_message();
  message->set_room(room.name);
  message->set_sender(p.say.sender);
  message->set_text(p.say.text);
  message->set_seq(p.seq);
  message->set_timestamp_ms(p.say.timestamp_ms);
  const SharedFrame everyone = common::make_shared_frame(frame);
  // Said on this node by a member still here: its own copy with the
  // request's id and the client_msg_id.
  SessionId sender = 0;
  std::uint64_t request_id = 0;
  SharedFrame own;
  if (cluster::parse_origin(p.say.origin, cluster_->node(), sender, request_id) && room.members.contains(sender)) {
    frame.set_request_id(request_id);
    message->set_client_msg_id(p.say.client_msg_id);
    own = common::make_shared_frame(frame);
  } else {
    sender = 0;
  }
  fan_out_.broadcast(room, everyone, sender, own, monotonic_ns());
  message->set_client_msg_id(p.say.client_msg_id);
  store_.append(room.name, std::move(*message), p.say.identity);
  room.last_seq = room.delivered_seq = p.seq;
}

void RoomShard::tell_cluster(const RoomState& room, v1::Presence::Kind kind, v1::Presence::Reason reason,
                             SessionId session, const std::string& nick, const std::string& old_nick) {
  if (cluster_ == nullptr) return;
  cluster_->member(room.name, cluster::MemberChange{kind, reason, nick, old_nick,
                                                    cluster::member_id(cluster_->node(), session)});
}

void RoomShard::on(msg::ClusterTopic&& m) {
  router_.assert_owner();
  auto it = rooms_.find(m.room);
  if (it == rooms_.end() || !it->second.live) return;
  change_topic(it->second, m.topic, m.set_by);
}

void RoomShard::on(msg::ClusterPresence&& m) {
  router_.assert_owner();
  auto it = rooms_.find(m.room);
  if (it == rooms_.end() || !it->second.live) return;  // not watched here (any more)
  remote_change(it->second, m.change);
}

void RoomShard::remote_change(RoomState& room, const cluster::MemberChange& c) {
  const auto kind = static_cast<v1::Presence::Kind>(c.kind);
  const auto reason = static_cast<v1::Presence::Reason>(c.reason);
  const bool renamed = kind == v1::Presence::KIND_RENAMED && room.remote.contains({c.old_nick, c.id});
  if (renamed) {
    const bool one_by_one = presence_one_by_one(room, c.old_nick);
    if (!one_by_one) presence_one_by_one(room, c.nick);
    room.remote.erase({c.old_nick, c.id});
    room.remote.emplace(c.nick, c.id);
    if (one_by_one) fan_out_.presence(room, c.nick, kind, reason, c.old_nick);
    return;
  }
  // A rename of a member the mirror did not have is its join.
  const bool joined = kind == v1::Presence::KIND_JOINED || kind == v1::Presence::KIND_RENAMED;
  if (joined == room.remote.contains({c.nick, c.id})) return;  // known already: the ready read it
  const bool one_by_one = presence_one_by_one(room, c.nick);
  if (joined) {
    room.remote.emplace(c.nick, c.id);
  } else {
    room.remote.erase({c.nick, c.id});
  }
  if (one_by_one) fan_out_.presence(room, c.nick, joined ? v1::Presence::KIND_JOINED : kind, reason);
}

void RoomShard::resync_members(RoomState& room, const std::vector<cluster::Member>& members, bool announce) {
  const std::string& node = cluster_->node();
  std::set<std::pair<std::string, std::string>> elsewhere;
  std::set<SessionId> in_redis;
  for (const cluster::Member& m : members) {
    if (!cluster::is_on_node(m.id, node)) {
      elsewhere.emplace(m.nick, m.id);
      continue;
    }
    // One of this node's: gone from Redis if its session is not here now
    // (it left while Redis was away).
    SessionId session = 0;
    const std::string_view number = std::string_view(m.id).substr(node.size() + 1);
    std::from_chars(number.data(), number.data() + number.size(), session);
    auto member = room.members.find(session);
    if (member != room.members.end() && member->second.nick == m.nick) {
      in_redis.insert(session);
    } else {
      cluster_->member(room.name, cluster::MemberChange{v1::Presence::KIND_QUIT, v1::Presence::REASON_UNSPECIFIED,
                                                        m.nick, {}, m.id});
    }
  }
  for (const auto& [session, member] : room.members) {
    if (!in_redis.contains(session)) {
      tell_cluster(room, v1::Presence::KIND_JOINED, v1::Presence::REASON_UNSPECIFIED, session, member.nick);
    }
  }
  if (!announce) {
    room.remote = std::move(elsewhere);
    return;
  }
  // The members elsewhere that came and went meanwhile, told here.
  const std::vector<std::pair<std::string, std::string>> before(room.remote.begin(), room.remote.end());
  for (const auto& [nick, id] : before) {
    if (!elsewhere.contains({nick, id})) {
      remote_change(room, {v1::Presence::KIND_QUIT, v1::Presence::REASON_UNSPECIFIED, nick, {}, id});
    }
  }
  for (const auto& [nick, id] : elsewhere) {
    remote_change(room, {v1::Presence::KIND_JOINED, v1::Presence::REASON_UNSPECIFIED, nick, {}, id});
  }
}

}  // namespace chat::server
