#pragma once
// The rooms owned by one reactor: those with stable_hash(room) % N == index.
// It admits and removes members, answers who, topic and history, and hands
// each say to the sequencer (sequencer.hpp), which numbers, stores and fans
// it out. An empty room is kept for its history until its slot is needed:
// at the cap, a new room replaces the room that has been empty longest.
// Thread safety: reactor-confined (its owner reactor's thread only).

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/app/config.hpp"
#include "server/chat/fan_out.hpp"
#include "server/chat/room_state.hpp"
#include "server/chat/room_link.hpp"
#include "server/chat/router.hpp"
#include "server/chat/sequencer.hpp"
#include "server/ops/metrics.hpp"
#include "server/store/history_store.hpp"

namespace chat::server {

class RoomShard {
 public:
  // Loads the rooms `store` holds. `sequencer` publishes through `fan_out`.
  // `cluster`: in cluster mode, the link to the other nodes' rooms.
  RoomShard(const Config& config, Router& router, HistoryStore& store, FanOut& fan_out,
            Sequencer& sequencer, ReactorMetrics& metrics, RoomLink* cluster = nullptr);

  void on(msg::Join&& m);
  void on(msg::Leave&& m);
  void on(msg::Publish&& m);
  void on(msg::Rename&& m);
  void on(msg::Durable&& m);
  void on(msg::Retained&& m);
  void on(const msg::StoreHealth& m);
  void on(msg::RoomQuery&& q);
  void on(msg::Moderate&& m);  // room_keepers.cpp
  // Cluster mode (room_cluster.cpp).
  void on(msg::ClusterReady&& m);
  void on(msg::ClusterDeliver&& m);
  void on(msg::ClusterRange&& m);
  void on(msg::ClusterPresence&& m);
  void on(msg::ClusterTopic&& m);
  // The first `limit` rooms named after `cursor`, in name order; `more`:
  // whether rooms are left after them; `hidden` (if given): the secret
  // rooms named after `cursor`, which are not listed.
  std::vector<v1::RoomInfo> list(const std::string& cursor, std::size_t limit, bool& more,
                                 std::vector<std::string>* hidden = nullptr) const;

  // Sends each room's PresenceDelta that is due (room_presence.cpp); on the
  // reactor's tick.
  void flush_presence(std::int64_t now_ms);

  std::size_t room_count() const { return rooms_.size(); }
  // Whether every message sequenced here has been delivered (none waits
  // for the store).
  bool all_delivered() const;
  // The most rooms this shard holds: its share, rounded up, of max_rooms.
  std::size_t room_cap() const;

 private:
  // The room named in `m`, created if need be (then `created` is set); null
  // (and the joiner told) when the shard is full of rooms in use, or a
  // creation limit refuses the joiner a new room.
  // `fresh`: made new, not restored from the store.
  RoomState* find_or_create(const msg::Join& m, bool& created, bool& fresh);
  // The join is refused: the joiner is told `text`.
  void refuse_join(const msg::Join& m, v1::Error::Code code, const std::string& text, std::uint32_t retry_after_ms = 0);
  // Refuses a join that would create a room, saying why.
  void refuse(const msg::Join& m, v1::Error::Code code, const std::string& why, std::uint32_t retry_after_ms = 0);
  // Takes `member` out of `room` and tells the room; an emptied room is
  // dropped or kept for its history. True if it was dropped.
  bool remove_member(RoomState& room, std::unordered_map<SessionId, Member>::iterator member,
                     v1::Presence::Kind kind, v1::Presence::Reason reason);

  // Cluster mode (room_cluster.cpp). Whether `m` may go on now: true in a
  // single node or for a live room; else it waits for the room's
  // ClusterReady (the first to wait asks for it).
  bool cluster_admits(msg::Join& m);
  // After find_or_create in cluster mode: the room takes what its ready
  // said (numbering, newest says) and is live.
  void go_live(RoomState& room);
  // The room's last member here left: stop watching it, and forget it (its
  // history is Redis's).
  void unwatch(RoomState& room);
  void deliver(RoomState& room, const cluster::Published& p);
  // Delivers what waits in `ahead` from delivered_seq + 1 on, and asks for
  // the next gap if one is left.
  void drain_ahead(RoomState& room);
  void new_epoch(RoomState& room, std::uint64_t epoch);
  // Presence across nodes. A member here changed: the cluster is told (a
  // single node has nobody to tell).
  void tell_cluster(const RoomState& room, v1::Presence::Kind kind, v1::Presence::Reason reason, SessionId session,
                    const std::string& nick, const std::string& old_nick = {});
  // A member elsewhere changed: the mirror follows, and the members here
  // hear of it as of a change here. Nothing if it changes nothing.
  void remote_change(RoomState& room, const cluster::MemberChange& change);
  // Subscribed: the members elsewhere become `members`' (the changes told
  // here if `announce`), and Redis is set right about the members here.
  void resync_members(RoomState& room, const std::vector<cluster::Member>& members, bool announce);

