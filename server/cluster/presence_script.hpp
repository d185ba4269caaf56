#pragma once
// Cluster mode (issue 11): who is in each room, across the nodes, kept in
// Redis by the functions of the chat library (room_script.hpp) that this
// file adds.
//
//   chat:{#room}:members   sorted set (score 0) of "<nick>\x1f<node>:<session>",
//                          so ZRANGEBYLEX pages it in nick order
//   chat:node:{N}:members  set of "<room>\x1f<nick>\x1f<node>:<session>": what
//                          node N holds, to forget when it goes
//   chat:node:{N}:alive    node N's liveness, refreshed every 5 s, 15 s life
//   chat:nodes, chat:rooms the nodes that have said they live; the rooms with
//                          a member anywhere (sorted set, for list_rooms)
//   chat:hidden            rooms private on some node: listed by none, and
//                          who from Redis is refused for them
//
// chat_member adds or removes one member and, only if that changed the set,
// publishes the change on the room's channel, in the room's order with its
// says: a node mirrors the members elsewhere from a snapshot read after it
// subscribed (ZRANGE) and the changes after it, and applying a change twice
// is harmless. chat_alive refreshes a node's liveness and forgets every
// node whose liveness ran out (a kill -9), publishing each of its members
// as gone; a node starting or stopping cleanly forgets its own at once.
// Thread safety: pure functions.

#include <hiredis/hiredis.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/cluster/cluster_say.hpp"

namespace chat::server::cluster {

namespace keys {
std::string members(std::string_view room);
std::string node_members(std::string_view node);
std::string alive(std::string_view node);
inline constexpr const char* kNodes = "chat:nodes";
inline constexpr const char* kRooms = "chat:rooms";
inline constexpr const char* kHidden = "chat:hidden";
}  // namespace keys

// The Lua source of chat_member and chat_alive, loaded with the library.
extern const char* const kPresenceFunctions;

// A node's liveness lasts kAliveSeconds and is refreshed every
// kBeatSeconds: a node killed is forgotten within their sum (20 s).
inline constexpr std::uint32_t kAliveSeconds = 15;
inline constexpr std::uint32_t kBeatSeconds = 5;

// FCALL chat_member: `change` made in `room`'s member set, published on the
// room's channel if it changed the set.
std::vector<std::string> member_command(std::string_view room, const MemberChange& change);
enum class Beat { kStart, kBeat, kStop };
// FCALL chat_alive: kStart forgets what this node held in an earlier run,
// kStop forgets what it holds now and its liveness; kStart and kBeat
// refresh its liveness, and each forgets the nodes whose liveness ran out.
std::vector<std::string> alive_command(std::string_view node, Beat beat);

// A room's whole member set (ZRANGE), and one page of it after the nick
// `cursor` (empty: from the first), at most `limit` members.
std::vector<std::string> members_command(std::string_view room);
std::vector<std::string> members_page_command(std::string_view room, std::string_view cursor, std::size_t limit);
// What node `node` holds (SMEMBERS of its member index).
std::vector<std::string> node_members_command(std::string_view node);
// A page of the rooms with members anywhere, named after `cursor`.
std::vector<std::string> rooms_command(std::string_view cursor, std::size_t limit);

// A member set's entries (ZRANGE's reply), in nick order; nothing if the
// reply is not one.
std::optional<std::vector<Member>> parse_members(const redisReply* reply);
// One entry of a node's member index: the room, and the member.
std::optional<std::pair<std::string, Member>> parse_node_member(std::string_view entry);

// The change as published on the room's channel (JSON), and back; nothing
// if `payload` is not one.
std::string encode_change(const MemberChange& change);
std::optional<MemberChange> parse_change(std::string_view payload);

}  // namespace chat::server::cluster
