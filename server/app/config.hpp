#pragma once
// Server settings: defaults, command-line flags and CHATD_* environment variables.
// Thread safety: immutable after start-up; every thread reads it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace chat::server {

// The most rooms in one room list page (announced as Limits.max_list_page);
// a page is cut sooner at max_reply_bytes.
inline constexpr std::size_t kMaxListPage = 1000;
// The most nicks in one who page (Limits.max_who_page); cut sooner too at
// max_reply_bytes.
inline constexpr std::size_t kMaxWhoPage = 1000;

struct Config {
  // Numeric once parse_config has resolved it (a host name becomes its address).
  std::string bind = "0.0.0.0";
  std::uint16_t port = 7777;
  unsigned reactors = 0;  // 0: one per hardware thread
  std::string log_level = "info";
  // TLS (tls_transport.hpp): with a certificate and its key, the TLS port
  // listens beside the plaintext one (on the same --bind address), or
  // instead of it with tls_only. SIGHUP loads both files again.
  std::string tls_cert;
  std::string tls_key;
  std::uint16_t tls_port = 7778;
  bool tls_only = false;
  // /metrics endpoint; empty bind: off.
  std::string metrics_bind;
  std::uint16_t metrics_port = 0;

  // Where history lives: "sqlite" (durable, in data_dir) or "memory".
  std::string store = "sqlite";
  std::string data_dir = "chatd-data";
  bool fsync = false;  // synchronous=FULL: commits survive power loss too
  std::size_t retain_messages = 100'000;  // per room; 0: no limit
  unsigned retain_days = 0;                // 0: keep forever

  // Messages per room kept in memory: all there is with --store memory; in
  // front of the database otherwise.
  std::size_t history_per_room = 1000;
  // Bytes of messages all rooms together keep in memory; past it the oldest
  // are dropped first (still read from the durable store; gone with memory).
  std::size_t history_memory = std::size_t{512} << 20;
  std::size_t replay_on_join = 50;
  std::size_t max_history_page = 200;

  std::size_t max_frame_bytes = 64 * 1024;
  std::size_t max_body_bytes = 4096;
  std::size_t max_nick_bytes = 32;
  std::size_t max_room_bytes = 64;
  std::size_t max_topic_bytes = 512;
  // Rooms held by the whole server; each reactor's shard holds at most
  // ceil(max_rooms / reactors), so no reactor has to ask another.
  std::size_t max_rooms = 10'000;
  // Rooms one connection may be in at once, joins in flight included.
  std::size_t max_joined = 100;
  // Issue 15: rooms with fewer members send a Presence per join, leave and
  // rename; bigger ones a PresenceDelta at most once a second, and their
  // join reply lists only a first page of members.
  std::size_t presence_full_below = 200;

  double rate_per_sec = 50;  // 0: unlimited
  double rate_burst = 100;
  // Bytes a connection may cost per second and at once: what it sends, plus
  // the replies it asks for (history pages, room lists, who, topics). Past
  // either budget its socket is not read until the budget has refilled to
  // half. 0: unlimited; --rate 0 turns it off too (effective_rate_bytes).
  std::size_t rate_bytes = 256 * 1024;
  std::size_t rate_bytes_burst = 1024 * 1024;
  // Renames and topic changes a connection may make per 20 s (each fans out
  // to every member of every room it is in). 0: unlimited.
  unsigned rename_rate = 3;
  unsigned topic_rate = 5;
  // Moderation actions (kick, ban, invite, modes, roles) an op may take per
  // 20 s: each is an event to the room, but a spam wave needs many at once.
  unsigned moderation_rate = 30;
  std::size_t outbox_cap_bytes = 1024 * 1024;
  // Replies and the slow-consumer rule (issue 12, findings 3 and 4). No
  // join replay, history page or room list page holds more than
  // max_reply_bytes of messages or rooms. Unsent bytes the socket refused:
  // over outbox_cap_bytes, the client is dropped at once (hard limit);
  // over outbox_soft_bytes for outbox_soft_seconds, it is dropped then
  // (soft limit). send_buffer_bytes: SO_SNDBUF of each client socket (the
  // kernel doubles it); 0: the kernel's own (autotuned, up to tcp_wmem).
  std::size_t max_reply_bytes = 256 * 1024;
  std::size_t outbox_soft_bytes = 256 * 1024;
  std::uint32_t outbox_soft_seconds = 10;
  std::size_t send_buffer_bytes = 256 * 1024;
  std::uint32_t idle_timeout_ms = 60'000;  // a ping goes out at half of it
  std::uint32_t shutdown_grace_ms = 2'000;

