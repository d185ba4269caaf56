#include "server/room_shard.hpp"

#include <algorithm>

#include "server/frames.hpp"

namespace chat::server {

RoomShard::RoomShard(const Config& config, Router& router) : config_(config), router_(router) {}

std::size_t RoomShard::room_cap() const {
  const std::size_t shards = router_.reactor_count();
  return (config_.max_rooms + shards - 1) / shards;
}

void RoomShard::on(msg::Join&& m) {
  auto it = rooms_.find(m.room);
  if (it == rooms_.end()) {
    // Each shard keeps to its own share of the cap, so the check needs no
    // word from the other reactors. Joining a room that exists is always fine.
    if (rooms_.size() >= room_cap() && !reclaim_one()) {
      constexpr auto kCode = v1::Error::CODE_TOO_MANY_ROOMS;
      router_.send(reactor_of(m.session),
                   msg::JoinRefused{m.room, m.session, m.join, kCode,
                                    error_frame(kCode,
                                                "cannot create " + m.room +
                                                    ": the server holds its most rooms, all in use; "
                                                    "rooms that exist can still be joined",
                                                m.request_id)});
      return;
    }
    it = rooms_.try_emplace(m.room).first;
    it->second.name = m.room;
    it->second.members_per_reactor.assign(router_.reactor_count(), 0);
    it->second.incarnation = next_incarnation_++;
  }
  Room& room = it->second;
  if (!room.members.try_emplace(m.session, m.nick).second) {
    router_.error_to_session(m.session, v1::Error::CODE_ALREADY_A_MEMBER,
                             "already a member of " + m.room, m.request_id);
    return;
  }
  ++room.members_per_reactor[reactor_of(m.session)];
  if (room.empty_since) {
    empty_.erase(*room.empty_since);
    room.empty_since.reset();
  }

  v1::ServerFrame frame;
  frame.set_request_id(m.request_id);
  auto* reply = frame.mutable_join();
  reply->set_room(room.name);
  reply->set_topic(room.topic);
  for (auto& nick : sorted_nicks(room)) reply->add_members(std::move(nick));
  const std::size_t replay = std::min(config_.replay_on_join, room.history.size());
  for (auto it2 = room.history.end() - static_cast<std::ptrdiff_t>(replay); it2 != room.history.end(); ++it2) {
    *reply->add_recent() = *it2;
  }
  reply->set_last_seq(room.last_seq);
  reply->set_incarnation(room.incarnation);
  // Joined travels the same FIFO as every later Deliver to that reactor, so
  // the joiner sees each message sequenced after last_seq exactly once.
  router_.send(reactor_of(m.session),
               msg::Joined{room.name, m.session, common::make_shared_frame(frame), m.join});
  broadcast_presence(room, m.nick, v1::Presence::KIND_JOINED, v1::Presence::REASON_UNSPECIFIED);
}

void RoomShard::on(msg::Leave&& m) {
  auto it = rooms_.find(m.room);
  if (it == rooms_.end() || it->second.members.erase(m.session) == 0) {
    if (m.reason == v1::Presence::REASON_UNSPECIFIED) {
      router_.error_to_session(m.session, v1::Error::CODE_NOT_A_MEMBER,
                               "not a member of " + m.room, m.request_id);
    }
    return;
  }
  Room& room = it->second;
  --room.members_per_reactor[reactor_of(m.session)];
  const bool asked = m.reason == v1::Presence::REASON_UNSPECIFIED;
  if (asked) {
    v1::ServerFrame frame;
    frame.set_request_id(m.request_id);
    frame.mutable_leave()->set_room(room.name);
    router_.to_session(m.session, common::make_shared_frame(frame));
  }
  broadcast_presence(room, m.nick, asked ? v1::Presence::KIND_LEFT : v1::Presence::KIND_QUIT,
                     m.reason);
  if (!room.members.empty()) return;
  if (room.last_seq == 0 && room.topic.empty()) {
    rooms_.erase(it);  // a room that never held a message or a topic leaves no trace
  } else {
    room.empty_since = empty_.insert(empty_.end(), room.name);
  }
}

bool RoomShard::reclaim_one() {
  if (empty_.empty()) return false;
  rooms_.erase(empty_.front());
  empty_.pop_front();
  ++reclaimed_;
  return true;
}

void RoomShard::on(msg::Publish&& m) {
  auto it = rooms_.find(m.room);
  if (it == rooms_.end() || !it->second.members.contains(m.session)) {
    router_.error_to_session(m.session, v1::Error::CODE_NOT_A_MEMBER,
                             "not a member of " + m.room, m.request_id);
    return;
  }
  Room& room = it->second;

  v1::ServerFrame frame;
  auto* message = frame.mutable_message();
  message->set_room(room.name);
  message->set_sender(std::move(m.nick));
  message->set_text(std::move(m.text));
  message->set_seq(++room.last_seq);
  message->set_timestamp_ms(now_ms());
  // Serialised once for every member; the sender's copy differs only by its
  // ids, so it is the one extra encoding.
  const SharedFrame shared = common::make_shared_frame(frame);
  frame.set_request_id(m.request_id);
  message->set_client_msg_id(m.client_msg_id);
  const SharedFrame own = common::make_shared_frame(frame);
  message->clear_client_msg_id();
  broadcast(room, shared, m.session, own);

  room.history.push_back(std::move(*message));
  if (room.history.size() > config_.history_per_room) room.history.pop_front();
}

void RoomShard::on(msg::Rename&& m) {
  auto it = rooms_.find(m.room);
  if (it == rooms_.end()) return;  // its join was refused, or it has left
  Room& room = it->second;
  auto member = room.members.find(m.session);
  if (member == room.members.end()) return;
  member->second = m.nick;
  broadcast_presence(room, m.nick, v1::Presence::KIND_RENAMED, v1::Presence::REASON_UNSPECIFIED,
                     m.old_nick);
}

void RoomShard::on(msg::RoomQuery&& q) {
  auto it = rooms_.find(q.room);
  if (it == rooms_.end()) {
    router_.error_to_session(q.session, v1::Error::CODE_NO_SUCH_ROOM,
                             "no such room: " + q.room, q.request_id);
    return;
  }
  Room& room = it->second;
  v1::ServerFrame frame;
  frame.set_request_id(q.request_id);
  switch (q.kind) {
    case msg::RoomQuery::Kind::kWho: {
      auto* who = frame.mutable_who();
      who->set_room(room.name);
      for (auto& nick : sorted_nicks(room)) who->add_nicks(std::move(nick));
      break;
    }
    case msg::RoomQuery::Kind::kSetTopic: {
      if (!room.members.contains(q.session)) {
        router_.error_to_session(q.session, v1::Error::CODE_NOT_A_MEMBER,
                                 "not a member of " + q.room, q.request_id);
        return;
      }
      room.topic = q.topic;
      room.topic_set_by = q.nick;
      v1::ServerFrame event;
      auto* changed = event.mutable_topic_changed();
      changed->set_room(room.name);
      changed->set_topic(room.topic);
      changed->set_set_by(room.topic_set_by);
      broadcast(room, common::make_shared_frame(event));
      [[fallthrough]];
    }
    case msg::RoomQuery::Kind::kGetTopic: {
      auto* topic = frame.mutable_topic();
      topic->set_room(room.name);
      topic->set_topic(room.topic);
      topic->set_set_by(room.topic_set_by);
      break;
    }
    case msg::RoomQuery::Kind::kHistory:
      reply_history(room, q);
      return;
  }
  router_.to_session(q.session, common::make_shared_frame(frame));
}

void RoomShard::reply_history(const Room& room, const msg::RoomQuery& q) {
  v1::ServerFrame frame;
  frame.set_request_id(q.request_id);
  auto* reply = frame.mutable_history();
  reply->set_room(room.name);
  reply->set_last_seq(room.last_seq);
  if (!room.history.empty()) {
    const std::uint64_t first = room.last_seq - room.history.size() + 1;
    reply->set_first_available_seq(first);
    const std::uint64_t page = std::clamp<std::uint64_t>(
        q.limit == 0 ? config_.max_history_page : q.limit, 1, config_.max_history_page);
    std::uint64_t lo;
    std::uint64_t hi;
    if (q.has_after) {
      // Nothing after the newest (and after_seq + 1 must not wrap round).
      lo = q.after_seq >= room.last_seq ? room.last_seq + 1 : std::max(q.after_seq + 1, first);
      hi = std::min(room.last_seq, lo + page - 1);
    } else {
      hi = (q.before_seq == 0) ? room.last_seq : std::min(room.last_seq, q.before_seq - 1);
      lo = (hi + 1 > first + page) ? hi + 1 - page : first;
    }
    for (std::uint64_t seq = lo; seq <= hi && seq >= first; ++seq) {
      *reply->add_messages() = room.history[seq - first];
    }
  }
  router_.to_session(q.session, common::make_shared_frame(frame));
}

std::vector<v1::RoomInfo> RoomShard::list() const {
  std::vector<v1::RoomInfo> out;
  out.reserve(rooms_.size());
  for (const auto& [name, room] : rooms_) {
    v1::RoomInfo info;
    info.set_name(name);
    info.set_member_count(static_cast<std::uint32_t>(room.members.size()));
    info.set_topic(room.topic);
    info.set_last_seq(room.last_seq);
    out.push_back(std::move(info));
  }
  return out;
}

void RoomShard::broadcast(const Room& room, const SharedFrame& frame, SessionId sender,
                          const SharedFrame& sender_frame) {
  const std::uint32_t sender_reactor = sender != 0 ? reactor_of(sender) : ~0u;
  for (std::uint32_t r = 0; r < room.members_per_reactor.size(); ++r) {
    if (room.members_per_reactor[r] == 0) continue;
    if (r == sender_reactor) {
      router_.send(r, msg::Deliver{room.name, frame, sender, sender_frame});
    } else {
      router_.send(r, msg::Deliver{room.name, frame, 0, nullptr});
    }
  }
}

void RoomShard::broadcast_presence(const Room& room, const std::string& nick,
                                   v1::Presence::Kind kind, v1::Presence::Reason reason,
                                   const std::string& old_nick) {
  v1::ServerFrame frame;
  auto* presence = frame.mutable_presence();
  presence->set_room(room.name);
  presence->set_nick(nick);
  presence->set_kind(kind);
  presence->set_reason(reason);
  presence->set_timestamp_ms(now_ms());
  presence->set_old_nick(old_nick);
  broadcast(room, common::make_shared_frame(frame));
}

std::vector<std::string> RoomShard::sorted_nicks(const Room& room) const {
  std::vector<std::string> nicks;
  nicks.reserve(room.members.size());
  for (const auto& [session, nick] : room.members) nicks.push_back(nick);
  std::sort(nicks.begin(), nicks.end());
  return nicks;
}

}  // namespace chat::server
