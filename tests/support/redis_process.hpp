#pragma once
// A real redis-server (Debian's redis-server 7.0) as a child process, for
// the cluster tests (issue 11): on 127.0.0.1 and a port free when it
// starts, its files in a directory of its own that goes with it. By
// default it keeps nothing on disk; with `persist` it keeps an append-only
// file there, so a test can stop it and start it again with its data.
// Thread safety: use from one test thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace chat::testing {

class RedisProcess {
 public:
  struct Options {
    bool persist = false;   // appendonly yes, appendfsync always
    std::string dir = {};   // its files; empty: a fresh one of its own
    std::uint16_t port = 0;  // 0: a free one
  };
  explicit RedisProcess(Options options);
  RedisProcess() : RedisProcess(Options{}) {}

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  int pid() const { return child_->pid(); }
  // Sends `sig` and waits for the exit status.
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout);

 private:
  std::optional<TempDir> own_dir_;
  std::string dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

// Whether redis-server is installed (the cluster tests need it).
bool have_redis_server();

}  // namespace chat::testing
