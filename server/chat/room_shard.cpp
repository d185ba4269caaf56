#include "server/chat/room_shard.hpp"

#include <algorithm>
#include <utility>

namespace chat::server {

RoomShard::RoomShard(const Config& config, Router& router, HistoryStore& store, FanOut& fan_out,
                     Sequencer& sequencer, ReactorMetrics& metrics, RoomLink* cluster)
    : config_(config), router_(router), store_(store), fan_out_(fan_out), sequencer_(sequencer),
      metrics_(metrics), cluster_(cluster) {
  for (StoredRoom& stored : store_.load()) {
    sequencer_.remember(stored.name, stored.recent_sends);
    RoomState& room = restore(std::move(stored));
    room.empty_since = empty_.insert(empty_.end(), room.name);
  }
  count_rooms();
}

RoomState& RoomShard::restore(StoredRoom stored) {
  RoomState& room = rooms_[stored.name];
  room.name = std::move(stored.name);
  room.incarnation = stored.incarnation;
  room.topic = std::move(stored.topic);
  room.topic_set_by = std::move(stored.topic_set_by);
  room.last_seq = stored.last_seq;
  room.delivered_seq = stored.last_seq;
  if (!room.settings.ParseFromString(stored.settings)) room.settings.Clear();
  room.members_per_reactor.assign(router_.reactor_count(), 0);
  return room;
}

bool RoomShard::all_delivered() const {
  return std::all_of(rooms_.begin(), rooms_.end(), [](const auto& r) { return r.second.pending.empty(); });
}

std::size_t RoomShard::room_cap() const {
  const std::size_t shards = router_.reactor_count();
  return (config_.max_rooms + shards - 1) / shards;
}

void RoomShard::count_rooms() { ReactorMetrics::set(metrics_.rooms, rooms_.size()); }

void RoomShard::refuse_join(const msg::Join& m, v1::Error::Code code, const std::string& text,
                            std::uint32_t retry_after_ms) {
  router_.send(reactor_of(m.session),
               msg::JoinRefused{m.room, m.session, m.join, code, error_frame(code, text, m.request_id, retry_after_ms),
                                m.create_limit == msg::Join::CreateLimit::kNone});
}

void RoomShard::refuse(const msg::Join& m, v1::Error::Code code, const std::string& why, std::uint32_t retry_after_ms) {
  refuse_join(m, code, "cannot create " + m.room + ": " + why + "; rooms that exist can still be joined",
              retry_after_ms);
}

RoomState* RoomShard::find_or_create(const msg::Join& m, bool& created, bool& fresh) {
  auto it = rooms_.find(m.room);
  if (it != rooms_.end()) return &it->second;
  if (!may_create(m)) return nullptr;
  // Each shard keeps to its own share of the cap, so the check needs no word
  // from the other reactors. Joining a room that exists is always fine.
  if (rooms_.size() >= room_cap() && !reclaim_one()) {
    refuse(m, v1::Error::CODE_TOO_MANY_ROOMS, "the server holds its most rooms, all in use");
    return nullptr;
  }
  created = true;
  RoomState* room = nullptr;
  if (auto stored = store_.find(m.room)) {
    room = &restore(std::move(*stored));  // its slot was reclaimed; its history was kept
  } else {
    room = &rooms_[m.room];
    room->name = m.room;
    room->members_per_reactor.assign(router_.reactor_count(), 0);
    room->incarnation = store_.create(m.room);
    fresh = true;
  }
  count_rooms();
  return room;
}

void RoomShard::on(msg::Join&& m) {
  router_.assert_owner();
  if (!cluster_admits(m)) return;
  bool created = false;
  bool fresh = false;
  RoomState* room = find_or_create(m, created, fresh);
  if (room == nullptr) return;
  if (cluster_ != nullptr && !room->live) go_live(*room);
  if (room->members.contains(m.session)) {
    router_.error_to_session(m.session, v1::Error::CODE_ALREADY_A_MEMBER,
                             "already a member of " + m.room, m.request_id);
    return;
  }
  // A room no account founded has no keeper once it empties: like an IRC
  // channel without services, its next joiner founds it afresh.
  if (!fresh && room->members.empty() && room->settings.founder().empty()) fresh = refound(*room);
  if (!fresh && !admit(*room, m)) {
    // A room restored for this join and refused waits, empty, like any other.
    if (room->members.empty() && !room->empty_since) room->empty_since = empty_.insert(empty_.end(), room->name);
    return;
  }
  const bool one_by_one = presence_one_by_one(*room, m.nick);
  const v1::Role role = joiner_role(*room, m, fresh);
  room->members.emplace(m.session, Member{m.nick, m.account, m.address, m.join, role});
  room->roster.emplace(m.nick, m.session);
  ++room->members_per_reactor[reactor_of(m.session)];
  count_address(*room, m.address, +1);
  if (room->empty_since) {
    empty_.erase(*room->empty_since);
    room->empty_since.reset();
  }
  // Joined travels the same FIFO as every later Deliver to that reactor, so
  // the joiner sees each message sequenced after last_seq exactly once.
  router_.send(reactor_of(m.session), msg::Joined{room->name, m.session, join_reply(*room, role, m.identity, m.request_id),
                                                  m.join, m.create_limit == msg::Join::CreateLimit::kNone, created});
  if (one_by_one) fan_out_.presence(*room, m.nick, v1::Presence::KIND_JOINED, v1::Presence::REASON_UNSPECIFIED);
  tell_cluster(*room, v1::Presence::KIND_JOINED, v1::Presence::REASON_UNSPECIFIED, m.session, m.nick);
}

SharedFrame RoomShard::join_reply(const RoomState& room, v1::Role role, const std::string& identity,
                                  std::uint64_t request_id) const {
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  auto* reply = frame.mutable_join();
  reply->set_room(room.name);
  reply->set_role(role);
  reply->set_topic(room.topic);
  // All members of a room that announces each join; a first page in a big one.
  reply->set_member_count(static_cast<std::uint32_t>(room.member_count()));
  reply->set_members_next_cursor(
      members_page(room, {}, std::max<std::size_t>(config_.presence_full_below, 1), *reply->mutable_members()));
  // What members have been sent: a message still waiting for the store
  // reaches the joiner as a Deliver, like every other member.
  const std::uint64_t last = room.delivered_seq;
  if (config_.replay_on_join > 0 && last > 0) {
    const std::uint64_t lo = std::max(last > config_.replay_on_join ? last - config_.replay_on_join + 1 : 1,
                                      store_.first_seq(room.name));
    // Only what is at hand: a replay never waits; the client pages the rest.
    store_.read(room.name, lo, last, identity, *reply->mutable_recent());
    if (trim_page(*reply->mutable_recent(), config_.max_reply_bytes, true)) reply->set_recent_truncated(true);
  }
  reply->set_last_seq(last);
  reply->set_incarnation(room.incarnation);
  *reply->mutable_modes() = room.settings.modes();
  return common::make_shared_frame(frame);
}

void RoomShard::on(msg::Leave&& m) {
  router_.assert_owner();
  auto it = rooms_.find(m.room);
  const bool asked = m.reason == v1::Presence::REASON_UNSPECIFIED;
  if (it == rooms_.end() || !it->second.members.contains(m.session)) {
    if (asked) {
      router_.error_to_session(m.session, v1::Error::CODE_NOT_A_MEMBER, "not a member of " + m.room,
                               m.request_id);
    }
    return;
  }
  RoomState& room = it->second;
  if (asked) {
    v1::ServerFrame frame;
    frame.set_request_id(m.request_id);
    frame.mutable_leave()->set_room(room.name);
    router_.to_session(m.session, common::make_shared_frame(frame));
  }
  remove_member(room, room.members.find(m.session), asked ? v1::Presence::KIND_LEFT : v1::Presence::KIND_QUIT,
                m.reason);
}

bool RoomShard::remove_member(RoomState& room, std::unordered_map<SessionId, Member>::iterator member,
                              v1::Presence::Kind kind, v1::Presence::Reason reason) {
  const SessionId session = member->first;
  const std::string nick = std::move(member->second.nick);  // as the room knows it
  const std::string address = std::move(member->second.address);
  const bool one_by_one = presence_one_by_one(room, nick);
  room.roster.erase({nick, session});
  room.members.erase(member);
  --room.members_per_reactor[reactor_of(session)];
  count_address(room, address, -1);
  if (one_by_one) fan_out_.presence(room, nick, kind, reason);
  tell_cluster(room, kind, reason, session, nick);
  if (!room.members.empty()) return false;
  if (cluster_ != nullptr) {
    unwatch(room);
    return true;
  }
  if (room.last_seq != 0 || !room.topic.empty() ||
      room.settings.ByteSizeLong() != 0) {
    room.empty_since = empty_.insert(empty_.end(), room.name);
    return false;
  }
  store_.evict(room.name);
  rooms_.erase(room.name);  // a room that never held a message, a topic or settings leaves no trace
  count_rooms();
  return true;
}

bool RoomShard::reclaim_one() {
  if (empty_.empty()) return false;
  store_.evict(empty_.front());
  rooms_.erase(empty_.front());
  empty_.pop_front();
  ReactorMetrics::bump(metrics_.rooms_reclaimed);
  return true;
}

RoomState* RoomShard::member_room(const std::string& room, SessionId session, std::uint64_t request_id) {
  auto it = rooms_.find(room);
  if (it != rooms_.end() && it->second.members.contains(session)) return &it->second;
  router_.error_to_session(session, v1::Error::CODE_NOT_A_MEMBER, "not a member of " + room, request_id);
  return nullptr;
}

void RoomShard::on(msg::Publish&& m) {
  router_.assert_owner();
  ReactorMetrics::bump(metrics_.messages_published);
  RoomState* room = member_room(m.room, m.session, m.request_id);
  if (room == nullptr) return;
  if (room->settings.modes().moderated() && room->members.at(m.session).role < v1::ROLE_VOICED) {
    router_.error_to_session(m.session, v1::Error::CODE_NOT_VOICED,
                             room->name + " is moderated: only voiced members speak", m.request_id);
    return;
  }
  sequencer_.publish(*room, std::move(m));
}

void RoomShard::on(msg::Durable&& m) {
  router_.assert_owner();
  store_.on_durable(m.room, m.seq);
  auto it = rooms_.find(m.room);
  if (it != rooms_.end()) sequencer_.on_durable(it->second, m.seq);
}

void RoomShard::on(msg::Retained&& m) {
  router_.assert_owner();
  store_.on_retained(m.room, m.first_seq);
}

void RoomShard::on(const msg::StoreHealth& m) {
  router_.assert_owner();
  sequencer_.on_store_health(m);
}

void RoomShard::on(msg::Rename&& m) {
  router_.assert_owner();
  auto it = rooms_.find(m.room);
  if (it == rooms_.end()) return;  // its join was refused, or it has left
  RoomState& room = it->second;
  auto member = room.members.find(m.session);
  if (member == room.members.end()) return;
  const std::string old_nick = std::exchange(member->second.nick, m.nick);
  // In a big room a rename is its old nick leaving and its new one joining.
  const bool one_by_one = presence_one_by_one(room, old_nick);
  if (!one_by_one) presence_one_by_one(room, m.nick);
  room.roster.erase({old_nick, m.session});
  room.roster.emplace(m.nick, m.session);
  if (one_by_one) fan_out_.presence(room, m.nick, v1::Presence::KIND_RENAMED, v1::Presence::REASON_UNSPECIFIED, old_nick);
  tell_cluster(room, v1::Presence::KIND_RENAMED, v1::Presence::REASON_UNSPECIFIED, m.session, m.nick, old_nick);
}

std::vector<v1::RoomInfo> RoomShard::list(const std::string& cursor, std::size_t limit, bool& more,
                                          std::vector<std::string>* hidden) const {
  router_.assert_owner();
  std::vector<const RoomState*> after;
  for (const auto& [name, room] : rooms_) {
    if (name <= cursor) continue;
    if (!room.settings.modes().secret()) {
      after.push_back(&room);
    } else if (hidden != nullptr) {
      hidden->push_back(name);
    }
  }
  const std::size_t n = std::min(limit, after.size());
  more = after.size() > n;
  auto by_name = [](const RoomState* a, const RoomState* b) { return a->name < b->name; };
  std::partial_sort(after.begin(), after.begin() + static_cast<std::ptrdiff_t>(n), after.end(), by_name);
  std::vector<v1::RoomInfo> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const RoomState& room = *after[i];
    v1::RoomInfo info;
    info.set_name(room.name);
    info.set_member_count(static_cast<std::uint32_t>(room.member_count()));
    if (!room.is_private()) info.set_topic(room.topic);
    info.set_last_seq(room.delivered_seq);
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace chat::server
