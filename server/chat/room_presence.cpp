// RoomShard's presence in big rooms (issue 15) and the pages of members.
//
// In a room of n members, a Presence per join costs every member a frame:
// n joins cost n^2/2 deliveries, and a join reply that lists everyone grows
// with the room. So, as Discord and Slack do in large rooms, a room of
// presence_full_below members or more notes its changes instead and sends
// them as one PresenceDelta at most once a second, with exact counts and at
// most 2 KiB of nicks in each list; its join reply carries the count and a
// first page of members, and who pages on from there.
#include <algorithm>
#include <limits>

#include "server/chat/frames.hpp"
#include "server/chat/room_shard.hpp"

namespace chat::server {

namespace {

constexpr std::int64_t kDeltaIntervalMs = 1000;
constexpr std::size_t kDeltaListBytes = 2048;

bool has_nick(const RoomState& room, const std::string& nick) {
  auto it = room.roster.lower_bound({nick, 0});
  if (it != room.roster.end() && it->first == nick) return true;
  auto elsewhere = room.remote.lower_bound({nick, {}});  // cluster mode
  return elsewhere != room.remote.end() && elsewhere->first == nick;
}

// Adds `nick` to `list` while the list holds under kDeltaListBytes.
void add_capped(google::protobuf::RepeatedPtrField<std::string>& list, std::size_t& bytes, const std::string& nick) {
  const std::size_t cost = nick.size() + 2;  // the tag and length bytes of a short string
  if (bytes + cost > kDeltaListBytes) return;
  bytes += cost;
  *list.Add() = nick;
}

}  // namespace

bool RoomShard::presence_one_by_one(RoomState& room, const std::string& nick) {
  if (room.member_count() < config_.presence_full_below) {
    // Whatever is still noted goes first, so members see the changes in order.
    if (!room.presence_changes.empty()) send_delta(room, now_ms());
    return true;
  }
  room.presence_changes.try_emplace(nick, has_nick(room, nick));
  if (!room.delta_queued) {
    room.delta_queued = true;
    delta_due_.push_back(room.name);
  }
  return false;
}

void RoomShard::send_delta(RoomState& room, std::int64_t now) {
  v1::ServerFrame frame;
  auto* delta = frame.mutable_presence_delta();
  std::size_t joined_bytes = 0;
  std::size_t left_bytes = 0;
  std::uint32_t joined = 0;
  std::uint32_t left = 0;
  for (const auto& [nick, was_member] : room.presence_changes) {
    const bool is_member = has_nick(room, nick);
    if (is_member == was_member) continue;  // came and went, or went and came back
    if (is_member) {
      ++joined;
      add_capped(*delta->mutable_joined(), joined_bytes, nick);
    } else {
      ++left;
      add_capped(*delta->mutable_left(), left_bytes, nick);
    }
  }
  room.presence_changes.clear();
  if (joined + left == 0) return;
  delta->set_room(room.name);
  delta->set_member_count(static_cast<std::uint32_t>(room.member_count()));
  delta->set_joined_count(joined);
  delta->set_left_count(left);
  delta->set_timestamp_ms(now);
  room.last_delta_ms = now;
  fan_out_.broadcast(room, common::make_shared_frame(frame));
}

void RoomShard::flush_presence(std::int64_t now) {
  router_.assert_owner();
  std::vector<std::string> later;
  for (std::string& name : delta_due_) {
    auto it = rooms_.find(name);
    if (it == rooms_.end()) continue;  // gone since
    RoomState& room = it->second;
    if (room.presence_changes.empty()) {
      room.delta_queued = false;  // sent already, before a Presence of its own
    } else if (now - room.last_delta_ms >= kDeltaIntervalMs) {
      room.delta_queued = false;
      send_delta(room, now);
    } else {
      later.push_back(std::move(name));
    }
  }
  delta_due_ = std::move(later);
}

std::string RoomShard::members_page(const RoomState& room, const std::string& cursor, std::size_t limit,
                                    google::protobuf::RepeatedPtrField<std::string>& nicks) const {
  limit = std::clamp<std::size_t>(limit == 0 ? kMaxWhoPage : limit, 1, kMaxWhoPage);
  // The members here and, in cluster mode, those on other nodes, merged in
  // nick order ('\0' sorts before any nick's next character).
  auto here = cursor.empty() ? room.roster.begin()
                             : room.roster.upper_bound({cursor, std::numeric_limits<SessionId>::max()});
  auto elsewhere = cursor.empty() ? room.remote.begin() : room.remote.lower_bound({cursor + '\0', {}});
  std::size_t bytes = 0;
  while (here != room.roster.end() || elsewhere != room.remote.end()) {
    const bool from_here =
        elsewhere == room.remote.end() || (here != room.roster.end() && here->first <= elsewhere->first);
    const std::string& nick = from_here ? here->first : elsewhere->first;
    // The cursor is a nick, so sessions that share one (a rename race) stay
    // on one page.
    const bool same_nick = !nicks.empty() && nicks[nicks.size() - 1] == nick;
    if (!same_nick && (static_cast<std::size_t>(nicks.size()) >= limit ||
                       bytes + nick.size() + 2 > config_.max_reply_bytes)) {
      break;
    }
    bytes += nick.size() + 2;
    *nicks.Add() = nick;
    if (from_here) {
      ++here;
    } else {
      ++elsewhere;
    }
  }
  if (here == room.roster.end() && elsewhere == room.remote.end()) return {};
  return nicks.empty() ? cursor : nicks[nicks.size() - 1];
}

}  // namespace chat::server
