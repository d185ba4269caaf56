// Session: the connection's life. Start, read and decode, write, idle
// checks, close. The request handlers are in requests.cpp.
#include "server/session/session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "server/chat/frames.hpp"
#include "server/net/address.hpp"
#include "server/session/local_hub.hpp"

namespace chat::server {

using v1::Error;
using Reason = v1::Presence;

namespace {
constexpr std::chrono::milliseconds kErrorGrace{1000};
// The largest frame before login: room for a hello with the longest nick
// (and credentials, once accounts exist), so a socket that never logs in
// pins at most this much of a partial frame.
constexpr std::size_t kPreLoginFrameBytes = 1024;
}  // namespace

Session::Session(LocalHub& hub, SessionId id, std::unique_ptr<Transport> transport)
    : hub_(hub),
      id_(id),
      transport_(std::move(transport)),
      peer_(transport_->peer()),
      decoder_(std::min(kPreLoginFrameBytes, hub.config().max_frame_bytes)),
      limits_(hub.config(), Clock::now()),
      address_(address_key(peer_)),
      direct_bucket_(hub.config().dm_rate_per_sec, 2.0 * hub.config().dm_rate_per_sec, Clock::now()),
      created_(hub.config().room_create_per_min, std::chrono::minutes(1)),
      last_heard_(Clock::now()),
      connected_(last_heard_) {}

std::string Session::label() const {
  return std::to_string(reactor_of(id_)) + "." + std::to_string(id_ & ((SessionId{1} << kReactorShift) - 1));
}

void Session::start(const SharedFrame& welcome) {
  hub_.assert_owner();
  send(welcome);
  wait_readable();
}

// ------------------------------------------------------------------ reading

void Session::wait_readable() {
  transport_->wait_readable([self = shared_from_this()](const std::error_code& ec) { self->on_readable(ec); });
}

void Session::on_readable(const std::error_code& ec) {
  hub_.assert_owner();
  if (ec) return;
  if (!accepting_requests()) {
    // Its answers would not fit now (or a hello is pending): leave the bytes
    // in the kernel until resume().
    paused_ = state_ == State::kOpen;
    return;
  }
  // More has come while over a budget (replies it asked for can put it
  // there): leave it in the kernel's buffer, so TCP pushes back.
  const auto now = Clock::now();
  if (const auto limit = limits_.exhausted(now); limit != RateLimits::Limit::kNone) {
    stall(limit, now);
    return;
  }
  const std::span<char> buffer = hub_.read_buffer();
  std::error_code read_ec;
  const std::size_t n = transport_->read_some(buffer, read_ec);
  if (read_ec == asio::error::would_block || read_ec == asio::error::try_again) {
    wait_readable();
    return;
  }
  if (read_ec) {
    close_detail_ = read_ec == asio::error::eof ? "closed by peer" : read_ec.message();
    close(Reason::REASON_CLIENT_QUIT, nullptr, kErrorGrace);
    return;
  }
  limits_.bytes(now, n);
  process(std::string_view(buffer.data(), n));
}

bool Session::accepting_requests() const {
  return state_ == State::kOpen && reading_ && !nick_pending_ && !stalled_ && replies_fit();
}

// Requests go on while the large answers in flight, at max_reply_bytes
// each, fit beside what is unsent in half the outbox cap (the other half is
// for events); with nothing unsent and nothing awaited, always. Reading
// stops meanwhile (TCP backpressure) and goes on as answers arrive and the
// outbox drains; a client that never reads stays paused, over the soft
// limit or silent, until the soft limit or the idle timeout closes it.
bool Session::replies_fit() const {
  const Config& c = hub_.config();
  if (large_in_flight_ == 0 && outbox_.bytes() == 0) return true;
  return outbox_.bytes() + (large_in_flight_ + 1) * c.max_reply_bytes <= c.outbox_cap_bytes / 2;
}

void Session::answered() {
  if (large_in_flight_ > 0) --large_in_flight_;
  resume();
}

void Session::process(std::string_view bytes) {
  // Requests after a hello or rename wait until it has been answered, so a
  // client may send hello and join back to back, and what it says after a
  // rename goes out under the new nick. The answer is a message, and a
  // message never runs inside this loop (router.hpp), so no flag is needed.
  // Every frame takes a token; once none is left, or the bytes are in debt,
  // the frames after it wait in the decoder, unparsed.
  const common::DecodeError error = decoder_.feed(bytes, [this](std::string_view payload) {
    const auto now = Clock::now();
    limits_.frame(now);
    handle_frame(payload);
    return accepting_requests() && limits_.exhausted(now) == RateLimits::Limit::kNone;
  });
  switch (error) {
    case common::DecodeError::kNone:
      break;
    case common::DecodeError::kFrameTooLarge:
      close_for(Error::CODE_FRAME_TOO_LARGE, "frame exceeds " + std::to_string(decoder_.max_frame_bytes()) +
                                                 (logged_in() ? " bytes" : " bytes before login"));
      return;
    case common::DecodeError::kMalformedLength:
      close_for(Error::CODE_MALFORMED_FRAME, "bad length prefix");
      return;
  }
  if (!accepting_requests()) {
    paused_ = true;  // no read pending: resume() goes on (an answer, a drained outbox)
    return;
  }
  const auto now = Clock::now();
  const auto limit = limits_.exhausted(now);
  // Over a budget with requests waiting: stall. With none, read on; if more
  // comes before the budget refills, on_readable stalls.
  if (limit != RateLimits::Limit::kNone && decoder_.buffered() > 0) {
    stall(limit, now);
  } else {
    wait_readable();
  }
}

void Session::resume() {
  if (!paused_ || !accepting_requests()) return;
  paused_ = false;
  process({});
}

void Session::handle_frame(std::string_view payload) {
  ReactorMetrics::bump(hub_.metrics().frames_in);
  if (!note_frame()) return;
  v1::ClientFrame& frame = hub_.scratch_request();
  frame.Clear();
  if (!frame.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    close_for(Error::CODE_MALFORMED_FRAME, "frame is not a valid ClientFrame");
    return;
  }
  dispatch(frame);
}

// A protocol error: tell the client why, then close.
void Session::close_regained() {
  hub_.metrics().error(Error::CODE_REGAINED);
  close_detail_ = Error::Code_Name(Error::CODE_REGAINED);
  spdlog::info("{} regained by another login to its account (session {})", nick_, label());
  close(Reason::REASON_REGAINED,
        error_frame(Error::CODE_REGAINED, "another login to the account " + account_ + " replaced this one", 0),
        kErrorGrace);
}

void Session::close_for(Error::Code code, std::string_view text) {
  hub_.metrics().error(code);
  close_detail_ = Error::Code_Name(code);
  spdlog::debug("protocol error from {} (session {}): {}", peer_, label(), text);
  close(Reason::REASON_PROTOCOL_ERROR, error_frame(code, text, 0), kErrorGrace);
}

// ------------------------------------------------------------------ writing

// The slow-consumer rule (Redis's client-output-buffer-limit): what counts
// is bytes the socket refused, not one turn's queue, which goes out whole
// at the end of the turn if the socket takes it. Unsent while the socket
// refuses: over the outbox cap, the client is dropped at once (hard limit);
// over outbox_soft_bytes for outbox_soft_seconds, then (soft limit).
void Session::send(const LocalFrameRef& frame) {
  hub_.assert_owner();
  if (state_ != State::kOpen) return;
  outbox_.push(frame);
  ReactorMetrics::bump(hub_.metrics().frames_out);
  if (write_waiting_ && outbox_.bytes() > hub_.config().outbox_cap_bytes) {
    drop_slow_consumer("outbox over its cap; read faster");
    return;
  }
  if (!dirty_) {
    dirty_ = true;
    hub_.schedule_flush(shared_from_this());
  }
}

void Session::drop_slow_consumer(std::string_view why) {
  // Drop what it has not started to receive, tell it why, and let it go.
  // Nobody else waits for it.
  ReactorMetrics::bump(hub_.metrics().slow_consumer_disconnects);
  hub_.metrics().error(Error::CODE_SLOW_CONSUMER);
  close_detail_ = std::string(why);
  outbox_.drop_unstarted();
  close(Reason::REASON_SLOW_CONSUMER, error_frame(Error::CODE_SLOW_CONSUMER, why, 0), kErrorGrace);
}

void Session::check_outbox(Clock::time_point now) {
  if (state_ != State::kOpen) return;
  const Config& c = hub_.config();
  if (!write_waiting_ || outbox_.bytes() <= c.outbox_soft_bytes) {
    over_soft_since_.reset();
    return;
  }
  if (outbox_.bytes() > c.outbox_cap_bytes) {
    drop_slow_consumer("outbox over its cap; read faster");
    return;
  }
  if (!over_soft_since_) over_soft_since_ = now;
  if (now - *over_soft_since_ >= std::chrono::seconds(c.outbox_soft_seconds)) {
    drop_slow_consumer("outbox over its soft limit for too long; read faster");
  }
}

void Session::send_reply(const SharedFrame& frame) {
  limits_.bytes(Clock::now(), frame->size());
  send(frame);
}

void Session::flush(std::int64_t now_ns) {
  hub_.assert_owner();
  dirty_ = false;
  if (state_ == State::kClosed || write_waiting_) return;
  switch (outbox_.write_to(*transport_, hub_.write_buffer(), hub_.metrics().delivery_latency, now_ns)) {
    case Outbox::Write::kDone:
      over_soft_since_.reset();
      if (state_ == State::kClosing) linger();
      resume();
      return;
    case Outbox::Write::kBlocked:
      write_waiting_ = true;
      transport_->wait_writable([self = shared_from_this()](const std::error_code& ec) {
        self->write_waiting_ = false;
        if (!ec) self->flush();
      });
      check_outbox(Clock::now());
      resume();
      return;
    case Outbox::Write::kFailed:
      if (close_detail_.empty()) close_detail_ = "write failed";
      abort();
      return;
  }
}

// ---------------------------------------------------------------- lifecycle

// Everything is written: send a FIN, then read and drop what the client
// still sends until it closes too, or the close grace runs out. Closing with
// bytes unread would send an RST, and the client's kernel would throw away
// what the client had not read yet, the last frame (goodbye, error) among it.
void Session::linger() {
  if (lingering_) return;
  lingering_ = true;
  transport_->shutdown_send();
  drain_until_eof();
}

void Session::drain_until_eof() {
  const std::span<char> buffer = hub_.read_buffer();
  for (int i = 0; i < 16; ++i) {  // bounded: a flood waits for the next turn
    std::error_code ec;
    transport_->read_some(buffer, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) {
      abort();  // the client closed too (or the connection broke)
      return;
    }
  }
  transport_->wait_readable([self = shared_from_this()](const std::error_code& ec) {
    if (self->state_ != State::kClosing) return;
    if (ec) {
      self->abort();
      return;
    }
    self->drain_until_eof();
  });
}

void Session::check_idle(Clock::time_point now) {
  hub_.assert_owner();
  check_outbox(now);
  if (state_ != State::kOpen) return;
  if (stalled_) {
    last_heard_ = now;  // not heard because not read: it is not idle
    return;
  }
  if (!logged_in() && now - connected_ >= std::chrono::milliseconds(hub_.config().login_timeout_ms)) {
    close_for(Error::CODE_LOGIN_TIMEOUT,
              "no login within " + std::to_string(hub_.config().login_timeout_ms) + " ms of connecting");
    return;
  }
  const auto idle = std::chrono::milliseconds(hub_.config().idle_timeout_ms);
  const auto quiet = now - last_heard_;
  if (quiet >= idle) {
    ReactorMetrics::bump(hub_.metrics().idle_timeouts);
    hub_.metrics().error(Error::CODE_IDLE_TIMEOUT);
    close(Reason::REASON_IDLE_TIMEOUT, error_frame(Error::CODE_IDLE_TIMEOUT, "no traffic for too long", 0),
          kErrorGrace);
  } else if (quiet >= idle / 2 && !ping_sent_) {
    ping_sent_ = true;
    v1::ServerFrame ping;
    ping.mutable_ping()->set_nonce(static_cast<std::uint64_t>(now.time_since_epoch().count()));
    send(common::make_shared_frame(ping));
  }
}

void Session::close(v1::Presence::Reason reason, SharedFrame last_frame, std::chrono::milliseconds grace) {
  hub_.assert_owner();
  if (state_ != State::kOpen) return;
  state_ = State::kClosing;
  close_reason_ = reason;
  if (last_frame) {
    outbox_.push(LocalFrameRef(std::move(last_frame)));
    ReactorMetrics::bump(hub_.metrics().frames_out);
  }
  hub_.retire(shared_from_this());
  close_timer_ = std::make_unique<asio::steady_timer>(hub_.executor(), grace);
  close_timer_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec) self->abort();
  });
  if (!dirty_) {
    dirty_ = true;
    hub_.schedule_flush(shared_from_this());
  }
}

void Session::abort() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kOpen) {
    state_ = State::kClosing;
    close_reason_ = Reason::REASON_CLIENT_QUIT;
    hub_.retire(shared_from_this());
  }
  state_ = State::kClosed;
  transport_->close();
  hub_.note_closed(id_);  // before the gauge drops: a test that sees it drop may connect again
  // Counted open until its descriptor is gone, not merely until it is retired.
  ReactorMetrics::drop(hub_.metrics().connections_open);
  if (close_timer_) close_timer_->cancel();
  if (stall_timer_) stall_timer_->cancel();
  outbox_.clear();
}

}  // namespace chat::server
