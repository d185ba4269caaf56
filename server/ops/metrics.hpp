#pragma once
// Per-reactor counters. Each counter has one writer, its reactor, which
// bumps it with a plain relaxed load+store (no locked instruction on the hot
// path); any thread may read a snapshot with relaxed loads.

#include <array>
#include <atomic>
#include <cstdint>

#include "chat/v1/chat.pb.h"

namespace chat::server {

inline constexpr std::size_t kErrorCodes = 32;

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
  std::uint64_t rooms = 0;
  std::uint64_t rooms_reclaimed = 0;
  std::array<std::uint64_t, kErrorCodes> errors{};

  std::uint64_t errors_of(v1::Error::Code code) const { return errors[static_cast<std::size_t>(code)]; }
};

class ReactorMetrics {
 public:
  using Counter = std::atomic<std::uint64_t>;

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
  std::array<Counter, kErrorCodes> errors{};
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
  for (std::size_t i = 0; i < kErrorCodes; ++i) out.errors[i] += get(errors[i]);
}

}  // namespace chat::server
