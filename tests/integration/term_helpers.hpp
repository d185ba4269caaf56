#pragma once
// Helpers for the terminal client's tests: shell commands (for tmux and
// the demo scripts), a small TCP proxy that can cut every connection
// through it, and ChildProcess (support/child_process.hpp) for chat in line
// mode and chatd.
// Thread safety: each helper is used from the test thread; TcpProxy runs on
// its own io_context thread and its public methods post to it.

#include <asio.hpp>
#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/child_process.hpp"

namespace chat::testing {

using namespace std::chrono_literals;

// Runs a shell command (/bin/sh -c, stdin closed, stderr inherited) and
// returns (exit status, stdout); the status is -1 if it is still running
// after `timeout` (the shell is then killed).
inline std::pair<int, std::string> run_command(const std::string& command,
                                               std::chrono::milliseconds timeout = 120s) {
  ChildProcess sh({"/bin/sh", "-c", command});
  sh.close_stdin();
  const auto status = sh.wait_exit(timeout);
  return {status.value_or(-1), sh.text()};
}

// A TCP proxy on 127.0.0.1:0 to a local port. cut() closes every
// connection through it (both sides); while refusing, new connections are
// accepted and closed at once.
class TcpProxy {
 public:
  explicit TcpProxy(std::uint16_t target)
      : target_(asio::ip::make_address("127.0.0.1"), target),
        acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        guard_(asio::make_work_guard(io_)) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TcpProxy() {
    asio::post(io_, [this] {
      std::error_code ignored;
      acceptor_.close(ignored);
      close_all();
    });
    guard_.reset();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  // Closes every connection now; returns how many there were.
  int cut() {
    std::promise<int> done;
    asio::post(io_, [&] { done.set_value(close_all()); });
    return done.get_future().get();
  }
  void set_refusing(bool refusing) {
    std::promise<void> done;
    asio::post(io_, [&] {
      refusing_ = refusing;
      done.set_value();
    });
    done.get_future().get();
  }
  int accepted() const { return accepted_.load(); }

 private:
  struct Pair {
    explicit Pair(asio::io_context& io) : down(io), up(io) {}
    asio::ip::tcp::socket down, up;
    std::array<char, 16384> down_buf{}, up_buf{};
    bool closed = false;
  };

  int close_all() {
    int n = 0;
    for (auto& p : pairs_) {
      if (p->closed) continue;
      close(*p);
      ++n;
    }
    pairs_.clear();
    return n;
  }
  static void close(Pair& p) {
    p.closed = true;
    std::error_code ignored;
    p.down.close(ignored);
    p.up.close(ignored);
  }
  void accept() {
    auto pair = std::make_shared<Pair>(io_);
    acceptor_.async_accept(pair->down, [this, pair](std::error_code ec) {
      if (ec) return;
      ++accepted_;
      if (refusing_) {
        close(*pair);
      } else {
        pairs_.push_back(pair);
        pair->up.async_connect(target_, [this, pair](std::error_code ec2) {
          if (ec2 || pair->closed) return close(*pair);
          pump(pair, pair->down, pair->up, pair->down_buf);
          pump(pair, pair->up, pair->down, pair->up_buf);
        });
      }
      accept();
    });
  }
  void pump(std::shared_ptr<Pair> pair, asio::ip::tcp::socket& from, asio::ip::tcp::socket& to,
            std::array<char, 16384>& buf) {
    from.async_read_some(asio::buffer(buf), [this, pair, &from, &to, &buf](std::error_code ec, std::size_t n) {
      if (ec || pair->closed) return close(*pair);
      asio::async_write(to, asio::buffer(buf.data(), n), [this, pair, &from, &to, &buf](std::error_code ec2, std::size_t) {
        if (ec2 || pair->closed) return close(*pair);
        pump(pair, from, to, buf);
      });
    });
  }

  asio::io_context io_;
  asio::ip::tcp::endpoint target_;
  asio::ip::tcp::acceptor acceptor_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::uint16_t port_ = 0;
  bool refusing_ = false;
  std::atomic<int> accepted_{0};
  std::vector<std::shared_ptr<Pair>> pairs_;
  std::thread thread_;
};

}  // namespace chat::testing
