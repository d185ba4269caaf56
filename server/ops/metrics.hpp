#pragma once
// Per-reactor counters. Each counter has one writer, its reactor, which
// bumps it with a plain relaxed load+store (no locked instruction on the hot
// path); any thread may read a snapshot with relaxed loads.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "chat/v1/chat.pb.h"

namespace chat::server {

// Every code of v1::Error, each with its counter.
inline constexpr std::size_t kErrorCodes = v1::Error::Code_ARRAYSIZE;
// What a RATE_LIMITED was sent for (session/rate_limits.hpp): a stall past
// the frame rate or the byte budget, or a refused rename or topic change.
inline constexpr std::array<const char*, 5> kRateLimitNames = {"frames", "bytes", "rename", "topic", "moderation"};

// The clock of the latency histogram: steady, in nanoseconds.
inline std::int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Upper bounds of the delivery-latency buckets (Prometheus "le"), in ns; a
// last bucket, +Inf, follows them.
inline constexpr std::array<std::int64_t, 18> kLatencyBoundsNs = {
    25'000,      50'000,      100'000,     250'000,     500'000,       1'000'000,
    2'500'000,   5'000'000,   10'000'000,  25'000'000,  50'000'000,    100'000'000,
    250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
inline constexpr std::size_t kLatencyBuckets = kLatencyBoundsNs.size() + 1;

// Admission (issue 12): the labels of chatd_connections_refused_total, in
// the order of net/admission.hpp's Refusal (less its kNone).
inline constexpr std::array<const char*, 5> kRefusalReasons = {"total", "per_address", "rate", "pre_login",
                                                                 "pre_login_waiting"};

struct LatencySnapshot {
  std::array<std::uint64_t, kLatencyBuckets> buckets{};  // per bucket, not cumulative
  std::uint64_t sum_ns = 0;
};

struct MetricsSnapshot {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t messages_published = 0;
  std::uint64_t slow_consumer_disconnects = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t idle_timeouts = 0;
  std::uint64_t mailbox_wakeups = 0;
  std::uint64_t inbox_depth = 0;
  std::uint64_t accept_errors = 0;
  std::uint64_t accept_pauses = 0;
  std::uint64_t rooms = 0;
  std::uint64_t rooms_reclaimed = 0;
  std::uint64_t history_bytes = 0;
  std::uint64_t history_trimmed = 0;
  // The durable store (zero with --store memory).
  std::uint64_t store_commits = 0;
  std::uint64_t store_messages_committed = 0;
  std::uint64_t store_commit_micros = 0;
  std::uint64_t store_errors = 0;
  std::uint64_t store_checkpoints = 0;
  std::uint64_t store_checkpoint_micros = 0;
  std::uint64_t store_checkpoint_catch_ups = 0;
  std::uint64_t store_queue_depth = 0;
  // Cluster mode (issue 11; zero on a single node): round trips to Redis
  // (a batch of says, a ready or a range read) and their time summed, says
  // Redis refused, rooms subscribed now, connections made again.
  std::uint64_t redis_roundtrips = 0;
  std::uint64_t redis_roundtrip_micros = 0;
  std::uint64_t redis_script_errors = 0;
  std::uint64_t redis_subscriptions = 0;
  std::uint64_t redis_reconnects = 0;
  std::uint64_t redis_says_refused = 0;
  // Issue 12: DMs refused (TARGET_BUSY) and room creations refused, by reason.
  std::uint64_t directs_refused_rate = 0;
  std::uint64_t directs_refused_backlog = 0;
  std::uint64_t room_creations_refused_connection = 0;
  std::uint64_t room_creations_refused_address = 0;
  std::uint64_t room_creations_refused_held = 0;
  // TLS: handshakes done and failed, plaintext clients on the TLS port, and
  // certificates loaded again on SIGHUP.
  std::uint64_t tls_handshakes = 0;
  std::uint64_t tls_handshakes_failed = 0;
  std::uint64_t tls_plaintext_refused = 0;
  std::uint64_t tls_reloads = 0;
  // Accounts (issue 13): password logins by outcome, registrations, and
  // argon2id hashes done.
  std::uint64_t logins_ok = 0;
  std::uint64_t logins_failed = 0;
  std::uint64_t logins_throttled = 0;
  std::uint64_t logins_busy = 0;
  std::uint64_t accounts_registered = 0;
  std::uint64_t directs_stored = 0;  // kept for an offline account
  std::uint64_t password_hashes = 0;
  std::array<std::uint64_t, kErrorCodes> errors{};
  std::array<std::uint64_t, kRateLimitNames.size()> rate_limited_by{};
  std::array<std::uint64_t, kRefusalReasons.size()> connections_refused{};  // by kRefusalReasons
  LatencySnapshot delivery_latency;

  std::uint64_t errors_of(v1::Error::Code code) const { return errors[static_cast<std::size_t>(code)]; }
};

using Counter = std::atomic<std::uint64_t>;

// A fixed-bucket histogram with one writer, its reactor, like the counters:
// an observation is a scan of the bounds and two relaxed load+stores. A
// reader sums the buckets for the count, so count and +Inf always agree.
class LatencyHistogram {
 public:
  // Reactor thread only.
  void observe(std::int64_t ns) {
    std::size_t i = 0;
    while (i < kLatencyBoundsNs.size() && ns > kLatencyBoundsNs[i]) ++i;
    Counter& bucket = buckets_[i];
    bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    const auto add = static_cast<std::uint64_t>(ns > 0 ? ns : 0);
    sum_ns_.store(sum_ns_.load(std::memory_order_relaxed) + add, std::memory_order_relaxed);
  }
  // Any thread.
  void add_to(LatencySnapshot& out) const {
    for (std::size_t i = 0; i < kLatencyBuckets; ++i) out.buckets[i] += buckets_[i].load(std::memory_order_relaxed);
    out.sum_ns += sum_ns_.load(std::memory_order_relaxed);
  }

 private:
  std::array<Counter, kLatencyBuckets> buckets_{};
  Counter sum_ns_{0};
};

class ReactorMetrics {
 public:

  // Reactor thread only.
  static void bump(Counter& c, std::uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void drop(Counter& c) { c.store(c.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed); }
  static void set(Counter& c, std::uint64_t value) { c.store(value, std::memory_order_relaxed); }
  void error(v1::Error::Code code) { bump(errors[static_cast<std::size_t>(code) % kErrorCodes]); }

  // Any thread: adds this reactor's counters into `out`.
  void add_to(MetricsSnapshot& out) const;

  Counter connections_accepted{0};
  Counter connections_open{0};
  Counter frames_in{0};
  Counter frames_out{0};
  Counter messages_published{0};
  Counter slow_consumer_disconnects{0};
  Counter rate_limited{0};
  Counter idle_timeouts{0};
  Counter rooms{0};  // a gauge: the rooms this reactor's shard holds now
  Counter rooms_reclaimed{0};
  // Gauge and counter copied from the shard's store on each tick: bytes of
  // messages held in memory, and messages dropped to stay within the budget.
  Counter history_bytes{0};
  Counter history_trimmed{0};
  // Issue 12: DMs refused (TARGET_BUSY) and room creations refused, by reason.
  Counter directs_refused_rate{0};
  Counter directs_refused_backlog{0};
  Counter room_creations_refused_connection{0};
  Counter room_creations_refused_address{0};
  Counter room_creations_refused_held{0};
  Counter tls_handshakes{0};
  Counter tls_handshakes_failed{0};
  Counter tls_plaintext_refused{0};
  std::array<Counter, kErrorCodes> errors{};
  std::array<Counter, kRateLimitNames.size()> rate_limited_by{};  // by kRateLimitNames
  // From sequencing a room message to the write that sent it to a member.
  LatencyHistogram delivery_latency;
};

inline void ReactorMetrics::add_to(MetricsSnapshot& out) const {
  auto get = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  out.connections_accepted += get(connections_accepted);
  out.connections_open += get(connections_open);
  out.frames_in += get(frames_in);
  out.frames_out += get(frames_out);
  out.messages_published += get(messages_published);
  out.slow_consumer_disconnects += get(slow_consumer_disconnects);
  out.rate_limited += get(rate_limited);
  out.idle_timeouts += get(idle_timeouts);
  out.rooms += get(rooms);
  out.rooms_reclaimed += get(rooms_reclaimed);
  out.history_bytes += get(history_bytes);
  out.history_trimmed += get(history_trimmed);
  out.directs_refused_rate += get(directs_refused_rate);
  out.directs_refused_backlog += get(directs_refused_backlog);
  out.room_creations_refused_connection += get(room_creations_refused_connection);
  out.room_creations_refused_address += get(room_creations_refused_address);
  out.room_creations_refused_held += get(room_creations_refused_held);
  out.tls_handshakes += get(tls_handshakes);
  out.tls_handshakes_failed += get(tls_handshakes_failed);
  out.tls_plaintext_refused += get(tls_plaintext_refused);
  for (std::size_t i = 0; i < kErrorCodes; ++i) out.errors[i] += get(errors[i]);
  for (std::size_t i = 0; i < kRateLimitNames.size(); ++i) out.rate_limited_by[i] += get(rate_limited_by[i]);
  delivery_latency.add_to(out.delivery_latency);
}

}  // namespace chat::server
