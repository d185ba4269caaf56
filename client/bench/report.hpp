#pragma once
// The numbers a chat-bench run produces, and the two ways it prints them: a
// human summary and one JSON object.
// Thread safety: plain values, built and printed by the main thread.

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "client/bench/options.hpp"

namespace chat::bench {

struct Result {
  std::size_t connections = 0;
  double measured_s = 0;  // the window's actual length

  // Publish/subscribe mode.
  std::uint64_t published = 0;   // messages sent with a send time inside the window
  std::uint64_t deliveries = 0;  // room messages received inside the window, every connection
  std::optional<double> server_cpu_s;
  double generator_cpu_s = 0;
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t reordered = 0;
  std::uint64_t seq_gaps = 0;
  std::uint64_t disconnects = 0;
  std::uint64_t errors = 0;   // Error frames that answered nothing we waited for
  std::uint64_t foreign = 0;  // room messages without our header (someone else talking)
  std::uint64_t latency_samples = 0;
  double latency_us[5] = {};  // p50, p90, p99, p99.9, max
  bool drained = true;        // every expected delivery arrived before the drain deadline

  // Login mode.
  std::uint64_t logins = 0;
  std::uint64_t login_refused = 0;  // LOGIN_BUSY, RATE_LIMITED or the connection refused

  // Idle mode.
  double join_s = 0;    // from the first connect until every join was answered
  double settle_s = 0;  // ... until the last presence frame arrived
  std::uint64_t presence_frames = 0;  // see WorkerTotals
  std::uint64_t presence_bytes = 0;
  std::uint64_t join_reply_bytes = 0;
  std::optional<std::uint64_t> rss_before_bytes;
  std::optional<std::uint64_t> rss_after_bytes;
};

// The summary, for people.
void print_text(std::FILE* out, const Options& options, const Result& result);

// One JSON object on one line (no trailing newline).
std::string to_json(const Options& options, const Result& result);

}  // namespace chat::bench
