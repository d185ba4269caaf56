#include "server/net/acceptor.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <system_error>

#include "server/chat/frames.hpp"
#include "server/net/address.hpp"
#include "server/net/listen.hpp"
#include "server/net/refusal.hpp"
#include "server/runtime/background_thread.hpp"

namespace chat::server {

namespace {
// How long to wait before accepting again when out of file descriptors;
// waiting (instead of retrying at once) is what keeps the thread from spinning.
constexpr std::chrono::milliseconds kFdBackoff{100};
// Notes handled per turn before the acceptor goes back to its socket.
constexpr std::size_t kNotesBatch = 4096;

const char* refusal_text(Refusal refusal) {
  switch (refusal) {
    case Refusal::kTotal:
      return "the server has too many connections; try again later";
    case Refusal::kPerAddress:
      return "too many connections from your address";
    case Refusal::kRate:
      return "connecting too fast from your address; see retry_after_ms";
    case Refusal::kPreLoginWaiting:
      return "the server is full of connections not logged in, and one from your address is waiting; log that one "
             "in, or retry after retry_after_ms";
    default:
      return "too many connections";
  }
}
}  // namespace

Acceptor::Acceptor(const Config& config, const Admission::Limits& limits, const std::vector<Inbox*>& inboxes,
                   Notes& notes)
    : backoff_(io_),
      refusals_(config.max_refusals_per_second, std::max(config.max_refusals_per_second / 10, 1.0),
                common::TokenBucket::Clock::now()),
      admission_(limits),
      notes_(notes),
      notes_wake_(io_, ::dup(notes.wake_fd())) {
  if (config.plaintext()) {
    listeners_.push_back({listen_on(io_, config.bind, config.port, "the chat listener (--bind, --port)")});
    if (!asio::ip::make_address(config.bind).is_loopback()) {
      spdlog::warn("the plaintext port {} is open beyond this machine: messages, nicks and everything else cross "
                   "the network unencrypted; serve TLS (--tls-cert, --tls-key, --tls-only) to the internet",
                   to_string(listeners_.back().socket.local_endpoint()));
    }
  }
  if (config.tls()) {
    listeners_.push_back({listen_on(io_, config.bind, config.tls_port, "the TLS listener (--bind, --tls-port)"), true});
    tls_endpoint_ = listeners_.back().socket.local_endpoint();
  }
  for (Listener& listener : listeners_) listener.socket.non_blocking(true);
  endpoint_ = listeners_.front().socket.local_endpoint();
  for (Inbox* inbox : inboxes) reactors_.push_back(std::make_unique<Inbox::Producer>(*inbox));
}

Acceptor::~Acceptor() { stop(); }

void Acceptor::start() {
  for (Listener& listener : listeners_) wait_acceptable(listener);
  drain_notes();  // arms the notes mailbox before the first sleep
  thread_ = std::thread([this] {
    run_as_background_thread("acceptor");
    io_.run();
  });
}

void Acceptor::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    std::error_code ec;
    stopped_ = true;
    backoff_.cancel();
    for (Listener& listener : listeners_) listener.socket.close(ec);
    notes_wake_.close(ec);
  });
  thread_.join();
}

void Acceptor::wait_acceptable(Listener& listener) {
  if (listener.waiting) return;
  listener.waiting = true;
  listener.socket.async_wait(asio::ip::tcp::acceptor::wait_read, [this, &listener](const std::error_code& ec) {
    listener.waiting = false;
    if (!ec && !paused_) accept_ready(listener);
  });
}

void Acceptor::accept_ready(Listener& listener) {
  // The latest closes first, so a slot freed a moment ago is free now.
  notes_.drain(kNotesBatch, [this](AdmissionNote&& note) { admission_.on(note); });
  for (;;) {
    const Admission::Clock::time_point now = Admission::Clock::now();
    if (const std::uint32_t wait = refusals_.retry_after_ms(now); wait > 0) {
      accept_pauses_.fetch_add(1, std::memory_order_relaxed);
      return pause_accepting(wait);
    }
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int fd = ::accept4(listener.socket.native_handle(), reinterpret_cast<sockaddr*>(&addr), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      if (out_of_fds_) {
        out_of_fds_ = false;
        spdlog::info("accept: descriptors available again");
      }
      asio::ip::tcp::endpoint peer;
      std::memcpy(peer.data(), &addr, std::min<std::size_t>(len, peer.capacity()));
      admit(fd, peer, now, listener.tls);
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
      return pause_accepting(static_cast<std::uint32_t>(kFdBackoff.count()));
    }
    spdlog::error("accept: {}", std::generic_category().message(errno));
    break;
  }
  wait_acceptable(listener);
}

void Acceptor::pause_accepting(std::uint32_t ms) {
  paused_ = true;
  backoff_.expires_after(std::chrono::milliseconds(ms));
  backoff_.async_wait([this](const std::error_code& ec) {
    if (ec) return;
    paused_ = false;
    for (Listener& listener : listeners_) wait_acceptable(listener);
  });
}

void Acceptor::admit(int fd, const asio::ip::tcp::endpoint& peer, Admission::Clock::time_point now, bool tls) {
  const AddressKey key = address_key(to_string(peer));
  const Admission::Verdict verdict = admission_.check(key, now);
  if (verdict.refusal != Refusal::kNone) {
    spdlog::debug("refused {}: {}", key, kRefusalReasons[static_cast<std::size_t>(verdict.refusal) - 1]);
    refuse(fd, verdict, now, tls);
    return;
  }
  const auto reactor = static_cast<std::uint32_t>(next_);
  next_ = (next_ + 1) % reactors_.size();
  const SessionId session = make_session_id(reactor, next_serial_++);
  const std::optional<SessionId> oldest = admission_.admit(session, key);
  reactors_[reactor]->send(msg::Adopt{fd, session, tls});
  if (oldest) {
    count(Refusal::kPreLogin);
    reactors_[reactor_of(*oldest)]->send(msg::DropPreLogin{*oldest});
  }
}

// One Error frame, a FIN after it, and the descriptor closed at once
// (refusal.hpp): a refused connection costs no reactor anything. On the TLS port
// the frame is left out: a TLS client would read it as a broken record
// ("wrong version number"), and a handshake to send it is the cost
// refusing avoids; the client sees the connection closed.
void Acceptor::refuse(int fd, const Admission::Verdict& verdict, Admission::Clock::time_point now, bool tls) {
  count(verdict.refusal);
  refusals_.charge(now, 1);
  if (tls) {
    send_refusal(fd, {});
  } else {
    const SharedFrame frame =
        error_frame(v1::Error::CODE_TOO_MANY_CONNECTIONS, refusal_text(verdict.refusal), 0, verdict.retry_after_ms);
    send_refusal(fd, std::string_view(frame->data(), frame->size()));
  }
  ::close(fd);
}

void Acceptor::count(Refusal refusal) {
  Counter& c = refused_[static_cast<std::size_t>(refusal) - 1];
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void Acceptor::wait_notes() {
  notes_wake_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const std::error_code& ec) {
    if (ec) return;
    notes_.clear_wake();
    drain_notes();
  });
}

void Acceptor::drain_notes() {
  if (stopped_) return;
  const std::size_t n = notes_.drain(kNotesBatch, [this](AdmissionNote&& note) { admission_.on(note); });
  if (n == kNotesBatch || !notes_.arm()) {
    asio::post(io_, [this] { drain_notes(); });
  } else {
    wait_notes();
  }
}

}  // namespace chat::server
