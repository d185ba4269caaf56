#pragma once
// Helpers for the terminal client's tests: a child process with piped stdin
// and stdout (chat in line mode, chatd, scripts), a small TCP proxy that
// can cut every connection through it, and tmux driven with a private socket.
// Thread safety: each helper is used from the test thread; ChildProcess
// reads the child's stdout on its own thread and guards what it collected
// with a mutex; TcpProxy runs on its own io_context thread and its public
// methods post to it.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio.hpp>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace chat::testing {

using namespace std::chrono_literals;

// A child process; its stdout is collected line by line.
class ChildProcess {
 public:
  // argv[0] is the program's path. Extra environment: "NAME=value".
  explicit ChildProcess(std::vector<std::string> argv, std::vector<std::string> env = {}) {
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    // Everything the child needs is built before fork: after it, only
    // async-signal-safe calls until exec.
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the test, even an aborted one
      if (::getppid() != parent) ::_exit(127);
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      // Nothing else of the test's (sockets of in-process servers and
      // clients) may live on in the child.
      ::close_range(3, ~0U, 0);
      for (auto& e : env) ::putenv(e.data());
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    reader_ = std::thread([this, fd = out[0]] { read_loop(fd); });
  }
  ~ChildProcess() {
    close_stdin();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    reader_.join();
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void write_line(const std::string& line) {
    const std::string l = line + "\n";
    if (stdin_ >= 0 && ::write(stdin_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) {
      throw std::runtime_error("write to child failed");
    }
  }
  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }
  // Waits until pred(lines) holds (checked after every new line).
  bool wait(const std::function<bool(const std::vector<std::string>&)>& pred,
            std::chrono::milliseconds timeout = 20s) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(lines_); });
  }
  bool wait_line(const std::string& needle, std::chrono::milliseconds timeout = 20s) const {
    return wait([&](const auto& ls) {
      for (const auto& l : ls) {
        if (l.find(needle) != std::string::npos) return true;
      }
      return false;
    }, timeout);
  }
  // Exit status (or 128+signal); nothing if it is still running at the timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (pid_ > 0) return std::nullopt;
    return status_;
  }
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  std::string text() const {
    std::string all;
    for (const auto& l : lines()) all += l + "\n";
    return all;
  }

 private:
  void read_loop(int fd) {
    std::string partial;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      partial.append(buf, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        std::lock_guard lock(mu_);
        lines_.push_back(partial.substr(0, nl));
        partial.erase(0, nl + 1);
        cv_.notify_all();
      }
    }
    ::close(fd);
    std::lock_guard lock(mu_);
    if (!partial.empty()) lines_.push_back(partial);
    eof_ = true;
    cv_.notify_all();
  }

  pid_t pid_ = -1;
  int status_ = -1;
  int stdin_ = -1;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::thread reader_;
};

// Runs a shell command and returns (exit status, stdout).
inline std::pair<int, std::string> run_command(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return {-1, out};
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
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
