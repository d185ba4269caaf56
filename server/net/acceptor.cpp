#include "server/net/acceptor.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <system_error>

#include "server/net/listen.hpp"

namespace chat::server {

namespace {
// How long to wait before accepting again when out of file descriptors;
// waiting (instead of retrying at once) is what keeps the thread from spinning.
constexpr std::chrono::milliseconds kFdBackoff{100};
}  // namespace

Acceptor::Acceptor(const Config& config, const std::vector<Inbox*>& inboxes)
    : acceptor_(listen_on(io_, config.bind, config.port, "the chat listener (--bind, --port)")), backoff_(io_) {
  acceptor_.non_blocking(true);
  endpoint_ = acceptor_.local_endpoint();
  for (Inbox* inbox : inboxes) reactors_.push_back(std::make_unique<Inbox::Producer>(*inbox));
}

Acceptor::~Acceptor() { stop(); }

void Acceptor::start() {
  wait_acceptable();
  thread_ = std::thread([this] { io_.run(); });
}

void Acceptor::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    std::error_code ec;
    backoff_.cancel();
    acceptor_.close(ec);
  });
  thread_.join();
}

void Acceptor::wait_acceptable() {
  acceptor_.async_wait(asio::ip::tcp::acceptor::wait_read, [this](const std::error_code& ec) {
    if (!ec) accept_ready();
  });
}

void Acceptor::accept_ready() {
  for (;;) {
    const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      if (out_of_fds_) {
        out_of_fds_ = false;
        spdlog::info("accept: descriptors available again");
      }
      reactors_[next_]->send(msg::Adopt{fd});
      next_ = (next_ + 1) % reactors_.size();
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR || errno == ECONNABORTED) continue;
    accept_errors_.fetch_add(1, std::memory_order_relaxed);
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      // Out of descriptors: the pending connection stays in the backlog.
      // Try again later rather than spin on a readable socket; say so once
      // per episode, not every pause (accept_errors counts them all).
      if (!out_of_fds_) {
        out_of_fds_ = true;
        spdlog::warn("accept: {}; retrying every {} ms", std::generic_category().message(errno), kFdBackoff.count());
      }
      backoff_.expires_after(kFdBackoff);
      backoff_.async_wait([this](const std::error_code& ec) {
        if (!ec) wait_acceptable();
      });
      return;
    }
    spdlog::error("accept: {}", std::generic_category().message(errno));
    break;
  }
  wait_acceptable();
}

}  // namespace chat::server
