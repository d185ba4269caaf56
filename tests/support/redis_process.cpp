#include "support/redis_process.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace chat::testing {

namespace {

constexpr const char* kRedisServer = "/usr/bin/redis-server";

// A port nothing listens on now: the kernel's pick for a socket bound to 0.
// redis-server cannot be told "any port" and say which, so another process
// could take it meanwhile: the start is tried again on another then.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

bool have_redis_server() { return ::access(kRedisServer, X_OK) == 0; }

RedisProcess::RedisProcess(Options options) {
  if (options.dir.empty()) {
    own_dir_.emplace("redis-data");
    dir_ = own_dir_->str();
  } else {
    dir_ = options.dir;
  }
  for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
    const std::uint16_t port = options.port != 0 ? options.port : free_port();
    std::vector<std::string> argv = {kRedisServer, "--bind", "127.0.0.1", "--port", std::to_string(port), "--dir",
                                     dir_, "--save", "", "--daemonize", "no", "--logfile", "",
                                     "--protected-mode", "yes"};
    if (options.persist) {
      for (const char* a : {"--appendonly", "yes", "--appendfsync", "always"}) argv.emplace_back(a);
    } else {
      for (const char* a : {"--appendonly", "no"}) argv.emplace_back(a);
    }
    child_ = std::make_unique<ChildProcess>(argv);
    if (child_->wait_line("Ready to accept connections", std::chrono::seconds(20))) {
      port_ = port;
    } else {
      child_.reset();
      if (options.port != 0) break;
    }
  }
  if (port_ == 0) throw std::runtime_error("redis-server did not start");
}

std::optional<int> RedisProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (!child_) return std::nullopt;
  if (sig != 0) child_->signal(sig);
  return child_->wait_exit(timeout);
}

}  // namespace chat::testing
