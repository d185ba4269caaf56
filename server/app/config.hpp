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
  std::size_t outbox_cap_bytes = 1024 * 1024;
  std::uint32_t idle_timeout_ms = 60'000;  // a ping goes out at half of it
  std::uint32_t shutdown_grace_ms = 2'000;

  // Admission (issue 12): who may connect, and how long one may take to log in.
  std::size_t max_connections = 0;  // 0: the open-file limit less a reserve; a value is capped to that too
  std::size_t max_connections_per_address = 64;  // an IPv6 address counts per /64; 0: unlimited
  double connect_rate = 10;  // new connections per second from one address; 0: unlimited
  double connect_burst = 20;
  std::size_t max_pre_login = 0;  // connections not logged in yet; 0: half of max_connections
  std::uint32_t login_timeout_ms = 10'000;
  std::size_t max_pre_login_frames = 8;

  // Mailbox messages handled per turn before the reactor goes back to sockets.
  std::size_t mailbox_batch = 256;

  unsigned effective_reactors() const;
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