  // Issue 13, the room's keepers (room_keepers.cpp).
  // Whether the joiner passes the room's bans and modes (told why if not).
  bool admit(RoomState& room, const msg::Join& m);
  // The joiner's role; the first joiner of a `fresh` room founds it.
  v1::Role joiner_role(RoomState& room, const msg::Join& m, bool fresh);
  // Clears a founderless empty room's modes, bans and roles; returns true.
  bool refound(RoomState& room);
  static v1::Role kept_role(const RoomState& room, const std::string& account);
  void keep_settings(RoomState& room);
  void kick(RoomState& room, const Member& op, const msg::Moderate& m);
  void ban(RoomState& room, const Member& op, const msg::Moderate& m);
  void unban(RoomState& room, const Member& op, const msg::Moderate& m);
  void invite(RoomState& room, const Member& op, const msg::Moderate& m);
  void set_modes(RoomState& room, const Member& op, const msg::Moderate& m);
  void set_role(RoomState& room, const Member& op, const msg::Moderate& m);
  void reply_modes(const RoomState& room, const Member* asker, const msg::Moderate& m);
  static v1::Moderation moderation(const RoomState& room, v1::Moderation::Action action, const Member& op,
                                   const std::string& target);
  // To the room, and as the ack to the op.
  void announce(const RoomState& room, const v1::Moderation& event, const msg::Moderate& m);
  static std::vector<SessionId> sessions_named(const RoomState& room, const std::string& nick);
  // Whether `op` is above each of `targets` (if not, it is told).
  bool outranks(const RoomState& room, const Member& op, const std::vector<SessionId>& targets,
                const msg::Moderate& m);
  // Removes `targets` from `room` (kicked or banned) and tells their sessions.
  void expel(RoomState& room, const std::vector<SessionId>& targets, v1::Presence::Reason reason);
  // Issue 12 (room_slots.cpp): whether the joiner may create a room here,
  // by its creation budgets and the rooms its address holds alone; if not,
  // it is told why.
  bool may_create(const msg::Join& m);
  // A member from `address` joined (+1) or left (-1) `room`: keeps the
  // count of rooms each address holds alone (every member from it).
  void count_address(RoomState& room, const std::string& address, int delta);
  std::size_t address_share() const;
  // Drops the room that has been empty longest; false if none is empty.
  bool reclaim_one();
  RoomState& restore(StoredRoom stored);
  SharedFrame join_reply(const RoomState& room, v1::Role role, const std::string& identity,
                         std::uint64_t request_id) const;
  void set_topic(RoomState& room, const msg::RoomQuery& q);
  // The topic is now `topic`: kept, and the members told.
  void change_topic(RoomState& room, const std::string& topic, const std::string& set_by);
  void reply_history(const RoomState& room, const msg::RoomQuery& q);
  // A member of `room`, or null after telling `session` it is not one.
  RoomState* member_room(const std::string& room, SessionId session, std::uint64_t request_id);
  // Issue 15 (room_presence.cpp). Called before `nick`'s membership of
  // `room` changes: true if the change goes out as a Presence of its own
  // (any delta still waiting is sent first); false if it was noted for the
  // room's next PresenceDelta.
  bool presence_one_by_one(RoomState& room, const std::string& nick);
  void send_delta(RoomState& room, std::int64_t now_ms);
  // One page of `room`'s members in nick order, after `cursor` (empty: from
  // the first): at most `limit` nicks and max_reply_bytes of them. Returns
  // the next page's cursor, empty after the last page.
  std::string members_page(const RoomState& room, const std::string& cursor, std::size_t limit,
                           google::protobuf::RepeatedPtrField<std::string>& nicks) const;
  void count_rooms();

  const Config& config_;
  Router& router_;
  HistoryStore& store_;
  FanOut& fan_out_;
  Sequencer& sequencer_;
  ReactorMetrics& metrics_;
  std::unordered_map<std::string, RoomState> rooms_;
  std::list<std::string> empty_;  // rooms with no members, longest empty first
  std::unordered_map<std::string, std::size_t> held_alone_;  // address -> rooms here all of whose members are from it
  std::vector<std::string> delta_due_;  // rooms with presence changes not yet sent
  RoomLink* cluster_;
  // Cluster mode: joins waiting for their room's ClusterReady; and a ready
  // that has come, until its room is made.
  std::unordered_map<std::string, std::vector<msg::Join>> watching_;
  std::unordered_map<std::string, msg::ClusterReady> ready_;
};

}  // namespace chat::server
