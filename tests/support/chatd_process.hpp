#pragma once
// Runs the real chatd binary as a child process, for tests that need a
// process of its own: signals, exit codes, resource limits, RSS and fds.
// Thread safety: use from one test thread.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace chat::testing {

struct HttpReply {
  int status = 0;    // 0: no answer
  std::string head;  // status line and headers
  std::string body;
};
// One HTTP/1.0 request to HOST:PORT (a numeric IPv4 or IPv6 address).
HttpReply http_request(const std::string& host, std::uint16_t port, const std::string& method,
                       const std::string& path);

class ChatdProcess {
 public:
  struct Options {
    // Default member initialisers: {{"--reactors", "2"}} leaves max_fds
    // out without -Wmissing-field-initializers.
    std::vector<std::string> args = {};      // --bind 127.0.0.1 --port 0 --metrics 127.0.0.1:0 come first
    std::optional<unsigned> max_fds = {};    // RLIMIT_NOFILE for the child
    // The store's --data-dir; empty: a fresh one of this process's own,
    // removed with it. Give one to start chatd again on the same data.
    std::string data_dir = {};
    std::optional<std::uint64_t> max_file_bytes = {};  // RLIMIT_FSIZE (soft) for the child
  };

  // Starts chatd and waits for the lines that name its ports.
  explicit ChatdProcess(Options options);
  // The lines chatd has printed so far (stdout and stderr).
  std::vector<std::string> output() const;
  // The destructor (ChildProcess's) sends SIGKILL if chatd is still running,
  // then removes the data directory if it made it.

  // chatd's pid; -1 once stop() has seen it exit.
  pid_t pid() const { return child_.pid(); }
  // From chatd's first lines; 0 if it never said.
  std::uint16_t port() const { return port_; }
  std::uint16_t tls_port() const { return tls_port_; }  // with --tls-cert
  std::uint16_t metrics_port() const { return metrics_port_; }

  // Sends `sig` (none if 0) and waits up to `timeout` for the exit status
  // (128+signal if killed).
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout);

  // One request to the metrics listener.
  HttpReply http(const std::string& method, const std::string& path) const {
    return http_request("127.0.0.1", metrics_port_, method, path);
  }
  // chatd's stdout so far (its log included), and a wait for a line with `needle`.
  ChildProcess::Lines lines() const { return child_.lines(); }
  bool wait_line(const std::string& needle, std::chrono::milliseconds timeout = ChildProcess::kWait) const {
    return child_.wait_line(needle, timeout);
  }

  // Reads /metrics: "name" or "name{label=\"x\"}" -> value.
  std::map<std::string, double> metrics() const;
  double metric(const std::string& name) const;
  // Polls until metric(name) == value; false if it still differs after
  // `timeout`. For counts the server updates just after what a client can
  // see (a connection is counted closed after its socket is).
  bool wait_metric(const std::string& name, double value, std::chrono::milliseconds timeout) const;

  // From /proc: resident memory, open descriptors, CPU seconds used so far.
  std::size_t rss_bytes() const;
  // VmHWM: the most resident memory chatd has held since it started, or
  // since the last reset_peak_rss(). A peak between two samples of
  // rss_bytes() cannot hide from it.
  std::size_t peak_rss_bytes() const;
  // Sets VmHWM back to the current RSS (writes 5 to /proc/PID/clear_refs);
  // false if the kernel refused.
  bool reset_peak_rss() const;
  std::size_t open_fds() const;
  double cpu_seconds() const;

 private:
  std::optional<TempDir> own_data_;  // declared before child_: it goes after chatd
  // Its stdout is drained all the time, so chatd never blocks on a full pipe.
  ChildProcess child_;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
  std::uint16_t metrics_port_ = 0;
};

}  // namespace chat::testing