  // Admission (issue 12): who may connect, and how long one may take to log in.
  std::size_t max_connections = 0;  // 0: the open-file limit less a reserve; a value is capped to that too
  std::size_t max_connections_per_address = 64;  // an IPv6 address counts per /64; 0: unlimited
  double connect_rate = 10;  // new connections per second from one address; 0: unlimited
  double connect_burst = 20;
  // Refusals the acceptor makes per second, over every address, before it
  // stops accepting until the budget refills; 0: unlimited.
  double max_refusals_per_second = 1000;
  std::size_t max_pre_login = 0;  // connections not logged in yet; 0: half of max_connections
  std::uint32_t login_timeout_ms = 10'000;
  std::size_t max_pre_login_frames = 8;
  // Abuse limits of direct messages and room slots (issue 12).
  // Direct messages one connection may be handed per second, from all its
  // senders together (burst: twice that); 0: unlimited. A DM is refused
  // too (TARGET_BUSY) while the target has half its outbox cap unsent.
  std::uint32_t dm_rate_per_sec = 20;
  // TCP_USER_TIMEOUT on accepted sockets: data unacknowledged this long
  // kills the connection, so a link that died silently loses its nick
  // quickly. Keepalive probes start after the same time of silence. 0: off.
  std::uint32_t tcp_user_timeout_ms = 20'000;
  // Rooms one connection may create per minute, and one address per ten
  // minutes (each reactor holds its share of an address's budget).
  std::size_t room_create_per_min = 20;
  std::size_t room_create_per_address = 100;
  // Rooms one address may hold alone (every member from that address);
  // each reactor's shard holds its share, ceil(this / reactors).
  std::size_t max_rooms_per_address = 100;

  // Accounts (issue 13): guests turned off; sessions one account may have
  // at once; failed logins a minute per account and per address (0:
  // unlimited); the argon2id cost ("interactive", "moderate", or "min",
  // for tests: microseconds, no protection); hashes waiting at most.
  bool require_account = false;
  std::size_t max_sessions_per_account = 5;
  std::uint32_t login_attempts_per_min = 3;
  std::string password_cost = "interactive";
  std::size_t max_queued_hashes = 64;
  // Direct messages kept for one offline account at most.
  std::size_t max_stored_directs = 100;
  // Rooms with keepers: the most bans one room keeps.
  std::size_t max_bans_per_room = 100;

  // Cluster mode (issue 11): redis://HOST:PORT of the Redis the nodes
  // share (empty: a single node), its password (CHATD_REDIS_PASSWORD),
  // and this node's id (empty: a random one at start).
  std::string cluster;
  std::string redis_password;
  std::string node_id;

  // Mailbox messages handled per turn before the reactor goes back to sockets.
  std::size_t mailbox_batch = 256;

  unsigned effective_reactors() const;
  bool tls() const { return !tls_cert.empty(); }
  bool plaintext() const { return !tls_only; }
  // --rate 0 means no rate limit at all: no frame rate, no byte budget.
  std::size_t effective_rate_bytes() const { return rate_per_sec == 0 ? 0 : rate_bytes; }
  // Admission: the caps in force under an open-file limit of `fd_limit`.
  std::size_t effective_max_connections(std::uint64_t fd_limit) const;
  std::size_t effective_max_pre_login(std::uint64_t fd_limit) const;
};

// The exit status of a bad flag, as for any command-line usage error.
inline constexpr int kUsageError = 2;

// Parses flags (each also readable from CHATD_<NAME> in the environment).
// Returns the exit code when the program should stop: 0 after --help or
// --version, kUsageError after a bad flag (its message names the flag).
struct ParsedConfig {
  Config config;
  std::optional<int> exit_code;
};
ParsedConfig parse_config(int argc, const char* const* argv);

}  // namespace chat::server
