#pragma once
// The acceptor: owns the listening socket on its own thread and hands each
// accepted socket, as a raw fd, round-robin to the reactors' inboxes. It
// never touches a session.
// Thread safety: constructed and stopped by the server's thread; otherwise
// confined to its own thread.

#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "server/app/config.hpp"
#include "common/mailbox.hpp"
#include "server/chat/messages.hpp"

namespace chat::server {

class Acceptor {
 public:
  // Binds and listens at once, so the port is known (and a bind error is
  // thrown) before any thread starts.
  using Inbox = common::Mailbox<Message>;
  // `inboxes`: one per reactor, in reactor order.
  Acceptor(const Config& config, const std::vector<Inbox*>& inboxes);
  ~Acceptor();

  asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  void start();
  void stop();  // stops accepting, closes the listening socket, joins the thread
  std::uint64_t accept_errors() const { return accept_errors_.load(std::memory_order_relaxed); }

 private:
  void wait_acceptable();
  void accept_ready();

  asio::io_context io_;  // default concurrency hint: stop() posts from another thread
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer backoff_;
  asio::ip::tcp::endpoint endpoint_;
  std::vector<std::unique_ptr<Inbox::Producer>> reactors_;
  std::size_t next_ = 0;
  bool out_of_fds_ = false;
  std::atomic<std::uint64_t> accept_errors_{0};
  std::thread thread_;
};

}  // namespace chat::server
