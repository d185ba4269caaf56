#pragma once
// The acceptor: owns the listening sockets (the plaintext port, the TLS
// port, or both) on its own thread, asks admission
// (net/admission.hpp) about every accepted socket, refuses it there with one
// TOO_MANY_CONNECTIONS frame, or hands it, as a raw fd, round-robin to the
// reactors' inboxes. It never touches a session; the reactors tell it what
// became of its connections through its notes mailbox.
//
// Refusing costs this core an accept, an error written and a close, about
// 25 us each on the test VM: addresses connecting in a loop made it refuse
// 6,000 a second and took a fifth of the reactors' core. So refusals spend
// a budget (--max-refusals-per-second); while it is empty the acceptor does
// not accept at all, and new connections wait in the kernel's backlog (or
// are retried by their senders' TCP once it is full) until it refills. A
// connection already in stays as fast as without the flood; a newcomer
// waits its turn in the backlog.
// Thread safety: constructed and stopped by the server's thread; otherwise
// confined to its own thread, except its counters (accept_errors(),
// accept_pauses(), refused()), which any thread may read.

#include <asio.hpp>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "common/mailbox.hpp"
#include "common/token_bucket.hpp"
#include "server/app/config.hpp"
#include "server/chat/messages.hpp"
#include "server/net/admission.hpp"
#include "server/ops/metrics.hpp"

namespace chat::server {

class Acceptor {
 public:
  using Inbox = common::Mailbox<Message>;
  using Notes = common::Mailbox<AdmissionNote>;
  // Binds and listens at once, so the port is known (and a bind error is
  // thrown) before any thread starts.
  // `inboxes`: one per reactor, in reactor order. `notes`: the reactors'
  // mail to admission; it must outlive every producer into it.
  Acceptor(const Config& config, const Admission::Limits& limits, const std::vector<Inbox*>& inboxes, Notes& notes);
  ~Acceptor();

  // The plaintext port's endpoint, or the TLS port's when it is the only one.
  asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  std::optional<asio::ip::tcp::endpoint> tls_endpoint() const { return tls_endpoint_; }
  void start();
  void stop();  // stops accepting, closes the listening socket, joins the thread
  std::uint64_t accept_errors() const { return accept_errors_.load(std::memory_order_relaxed); }
  // Times the refusal budget ran out and accepting paused.
  std::uint64_t accept_pauses() const { return accept_pauses_.load(std::memory_order_relaxed); }
  // Connections refused (or dropped before login), by kRefusalReasons.
  std::uint64_t refused(std::size_t reason) const { return refused_[reason].load(std::memory_order_relaxed); }

 private:
  struct Listener {
    asio::ip::tcp::acceptor socket;
    bool tls = false;
    bool waiting = false;  // an async_wait is pending on it
  };
  void wait_acceptable(Listener& listener);
  void accept_ready(Listener& listener);
  // Waits `ms`, then for every listening socket again.
  void pause_accepting(std::uint32_t ms);
  // One accepted socket, at `now`: refused here, or handed to a reactor.
  void admit(int fd, const asio::ip::tcp::endpoint& peer, Admission::Clock::time_point now, bool tls);
  void refuse(int fd, const Admission::Verdict& verdict, Admission::Clock::time_point now, bool tls);
  void count(Refusal refusal);
  void wait_notes();
  void drain_notes();

  asio::io_context io_;  // default concurrency hint: stop() posts from another thread
  std::vector<Listener> listeners_;  // plaintext first, then TLS
  asio::steady_timer backoff_;
  bool paused_ = false;  // backoff_ will wait on every listener again
  asio::ip::tcp::endpoint endpoint_;
  std::optional<asio::ip::tcp::endpoint> tls_endpoint_;
  std::vector<std::unique_ptr<Inbox::Producer>> reactors_;
  std::size_t next_ = 0;
  std::uint64_t next_serial_ = 1;
  bool out_of_fds_ = false;
  bool stopped_ = false;
  std::atomic<std::uint64_t> accept_errors_{0};
  std::atomic<std::uint64_t> accept_pauses_{0};
  common::TokenBucket refusals_;  // the refusal budget
  // One writer, this thread (relaxed load+store, as ReactorMetrics does).
  std::array<Counter, kRefusalReasons.size()> refused_{};
  Admission admission_;
  Notes& notes_;
  asio::posix::stream_descriptor notes_wake_;
  std::thread thread_;
};

}  // namespace chat::server
