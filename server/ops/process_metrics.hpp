#pragma once
// The process_* metrics every Prometheus client library exports, read from
// /proc/self when the page is rendered: CPU time, memory, descriptors and
// the start time. Linux only, like the rest of chatd (epoll, eventfd).
// Thread safety: a free function with no shared state; any thread.

#include <cstdint>
#include <optional>

namespace chat::server {

struct ProcessMetrics {
  double cpu_seconds = 0;              // user + system
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;           // RLIMIT_NOFILE, soft
  double start_time_seconds = 0;       // since the Unix epoch
};

// Nothing if /proc/self cannot be read.
std::optional<ProcessMetrics> read_process_metrics();

}  // namespace chat::server
