#pragma once
// The rooms owned by one reactor: those with stable_hash(room) % N == index.
// For each: the gapless sequence counter, the history ring, the members and
// how many sit on each reactor, the topic. An empty room is kept for its
// history until its slot is needed: at the cap, a new room replaces the room
// that has been empty longest.
// Thread safety: reactor-confined (its owner reactor's thread only).

#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/config.hpp"
#include "server/messages.hpp"

namespace chat::server {

class RoomShard {
 public:
  RoomShard(const Config& config, Router& router);

  void on(msg::Join&& m);
  void on(msg::Leave&& m);
  void on(msg::Publish&& m);
  void on(msg::Rename&& m);
  void on(msg::RoomQuery&& m);
  std::vector<v1::RoomInfo> list() const;

  std::size_t room_count() const { return rooms_.size(); }
  // Empty rooms dropped so far to make way for new ones.
  std::uint64_t reclaimed_count() const { return reclaimed_; }
  // The most rooms this shard holds: its share, rounded up, of max_rooms.
  std::size_t room_cap() const;

 private:
  struct Room {
    std::string name;
    std::string topic;
    std::string topic_set_by;
    std::uint64_t last_seq = 0;
    // Messages last_seq - history.size() + 1 .. last_seq, oldest first.
    std::deque<v1::RoomMessage> history;
    std::unordered_map<SessionId, std::string> members;  // session -> nick
    std::vector<std::uint32_t> members_per_reactor;
    std::uint64_t incarnation = 0;  // new each time the name is created
    // While the room is empty: its place in empty_.
    std::optional<std::list<std::string>::iterator> empty_since;
  };

  // Drops the room that has been empty longest; false if none is empty.
  bool reclaim_one();

  // Sends `frame` once to every reactor with members in `room`.
  void broadcast(const Room& room, const SharedFrame& frame, SessionId sender = 0,
                 const SharedFrame& sender_frame = nullptr);
  void broadcast_presence(const Room& room, const std::string& nick, v1::Presence::Kind kind,
                          v1::Presence::Reason reason, const std::string& old_nick = {});
  void reply_history(const Room& room, const msg::RoomQuery& q);
  std::vector<std::string> sorted_nicks(const Room& room) const;

  const Config& config_;
  Router& router_;
  std::unordered_map<std::string, Room> rooms_;
  std::list<std::string> empty_;  // rooms with no members, longest empty first
  std::uint64_t next_incarnation_ = 1;
  std::uint64_t reclaimed_ = 0;
};

}  // namespace chat::server
