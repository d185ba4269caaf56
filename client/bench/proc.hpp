#pragma once
// What the kernel says about CPU time and memory: the server's, read from
// /proc/PID, and the generator's own, from getrusage.
// Thread safety: stateless functions, callable from any thread.

#include <cstdint>
#include <optional>

#include "client/bench/options.hpp"

namespace chat::bench {

// utime + stime of every thread of process `pid`, in seconds
// (/proc/PID/stat fields 14 and 15); nothing if it cannot be read.
std::optional<double> process_cpu_seconds(int pid);

// --server-pid's CPU and every --also-pid's, summed; nothing without a
// --server-pid or if one cannot be read.
std::optional<double> server_cpu_seconds(const Options& options);

// VmRSS of process `pid` in bytes (/proc/PID/status).
std::optional<std::uint64_t> process_rss_bytes(int pid);

// User + system CPU of this whole process (every thread), in seconds.
double self_cpu_seconds();

// Raises the soft open-file limit to the hard limit; returns the new soft limit.
std::uint64_t raise_fd_limit();

}  // namespace chat::bench
