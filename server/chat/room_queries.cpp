// RoomShard's read side and the topic: who, get and set topic, history pages.
// A private room (RoomState::is_private) answers its members only.
#include <algorithm>

#include "server/chat/room_shard.hpp"

namespace chat::server {

void RoomShard::on(msg::RoomQuery&& q) {
  router_.assert_owner();
  auto it = rooms_.find(q.room);
  if (it == rooms_.end() && cluster_ != nullptr && q.kind == msg::RoomQuery::Kind::kWho) {
    // Cluster mode: a room with members only on other nodes is known to
    // Redis. Its keepers are per node, so a private room there is not
    // private here (ARCHITECTURE.md, cluster mode).
    const std::size_t limit = std::clamp<std::size_t>(q.limit == 0 ? kMaxWhoPage : q.limit, 1, kMaxWhoPage);
    cluster_->who(q.room, q.cursor, limit, config_.max_reply_bytes, q.session, q.request_id);
    return;
  }
  if (it == rooms_.end()) {
    router_.error_to_session(q.session, v1::Error::CODE_NO_SUCH_ROOM, "no such room: " + q.room, q.request_id);
    return;
  }
  RoomState& room = it->second;
  // Issue 13: an invite-only, keyed or secret room is read by its members.
  if (room.is_private() && !room.members.contains(q.session)) {
    router_.error_to_session(q.session, v1::Error::CODE_NOT_A_MEMBER, room.name + " is for its members only",
                             q.request_id);
    return;
  }
  v1::ServerFrame frame;
  frame.set_request_id(q.request_id);
  switch (q.kind) {
    case msg::RoomQuery::Kind::kWho: {
      auto* who = frame.mutable_who();
      who->set_room(room.name);
      who->set_member_count(static_cast<std::uint32_t>(room.member_count()));
      who->set_next_cursor(members_page(room, q.cursor, q.limit, *who->mutable_nicks()));
      break;
    }
    case msg::RoomQuery::Kind::kSetTopic:
      set_topic(room, q);
      return;
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

void RoomShard::set_topic(RoomState& room, const msg::RoomQuery& q) {
  if (member_room(room.name, q.session, q.request_id) == nullptr) return;
  if (room.settings.modes().topic_lock() && room.members.at(q.session).role < v1::ROLE_OP) {
    router_.error_to_session(q.session, v1::Error::CODE_NOT_AN_OP,
                             "the topic of " + room.name + " is locked: only its ops set it", q.request_id);
    return;
  }
  change_topic(room, q.topic, q.nick);
  if (cluster_ != nullptr) cluster_->topic(room.name, room.topic, room.topic_set_by);

  v1::ServerFrame reply;
  reply.set_request_id(q.request_id);
  auto* topic = reply.mutable_topic();
  topic->set_room(room.name);
  topic->set_topic(room.topic);
  topic->set_set_by(room.topic_set_by);
  router_.to_session(q.session, common::make_shared_frame(reply));
}

void RoomShard::change_topic(RoomState& room, const std::string& topic, const std::string& set_by) {
  room.topic = topic;
  room.topic_set_by = set_by;
  store_.set_topic(room.name, room.topic, room.topic_set_by);
  v1::ServerFrame event;
  auto* changed = event.mutable_topic_changed();
  changed->set_room(room.name);
  changed->set_topic(room.topic);
  changed->set_set_by(room.topic_set_by);
  fan_out_.broadcast(room, common::make_shared_frame(event));
}

void RoomShard::reply_history(const RoomState& room, const msg::RoomQuery& q) {
  v1::ServerFrame frame;
  frame.set_request_id(q.request_id);
  auto* reply = frame.mutable_history();
  reply->set_room(room.name);
  const std::uint64_t last = room.delivered_seq;  // nothing members have not been sent
  reply->set_last_seq(last);
  const std::uint64_t held = store_.first_seq(room.name);
  // Cluster mode: Redis's stream goes further back than this node's ring.
  const std::uint64_t first = cluster_ == nullptr ? held
                              : room.stream_first != 0 ? std::min(room.stream_first, held == 0 ? last : held)
                              : last != 0              ? 1
                                                       : held;
  if (first != 0) {
    reply->set_first_available_seq(first);
    const std::uint64_t page = std::clamp<std::uint64_t>(q.limit == 0 ? config_.max_history_page : q.limit, 1,
                                                         config_.max_history_page);
    std::uint64_t lo;
    std::uint64_t hi;
    if (q.has_after) {
      // Nothing after the newest (and after_seq + 1 must not wrap round).
      lo = q.after_seq >= last ? last + 1 : std::max(q.after_seq + 1, first);
      hi = std::min(last, lo + page - 1);
    } else {
      hi = (q.before_seq == 0) ? last : std::min(last, q.before_seq - 1);
      lo = (hi + 1 > first + page) ? hi + 1 - page : first;
    }
    if (lo <= hi && cluster_ != nullptr && (held == 0 || lo < held)) {
      cluster_->history(room.name, room.incarnation, lo, hi, q.identity, !q.has_after, config_.max_reply_bytes,
                        std::move(frame), q.session);
      return;
    }
    if (lo <= hi && !store_.read(room.name, lo, hi, q.identity, *reply->mutable_messages())) {
      reply->clear_messages();
      const auto fill = q.has_after ? HistoryStore::Fill::kHistory : HistoryStore::Fill::kHistoryNewest;
      store_.read_later(room.name, lo, hi, q.identity, fill, std::move(frame), q.session);
      return;
    }
    if (trim_page(*reply->mutable_messages(), config_.max_reply_bytes, !q.has_after)) reply->set_truncated(true);
  }
  router_.to_session(q.session, common::make_shared_frame(frame), true);
}

}  // namespace chat::server
