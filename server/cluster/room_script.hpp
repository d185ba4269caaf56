#pragma once
// Cluster mode (issue 11): Redis numbers, stores and fans out every say, in
// one atomic server-side function per say (a Redis Function, FUNCTION LOAD:
// it persists and replicates with the data, so a restarted Redis still has
// it). In order: the dedupe check of (identity, client_msg_id), which
// answers the original seq; the room's next seq (HINCRBY of its meta hash);
// XADD to the room's stream with ID <seq>-0 (MAXLEN ~ the history kept);
// the dedupe key with an expiry; PUBLISH of the message on the room's
// channel. One round trip gives gapless per-room numbers across nodes,
// durable history, exactly-once and fan-out. A room whose meta hash is
// missing (new, or a Redis that came back empty) gets the caller's new
// epoch, its incarnation, and a fresh stream. Centrifuge's
// broker_history_add_stream.lua does the same job.
//
// Every key of a room carries the room in a hash tag ({#room}), so a Redis
// Cluster would keep them in one slot.
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
std::string meta(std::string_view room);     // hash: seq, epoch
std::string stream(std::string_view room);   // entries <seq>-0: sender identity cmid text ts
std::string said(std::string_view room, std::string_view identity, std::uint64_t client_msg_id);
std::string channel(std::string_view room);  // where each say is published
std::string nick(std::string_view folded);   // a nick's lease: the node holding it
std::string node_channel(std::string_view node);  // DMs for a node's nicks, and answers to its DMs
// The cluster's epoch (every node's Welcome.epoch): made by the first node
// to start, so a client moving to another node keeps its seqs.
inline constexpr const char* kEpoch = "chat:epoch";
}  // namespace keys

// Nicks are cluster-unique: a node holds a nick by a lease in Redis (the
// node's id, with an expiry) that it refreshes while a session here holds
// the nick, and gives up when none does; a node that dies loses its nicks
// when their leases run out.
// FCALL chat_direct: `payload` to the node holding `folded`'s lease.
std::vector<std::string> direct_command(std::string_view folded, std::string_view payload);
std::vector<std::string> lease_command(std::string_view folded, std::string_view node, std::uint32_t seconds);
std::vector<std::string> unlease_command(std::string_view folded, std::string_view node);
std::vector<std::string> refresh_command(const std::vector<std::string>& folded, std::string_view node,
                                         std::uint32_t seconds);

// The library's source and its loading (FUNCTION LOAD REPLACE argv), with
// the presence functions of presence_script.hpp.
extern const char* const kLibrary;
std::vector<std::string> load_command();

struct SayLimits {
  std::uint64_t keep = 10'000;       // stream entries kept, about
  std::uint32_t dedupe_seconds = 600;
};
// FCALL chat_say for `say`; `new_epoch` is used only if the room has none.
std::vector<std::string> say_command(const Say& say, const SayLimits& limits, std::uint64_t new_epoch);

// The function's answer.
struct Said {
  bool fresh = false;  // false: the same named say again, not sequenced again
  std::uint64_t seq = 0;
  std::uint64_t epoch = 0;
  std::int64_t timestamp_ms = 0;  // the original's, for a repeat
  std::string origin;             // the original's, for a repeat
};
// Nothing if the reply is an error or not the function's shape.
std::optional<Said> parse_said(const redisReply* reply);

// Nothing if `payload` is not one.
std::optional<Published> parse_published(std::string_view room, std::string_view payload);

// A room's topic is shared too: FCALL chat_topic keeps it in the room's
// meta hash and publishes the change on the room's channel.
struct TopicChange {
  std::string topic;
  std::string set_by;
  std::string node;  // where it was set
};
std::vector<std::string> topic_command(std::string_view room, const TopicChange& change);
// Nothing if `payload` is not one.
std::optional<TopicChange> parse_topic(std::string_view payload);

// Reading a room: its epoch, newest seq and topic (HMGET), a range of its stream
// by seq (XRANGE), its newest `count` (XREVRANGE).
std::vector<std::string> meta_command(std::string_view room);
// FCALL chat_open: gives the room `epoch` if it has none in Redis.
std::vector<std::string> open_command(std::string_view room, std::uint64_t epoch);
std::vector<std::string> range_command(std::string_view room, std::uint64_t lo, std::uint64_t hi);
std::vector<std::string> tail_command(std::string_view room, std::size_t count);
struct RoomMeta {
  std::uint64_t epoch = 0;  // 0: the room has never been said in
  std::uint64_t last_seq = 0;
  std::string topic = {};
  std::string topic_set_by = {};
};
std::optional<RoomMeta> parse_meta(const redisReply* reply);
// Stream entries as says of `epoch`, oldest first (`newest_first`: the
// reply is XREVRANGE's).
std::optional<std::vector<Published>> parse_entries(std::string_view room, std::uint64_t epoch,
                                                    const redisReply* reply, bool newest_first);

}  // namespace chat::server::cluster
