#pragma once
// Server settings: defaults, command-line flags and CHATD_* environment variables.
// Thread safety: immutable after start-up; every thread reads it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace chat::server {

struct Config {
  // Numeric once parse_config has resolved it (a host name becomes its address).
  std::string bind = "0.0.0.0";
  std::uint16_t port = 7777;
  unsigned reactors = 0;  // 0: one per hardware thread
  std::string log_level = "info";
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
  std::size_t outbox_cap_bytes = 1024 * 1024;
  std::uint32_t idle_timeout_ms = 60'000;  // a ping goes out at half of it
  std::uint32_t shutdown_grace_ms = 2'000;

  // Mailbox messages handled per turn before the reactor goes back to sockets.
  std::size_t mailbox_batch = 256;

  unsigned effective_reactors() const;
  // --rate 0 means no rate limit at all: no frame rate, no byte budget.
  std::size_t effective_rate_bytes() const { return rate_per_sec == 0 ? 0 : rate_bytes; }
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
