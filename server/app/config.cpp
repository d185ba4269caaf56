#include "server/app/config.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <limits>
#include <thread>

#include "common/host_port.hpp"
#include "common/version.hpp"
#include "server/cluster/redis_conn.hpp"
#include "server/net/address.hpp"

namespace chat::server {

unsigned Config::effective_reactors() const {
  if (reactors > 0) return reactors;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? hw : 1;
}

// Descriptors kept back from connections: the store, /metrics and its
// clients, the listening sockets, eventfds, the log.
constexpr std::uint64_t kFdReserve = 64;

std::size_t Config::effective_max_connections(std::uint64_t fd_limit) const {
  const std::uint64_t room =
      fd_limit > 2 * kFdReserve ? fd_limit - kFdReserve : std::max<std::uint64_t>(fd_limit / 2, 1);
  const auto cap = static_cast<std::size_t>(std::min<std::uint64_t>(room, std::numeric_limits<std::size_t>::max()));
  return max_connections == 0 ? cap : std::min(max_connections, cap);
}

std::size_t Config::effective_max_pre_login(std::uint64_t fd_limit) const {
  const std::size_t total = effective_max_connections(fd_limit);
  return max_pre_login == 0 ? std::max<std::size_t>(total / 2, 1) : std::min(max_pre_login, total);
}

namespace {

template <class T>
CLI::Option* flag(CLI::App& app, const std::string& name, T& value, const std::string& help, const std::string& env) {
  return app.add_option(name, value, help)->envname(env)->capture_default_str();
}

void add_process_flags(CLI::App& app, Config& c) {
  flag(app, "--bind", c.bind,
       "Address to listen on: IPv4, IPv6 or a host name (its first IPv4 address, else its first IPv6 one)",
       "CHATD_BIND");
  flag(app, "--port", c.port, "TCP port (0: any free port)", "CHATD_PORT");
  flag(app, "--reactors", c.reactors, "Reactor threads (0: one per hardware thread)",
       "CHATD_REACTORS")
      ->check(CLI::Range(0u, 1024u));
  flag(app, "--log-level", c.log_level, "trace, debug, info, warn, error or off", "CHATD_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
}

void add_tls_flags(CLI::App& app, Config& c) {
  flag(app, "--tls-cert", c.tls_cert,
       "PEM certificate chain: serve TLS on --tls-port (loaded again on SIGHUP)", "CHATD_TLS_CERT");
  flag(app, "--tls-key", c.tls_key, "PEM private key of --tls-cert", "CHATD_TLS_KEY");
  flag(app, "--tls-port", c.tls_port, "TLS port, on the --bind address (0: any free port)", "CHATD_TLS_PORT");
  app.add_flag("--tls-only", c.tls_only, "Serve TLS only: no plaintext port")->envname("CHATD_TLS_ONLY");
}

void add_store_flags(CLI::App& app, Config& c) {
  flag(app, "--store", c.store, "sqlite: durable, in --data-dir; memory: history lost on restart", "CHATD_STORE")
      ->check(CLI::IsMember({"sqlite", "memory"}));
  flag(app, "--data-dir", c.data_dir, "Directory of the sqlite store (created if missing)", "CHATD_DATA_DIR");
  app.add_flag("--fsync", c.fsync, "Sync every commit to disk: survives power loss, not only a crash")
      ->envname("CHATD_FSYNC");
  flag(app, "--retain-messages", c.retain_messages, "Messages kept per room in the store (0: no limit)",
       "CHATD_RETAIN_MESSAGES");
  flag(app, "--retain-days", c.retain_days, "Days messages are kept in the store (0: forever)", "CHATD_RETAIN_DAYS")
      ->check(CLI::Range(0u, 100'000u));
}

void add_history_flags(CLI::App& app, Config& c) {
  // Upper bounds keep every limit within the Welcome's 32-bit fields.
  flag(app, "--history", c.history_per_room, "Messages per room kept in memory", "CHATD_HISTORY")
      ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}));
  flag(app, "--history-memory", c.history_memory,
       "Bytes of messages kept in memory for all rooms together (e.g. 512MiB); the oldest go first",
       "CHATD_HISTORY_MEMORY")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::size_t{1} << 20, std::size_t{1} << 40));
  flag(app, "--replay", c.replay_on_join, "Recent messages replayed to a joiner", "CHATD_REPLAY")
      ->check(CLI::Range(std::size_t{0}, std::size_t{100'000}));
  flag(app, "--max-history-page", c.max_history_page, "Most messages in one history reply",
       "CHATD_MAX_HISTORY_PAGE")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
}

void add_size_flags(CLI::App& app, Config& c) {
  flag(app, "--max-frame-bytes", c.max_frame_bytes, "Largest frame a client may send",
       "CHATD_MAX_FRAME_BYTES")
      ->check(CLI::Range(std::size_t{64}, std::size_t{64} << 20));
  flag(app, "--max-body-bytes", c.max_body_bytes, "Longest message text", "CHATD_MAX_BODY_BYTES")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  flag(app, "--max-nick-bytes", c.max_nick_bytes, "Longest nickname", "CHATD_MAX_NICK_BYTES")
      ->check(CLI::Range(std::size_t{1}, std::size_t{255}));
  flag(app, "--max-room-bytes", c.max_room_bytes, "Longest room name, '#' included",
       "CHATD_MAX_ROOM_BYTES")
      ->check(CLI::Range(std::size_t{2}, std::size_t{255}));
  flag(app, "--max-topic-bytes", c.max_topic_bytes, "Longest topic", "CHATD_MAX_TOPIC_BYTES")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20));
  flag(app, "--max-rooms", c.max_rooms,
       "Most rooms the server holds: each of the N reactors holds at most ceil(max-rooms / N)",
       "CHATD_MAX_ROOMS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{std::numeric_limits<std::uint32_t>::max()}));
  flag(app, "--max-joined", c.max_joined, "Most rooms one connection may be in at once",
       "CHATD_MAX_JOINED")
      ->check(CLI::Range(std::size_t{1}, std::size_t{std::numeric_limits<std::uint32_t>::max()}));
  flag(app, "--presence-full-below", c.presence_full_below,
       "Rooms with fewer members announce each join and leave; bigger ones send a delta at most once a second (0: all)",
       "CHATD_PRESENCE_FULL_BELOW")
      ->check(CLI::Range(std::size_t{0}, std::size_t{std::numeric_limits<std::uint32_t>::max()}));
}

struct ReplyFlags {
  CLI::Option* max_reply = nullptr;
  CLI::Option* soft = nullptr;
};

ReplyFlags add_reply_flags(CLI::App& app, Config& c) {
  ReplyFlags given;
  given.max_reply = flag(app, "--max-reply-bytes", c.max_reply_bytes,
       "Most bytes of messages or rooms in one join replay, history page or room list page",
       "CHATD_MAX_REPLY_BYTES")
      ->check(CLI::Range(std::size_t{16} << 10, std::size_t{std::numeric_limits<std::uint32_t>::max()}));
  given.soft = flag(app, "--outbox-soft-bytes", c.outbox_soft_bytes,
       "Unsent bytes the socket refused that drop a client once held for --outbox-soft-seconds",
       "CHATD_OUTBOX_SOFT_BYTES")
      ->check(CLI::Range(std::size_t{0}, std::size_t{std::numeric_limits<std::uint32_t>::max()}));
  flag(app, "--outbox-soft-seconds", c.outbox_soft_seconds,
       "How long a client may hold more than --outbox-soft-bytes unsent", "CHATD_OUTBOX_SOFT_SECONDS")
      ->check(CLI::Range(1u, 86'400u));
  flag(app, "--send-buffer-bytes", c.send_buffer_bytes,
       "SO_SNDBUF of each client socket (the kernel doubles it; 0: the kernel's default)",
       "CHATD_SEND_BUFFER_BYTES")
      ->check(CLI::Range(std::size_t{0}, std::size_t{64} << 20));
  return given;
}

// Left at their defaults, the reply and soft limits follow a smaller
// --outbox-cap-bytes (a quarter of it); given, they must fit under it.
void fit_reply_flags(Config& c, const ReplyFlags& given) {
  if (given.max_reply->count() == 0) c.max_reply_bytes = std::min(c.max_reply_bytes, c.outbox_cap_bytes / 4);
  if (given.soft->count() == 0) c.outbox_soft_bytes = std::min(c.outbox_soft_bytes, c.outbox_cap_bytes / 4);
}

// What a connection's requests may cost beyond one frame each.
void add_cost_flags(CLI::App& app, Config& c) {
  flag(app, "--rate-bytes", c.rate_bytes,
       "Bytes per second a connection may send plus receive in replies (0: unlimited, as with --rate 0; else at least 1024)",
       "CHATD_RATE_BYTES")
      ->check(CLI::Range(std::size_t{0}, std::size_t{std::numeric_limits<std::uint32_t>::max()}));
  flag(app, "--rate-bytes-burst", c.rate_bytes_burst, "Bytes a connection may cost at once (at least --max-frame-bytes)",
       "CHATD_RATE_BYTES_BURST")
      ->check(CLI::Range(std::size_t{64}, std::size_t{std::numeric_limits<std::uint32_t>::max()}));
  flag(app, "--rename-rate", c.rename_rate, "Renames a connection may make per 20 s (0: unlimited)",
       "CHATD_RENAME_RATE")
      ->check(CLI::Range(0u, 10'000u));
  flag(app, "--topic-rate", c.topic_rate, "Topic changes a connection may make per 20 s (0: unlimited)",
       "CHATD_TOPIC_RATE")
      ->check(CLI::Range(0u, 10'000u));
  flag(app, "--moderation-rate", c.moderation_rate,
       "Moderation actions (kick, ban, unban, invite, modes, roles) a connection may take per 20 s (0: unlimited)",
       "CHATD_MODERATION_RATE")
      ->check(CLI::Range(0u, 10'000u));
}

void add_connection_flags(CLI::App& app, Config& c) {
  // The Welcome announces the rate rounded down, so a client that paces
  // itself by it is never limited; hence no rates between 0 and 1.
  flag(app, "--rate", c.rate_per_sec, "Frames per second a connection may send (0: unlimited; else at least 1)",
       "CHATD_RATE");
  flag(app, "--burst", c.rate_burst, "Frames a connection may send at once", "CHATD_BURST")
      ->check(CLI::Range(1.0, 1e6));
  add_cost_flags(app, c);
  flag(app, "--outbox-cap-bytes", c.outbox_cap_bytes,
       "Unsent bytes queued for a client before it is dropped as a slow consumer",
       "CHATD_OUTBOX_CAP_BYTES")
      ->check(CLI::Range(std::size_t{64} << 10, std::size_t{std::numeric_limits<std::uint32_t>::max()}));
  flag(app, "--idle-timeout-ms", c.idle_timeout_ms,
       "Close a silent connection after this long (pinged at half of it)",
       "CHATD_IDLE_TIMEOUT_MS")
      ->check(CLI::Range(100u, 86'400'000u));
}

void add_admission_flags(CLI::App& app, Config& c) {
  constexpr std::size_t kMany = 10'000'000;
  flag(app, "--max-connections", c.max_connections,
       "Most connections at once (0: the open-file limit less 64; a value is capped to that)",
       "CHATD_MAX_CONNECTIONS")
      ->check(CLI::Range(std::size_t{0}, kMany));
  flag(app, "--max-connections-per-address", c.max_connections_per_address,
       "Most connections at once from one address (IPv6: one /64; 0: unlimited)",
       "CHATD_MAX_CONNECTIONS_PER_ADDRESS")
      ->check(CLI::Range(std::size_t{0}, kMany));
  flag(app, "--connect-rate", c.connect_rate, "New connections per second from one address (0: unlimited)",
       "CHATD_CONNECT_RATE")
      ->check(CLI::Range(0.0, 1e6));
  flag(app, "--connect-burst", c.connect_burst, "New connections at once from one address", "CHATD_CONNECT_BURST")
      ->check(CLI::Range(1.0, 1e6));
  flag(app, "--max-refusals-per-second", c.max_refusals_per_second,
       "Connections refused per second, from all addresses, before the server stops accepting until the budget "
       "refills (0: unlimited)",
       "CHATD_MAX_REFUSALS_PER_SECOND")
      ->check(CLI::Range(0.0, 1e6));
  flag(app, "--max-pre-login", c.max_pre_login,
       "Most connections not logged in yet; past it the oldest is dropped (0: half of --max-connections)",
       "CHATD_MAX_PRE_LOGIN")
      ->check(CLI::Range(std::size_t{0}, kMany));
  flag(app, "--login-timeout-ms", c.login_timeout_ms, "Close a connection that has not logged in by then",
       "CHATD_LOGIN_TIMEOUT_MS")
      ->check(CLI::Range(100u, 3'600'000u));
  flag(app, "--max-pre-login-frames", c.max_pre_login_frames, "Most frames a connection may send before logging in",
       "CHATD_MAX_PRE_LOGIN_FRAMES")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
}

// Abuse limits of direct messages and room slots (issue 12).
void add_abuse_flags(CLI::App& app, Config& c) {
  flag(app, "--dm-rate", c.dm_rate_per_sec,
       "Direct messages one connection may be handed per second from all senders (burst: twice it; 0: unlimited)",
       "CHATD_DM_RATE")
      ->check(CLI::Range(0u, 1'000'000u));
  flag(app, "--tcp-user-timeout-ms", c.tcp_user_timeout_ms,
       "Close a connection whose sent data stays unacknowledged this long (TCP_USER_TIMEOUT; 0: off)",
       "CHATD_TCP_USER_TIMEOUT_MS")
      ->check(CLI::Range(0u, 600'000u));
  flag(app, "--room-create-rate", c.room_create_per_min, "Rooms one connection may create per minute",
       "CHATD_ROOM_CREATE_RATE")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  flag(app, "--room-create-per-address", c.room_create_per_address,
       "Rooms one address (IPv6: its /64) may create per ten minutes", "CHATD_ROOM_CREATE_PER_ADDRESS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  flag(app, "--max-rooms-per-address", c.max_rooms_per_address,
       "Rooms one address (IPv6: its /64) may hold alone, every member from it", "CHATD_MAX_ROOMS_PER_ADDRESS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{std::numeric_limits<std::uint32_t>::max()}));
}

// Accounts (issue 13).
void add_account_flags(CLI::App& app, Config& c) {
  app.add_flag("--require-account", c.require_account, "Refuse guests: every connection logs in to an account")
      ->envname("CHATD_REQUIRE_ACCOUNT");
  flag(app, "--max-sessions-per-account", c.max_sessions_per_account,
       "Connections one account may have logged in at once", "CHATD_MAX_SESSIONS_PER_ACCOUNT")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
  flag(app, "--login-attempts", c.login_attempts_per_min,
       "Failed logins a minute, per account and per address (IPv6: its /64); 0: unlimited", "CHATD_LOGIN_ATTEMPTS")
      ->check(CLI::Range(0u, 1'000'000u));
  flag(app, "--password-cost", c.password_cost,
       "argon2id cost of a password hash: interactive (64 MiB), moderate (256 MiB), or min (tests only)",
       "CHATD_PASSWORD_COST")
      ->check(CLI::IsMember({"interactive", "moderate", "min"}));
  flag(app, "--max-queued-hashes", c.max_queued_hashes,
       "Password hashes waiting at most; past it a login is refused LOGIN_BUSY", "CHATD_MAX_QUEUED_HASHES")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
  flag(app, "--max-stored-directs", c.max_stored_directs,
       "Direct messages kept for one offline account at most; past it a sender gets MAILBOX_FULL",
       "CHATD_MAX_STORED_DIRECTS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
  flag(app, "--max-bans-per-room", c.max_bans_per_room, "Bans one room keeps at most", "CHATD_MAX_BANS_PER_ROOM")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000}));
}

// Cluster mode (issue 11).
void add_cluster_flags(CLI::App& app, Config& c) {
  flag(app, "--cluster", c.cluster,
       "redis://HOST:PORT: share rooms with other nodes through this Redis (password: CHATD_REDIS_PASSWORD); "
       "Redis replaces --store for the rooms",
       "CHATD_CLUSTER");
  flag(app, "--redis-password", c.redis_password,
       "Redis's password: set CHATD_REDIS_PASSWORD instead, since a flag shows in ps", "CHATD_REDIS_PASSWORD");
  flag(app, "--node-id", c.node_id, "This node's name in the cluster (default: a random one)", "CHATD_NODE_ID")
      ->check([](const std::string& id) {
        const bool ok = !id.empty() && id.size() <= 64 &&
                        id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
                            std::string::npos;
        return ok ? std::string() : std::string("1-64 of A-Z a-z 0-9 _ - .");
      });
}

void add_ops_flags(CLI::App& app, Config& c, std::string& metrics) {
  flag(app, "--shutdown-grace-ms", c.shutdown_grace_ms,
       "How long shutdown waits for outboxes to flush", "CHATD_SHUTDOWN_GRACE_MS")
      ->check(CLI::Range(0u, 600'000u));

  flag(app, "--metrics", metrics,
       "Serve http://ADDR:PORT/metrics (Prometheus text) and /healthz; ADDR as for --bind, "
       "[IPV6]:PORT in brackets, :PORT for all IPv4 addresses; empty: off",
       "CHATD_METRICS");
}

// --bind and --metrics: names resolved to the numeric address listen_on
// takes, so a bad one is a flag error here and not a failure at start.
void resolve_addresses(Config& c, const std::string& metrics) {
  std::string error;
  const auto bind = resolve_host(c.bind, error);
  if (!bind) throw CLI::ValidationError("--bind", error);
  c.bind = bind->to_string();
  if (metrics.empty()) return;
  const auto where = common::split_host_port(metrics, error);
  if (!where) throw CLI::ValidationError("--metrics", error);
  // ":PORT" means every address, as in Prometheus exporters' --web.listen-address.
  const auto host = where->host.empty() ? std::optional(asio::ip::address(asio::ip::address_v4::any()))
                                        : resolve_host(where->host, error);
  if (!host) throw CLI::ValidationError("--metrics", error);
  c.metrics_bind = host->to_string();
  c.metrics_port = where->port;
}

// What CLI11's per-flag checks cannot see: flags that bound each other.
// Throws CLI::ValidationError.
void check_together(const Config& c) {
  if (c.max_body_bytes + 1024 > c.max_frame_bytes) {
    throw CLI::ValidationError("--max-body-bytes",
                               "must leave 1024 bytes of room under --max-frame-bytes");
  }
  if (c.rate_per_sec != 0 && !(c.rate_per_sec >= 1 && c.rate_per_sec <= 1e6)) {
    throw CLI::ValidationError("--rate", "must be 0 (unlimited) or from 1 to 1000000");
  }
  if (c.max_reply_bytes > c.outbox_cap_bytes) {
    throw CLI::ValidationError("--max-reply-bytes", "must be at most --outbox-cap-bytes");
  }
  if (c.outbox_soft_bytes > c.outbox_cap_bytes) {
    throw CLI::ValidationError("--outbox-soft-bytes", "must be at most --outbox-cap-bytes");
  }
  if (c.rate_bytes != 0 && c.rate_bytes < 1024) {
    throw CLI::ValidationError("--rate-bytes", "must be 0 (unlimited) or at least 1024");
  }
  if (c.rate_bytes_burst < c.max_frame_bytes) {
    throw CLI::ValidationError("--rate-bytes-burst", "must be at least --max-frame-bytes");
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    throw CLI::ValidationError(c.tls_cert.empty() ? "--tls-key" : "--tls-cert",
                               "needs --tls-cert and --tls-key together");
  }
  if (c.tls_only && c.tls_cert.empty()) {
    throw CLI::ValidationError("--tls-only", "needs --tls-cert and --tls-key");
  }
  if (c.tls() && c.plaintext() && c.tls_port == c.port && c.port != 0) {
    throw CLI::ValidationError("--tls-port", "must differ from --port");
  }
  if (!c.cluster.empty()) {
    try {
      redis::Endpoint::parse(c.cluster);
    } catch (const std::invalid_argument& e) {
      throw CLI::ValidationError("--cluster", e.what());
    }
  }
  if (c.max_topic_bytes + 1024 > c.max_frame_bytes) {
    throw CLI::ValidationError("--max-topic-bytes",
                               "must leave 1024 bytes of room under --max-frame-bytes");
  }
}

}  // namespace

ParsedConfig parse_config(int argc, const char* const* argv) {
  ParsedConfig parsed;
  Config& c = parsed.config;
  CLI::App app{"chatd: a multi-reactor chat server", "chatd"};
  app.get_formatter()->column_width(36);
  std::string metrics;
  add_process_flags(app, c);
  add_tls_flags(app, c);
  add_store_flags(app, c);
  add_history_flags(app, c);
  add_size_flags(app, c);
  add_connection_flags(app, c);
  add_admission_flags(app, c);
  add_abuse_flags(app, c);
  add_account_flags(app, c);
  add_cluster_flags(app, c);
  const ReplyFlags reply_flags = add_reply_flags(app, c);
  add_ops_flags(app, c, metrics);
  app.set_version_flag("--version", "chatd " + std::string(common::kVersion), "Print the version and exit");
  try {
    app.parse(argc, argv);
    resolve_addresses(c, metrics);
    fit_reply_flags(c, reply_flags);
    check_together(c);
  } catch (const CLI::ParseError& e) {
    // --help and --version print to stdout and exit 0. Every other error
    // says which flag (CLI11 starts its message with the flag's name) on
    // stderr and exits 2, the usage-error status, instead of CLI11's own
    // per-kind codes (104, 105, 109...).
    const int code = app.exit(e);
    parsed.exit_code = code == 0 ? 0 : kUsageError;
  }
  return parsed;
}

}  // namespace chat::server
