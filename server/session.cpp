#include "server/session.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/names.hpp"
#include "server/frames.hpp"
#include "server/reactor.hpp"

namespace chat::server {

using v1::Error;
using Reason = v1::Presence;

namespace {
constexpr std::size_t kMaxIov = 64;  // segments per gather write
// Frames up to this size are copied into one segment; larger ones are not.
constexpr std::size_t kCoalesceBytes = 2048;
constexpr std::chrono::milliseconds kErrorGrace{1000};
}  // namespace

Session::Session(Reactor& reactor, SessionId id, asio::ip::tcp::socket socket)
    : reactor_(reactor),
      id_(id),
      socket_(std::move(socket)),
      decoder_(reactor.config().max_frame_bytes),
      bucket_(reactor.config().rate_per_sec, reactor.config().rate_burst, Clock::now()),
      last_heard_(Clock::now()) {}

void Session::start(const SharedFrame& welcome) {
  std::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  send(welcome);
  wait_readable();
}

// ------------------------------------------------------------------ reading

void Session::wait_readable() {
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](const std::error_code& ec) { self->on_readable(ec); });
}

void Session::on_readable(const std::error_code& ec) {
  if (ec || state_ != State::kOpen || !reading_) return;
  const std::span<char> buffer = reactor_.read_buffer();
  std::error_code read_ec;
  const std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), read_ec);
  if (read_ec == asio::error::would_block || read_ec == asio::error::try_again) {
    wait_readable();
    return;
  }
  if (read_ec) {
    close(Reason::REASON_CLIENT_QUIT, nullptr, kErrorGrace);
    return;
  }
  last_heard_ = Clock::now();
  ping_sent_ = false;
  process(std::string_view(buffer.data(), n));
}

bool Session::accepting_requests() const {
  return state_ == State::kOpen && reading_ && !nick_pending_;
}

void Session::process(std::string_view bytes) {
  // Requests after a hello or rename wait until the nick's owner has
  // answered, so a client may send hello and join back to back, and what it
  // says after a rename goes out under the new nick.
  processing_ = true;
  const common::DecodeError error = decoder_.feed(bytes, [this](std::string_view payload) {
    handle_frame(payload);
    return accepting_requests();
  });
  processing_ = false;
  switch (error) {
    case common::DecodeError::kNone:
      break;
    case common::DecodeError::kFrameTooLarge:
      reactor_.metrics().error(Error::CODE_FRAME_TOO_LARGE);
      close(Reason::REASON_PROTOCOL_ERROR,
            error_frame(Error::CODE_FRAME_TOO_LARGE,
                        "frame exceeds " + std::to_string(reactor_.config().max_frame_bytes) + " bytes", 0),
            kErrorGrace);
      return;
    case common::DecodeError::kMalformedLength:
      reactor_.metrics().error(Error::CODE_MALFORMED_FRAME);
      close(Reason::REASON_PROTOCOL_ERROR,
            error_frame(Error::CODE_MALFORMED_FRAME, "bad length prefix", 0), kErrorGrace);
      return;
  }
  if (accepting_requests()) wait_readable();
}

void Session::handle_frame(std::string_view payload) {
  ReactorMetrics::bump(reactor_.metrics().frames_in);
  v1::ClientFrame& frame = reactor_.scratch_request();
  frame.Clear();
  if (!frame.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    reactor_.metrics().error(Error::CODE_MALFORMED_FRAME);
    close(Reason::REASON_PROTOCOL_ERROR,
          error_frame(Error::CODE_MALFORMED_FRAME, "frame is not a valid ClientFrame", 0),
          kErrorGrace);
    return;
  }
  // A pong answers our own ping; it is never rate limited.
  if (frame.body_case() != v1::ClientFrame::kPong) {
    const auto now = Clock::now();
    if (!bucket_.try_take(now)) {
      ReactorMetrics::bump(reactor_.metrics().rate_limited);
      reply_error(Error::CODE_RATE_LIMITED, "too many requests; slow down", frame.request_id(),
                  bucket_.retry_after_ms(now));
      return;
    }
  }
  dispatch(frame);
}

// --------------------------------------------------------------- requests

void Session::dispatch(v1::ClientFrame& frame) {
  const std::uint64_t rid = frame.request_id();
  const Config& config = reactor_.config();
  switch (frame.body_case()) {
    case v1::ClientFrame::kHello: {
      std::string& nick = *frame.mutable_hello()->mutable_nick();
      if (logged_in() || nick_pending_) {
        reply_error(Error::CODE_ALREADY_LOGGED_IN, "already logged in as " + nick_, rid);
        return;
      }
      if (!common::is_valid_nick(nick, config.max_nick_bytes)) {
        reply_error(Error::CODE_INVALID_NICK,
                    "a nick is 1-" + std::to_string(config.max_nick_bytes) +
                        " of A-Z a-z 0-9 _ -, starting with a letter",
                    rid);
        return;
      }
      claim_nick(std::move(nick), rid);
      return;
    }
    case v1::ClientFrame::kPing: {
      v1::ServerFrame reply;
      reply.set_request_id(rid);
      reply.mutable_pong()->set_nonce(frame.ping().nonce());
      send(common::make_shared_frame(reply));
      return;
    }
    case v1::ClientFrame::kPong:
      return;
    case v1::ClientFrame::BODY_NOT_SET:
      reply_error(Error::CODE_UNKNOWN_REQUEST, "unknown or empty request", rid);
      return;
    default:
      break;
  }
  if (!require_login(rid)) return;

  switch (frame.body_case()) {
    case v1::ClientFrame::kRename: {
      std::string& nick = *frame.mutable_rename()->mutable_nick();
      if (!common::is_valid_nick(nick, config.max_nick_bytes)) {
        reply_error(Error::CODE_INVALID_NICK, "not a valid nick: " + nick, rid);
        return;
      }
      if (nick == nick_) {
        send(rename_reply(nick_, rid));
        return;
      }
      claim_nick(std::move(nick), rid);
      return;
    }
    case v1::ClientFrame::kJoin: {
      auto room = room_arg(frame.join().room(), rid);
      if (!room) return;
      if (is_member(*room)) {
        reply_error(Error::CODE_ALREADY_A_MEMBER, "already in " + *room, rid);
        return;
      }
      // Joins in flight count, so pipelined joins cannot pass the cap.
      if (rooms_.size() >= config.max_joined) {
        reply_error(Error::CODE_TOO_MANY_JOINED,
                    "already in " + std::to_string(config.max_joined) + " rooms; leave one first", rid);
        return;
      }
      const std::uint64_t join = next_join_++;
      rooms_.push_back(Membership{*room, join});
      const auto owner = reactor_.room_owner(*room);
      reactor_.send(owner, msg::Join{std::move(*room), nick_, id_, rid, join});
      return;
    }
    case v1::ClientFrame::kLeave: {
      auto room = room_arg(frame.leave().room(), rid);
      if (!room) return;
      const Membership* m = membership(*room);
      if (m == nullptr) {
        reply_error(Error::CODE_NOT_A_MEMBER, "not in " + *room, rid);
        return;
      }
      drop(*m);
      reactor_.remove_local_member(*room, this);
      const auto owner = reactor_.room_owner(*room);
      reactor_.send(owner, msg::Leave{std::move(*room), nick_, id_, rid});
      return;
    }
    case v1::ClientFrame::kSay: {
      auto& say = *frame.mutable_say();
      auto room = room_arg(say.room(), rid);
      if (!room) return;
      if (!is_member(*room)) {
        reply_error(Error::CODE_NOT_A_MEMBER, "join " + *room + " before you speak there", rid);
        return;
      }
      if (!check_body(say.text(), rid)) return;
      const auto owner = reactor_.room_owner(*room);
      reactor_.send(owner, msg::Publish{std::move(*room), nick_, std::move(*say.mutable_text()),
                                 say.client_msg_id(), id_, rid});
      return;
    }
    case v1::ClientFrame::kDirect: {
      auto& direct = *frame.mutable_direct();
      if (!common::is_valid_nick(direct.nick(), config.max_nick_bytes)) {
        reply_error(Error::CODE_INVALID_NICK, "not a valid nick: " + direct.nick(), rid);
        return;
      }
      if (!check_body(direct.text(), rid)) return;
      const auto owner = reactor_.nick_owner(direct.nick());
      reactor_.send(owner, msg::RouteDirect{std::move(*direct.mutable_nick()), nick_,
                                            std::move(*direct.mutable_text()), id_, rid});
      return;
    }
    case v1::ClientFrame::kListRooms:
      reactor_.list_rooms(id_, rid);
      return;
    case v1::ClientFrame::kWho:
    case v1::ClientFrame::kGetTopic:
    case v1::ClientFrame::kSetTopic:
    case v1::ClientFrame::kHistory: {
      msg::RoomQuery q;
      q.session = id_;
      q.request_id = rid;
      q.nick = nick_;
      const std::string* room_name = nullptr;
      if (frame.has_who()) {
        q.kind = msg::RoomQuery::Kind::kWho;
        room_name = &frame.who().room();
      } else if (frame.has_get_topic()) {
        q.kind = msg::RoomQuery::Kind::kGetTopic;
        room_name = &frame.get_topic().room();
      } else if (frame.has_set_topic()) {
        q.kind = msg::RoomQuery::Kind::kSetTopic;
        room_name = &frame.set_topic().room();
        if (frame.set_topic().topic().size() > config.max_topic_bytes) {
          reply_error(Error::CODE_TOPIC_TOO_LONG,
                      "a topic is at most " + std::to_string(config.max_topic_bytes) + " bytes", rid);
          return;
        }
        q.topic = frame.set_topic().topic();
      } else {
        const auto& h = frame.history();
        q.kind = msg::RoomQuery::Kind::kHistory;
        room_name = &h.room();
        q.before_seq = h.before_seq();
        q.has_after = h.has_after_seq();
        q.after_seq = h.after_seq();
        q.limit = h.limit();
      }
      auto room = room_arg(*room_name, rid);
      if (!room) return;
      if (q.kind == msg::RoomQuery::Kind::kSetTopic && !is_member(*room)) {
        reply_error(Error::CODE_NOT_A_MEMBER, "join " + *room + " to set its topic", rid);
        return;
      }
      q.room = std::move(*room);
      const auto owner = reactor_.room_owner(q.room);
      reactor_.send(owner, std::move(q));
      return;
    }
    default:
      reply_error(Error::CODE_UNKNOWN_REQUEST, "unknown request", rid);
      return;
  }
}

void Session::claim_nick(std::string nick, std::uint64_t request_id) {
  nick_pending_ = true;
  // The owner is computed before the message takes the string.
  const auto owner = reactor_.nick_owner(nick);
  reactor_.send(owner, msg::ClaimNick{std::move(nick), id_, request_id});
}

void Session::on_nick_claimed(const msg::NickClaimed& m) {
  nick_pending_ = false;
  if (!m.ok) {
    reply_error(Error::CODE_NICK_TAKEN, "nick is taken: " + m.nick, m.request_id);
  } else if (!logged_in()) {
    nick_ = m.nick;
    v1::ServerFrame reply;
    reply.set_request_id(m.request_id);
    reply.mutable_hello()->set_nick(nick_);
    send(common::make_shared_frame(reply));
  } else {
    // A rename. The old nick is given back unless only its case changed (the
    // owner has respelled the same entry). Each room owner hears of it after
    // every earlier Join and Publish of this session, on the same channel.
    std::string old = std::exchange(nick_, m.nick);
    if (common::fold_case(old) != common::fold_case(nick_)) {
      reactor_.send(reactor_.nick_owner(old), msg::ReleaseNick{old, id_});
    }
    send(rename_reply(old, m.request_id));  // first: before a room owner here answers
    for (const Membership& r : rooms_) {
      reactor_.send(reactor_.room_owner(r.room), msg::Rename{r.room, id_, old, nick_});
    }
  }
  // Go on with whatever the client sent after its hello or rename. When the
  // nick's owner is this reactor, the answer came back inside process(),
  // whose loop goes on by itself: decoding again from here would hand the
  // same buffered frames out twice and wait for the socket twice.
  if (!processing_ && accepting_requests()) process({});
}

SharedFrame Session::rename_reply(const std::string& old_nick, std::uint64_t request_id) const {
  v1::ServerFrame reply;
  reply.set_request_id(request_id);
  reply.mutable_rename()->set_old_nick(old_nick);
  reply.mutable_rename()->set_nick(nick_);
  return common::make_shared_frame(reply);
}

void Session::reply_error(Error::Code code, std::string_view text, std::uint64_t request_id,
                          std::uint32_t retry_after_ms) {
  reactor_.metrics().error(code);
  send(error_frame(code, text, request_id, retry_after_ms));
}

bool Session::require_login(std::uint64_t request_id) {
  if (logged_in()) return true;
  reply_error(Error::CODE_NOT_LOGGED_IN, "say hello with a nick first", request_id);
  return false;
}

std::optional<std::string> Session::room_arg(const std::string& room, std::uint64_t request_id) {
  auto canonical = common::canonical_room(room, reactor_.config().max_room_bytes);
  if (!canonical) {
    reply_error(Error::CODE_INVALID_ROOM,
                "a room is '#' and 1-" + std::to_string(reactor_.config().max_room_bytes - 1) +
                    " of A-Z a-z 0-9 _ . -",
                request_id);
  }
  return canonical;
}

const Session::Membership* Session::membership(const std::string& room) const {
  auto it = std::find_if(rooms_.begin(), rooms_.end(), [&](const Membership& m) { return m.room == room; });
  return it == rooms_.end() ? nullptr : &*it;
}

void Session::drop(const Membership& m) { rooms_.erase(rooms_.begin() + (&m - rooms_.data())); }

bool Session::is_member(const std::string& room) const { return membership(room) != nullptr; }

bool Session::is_current_join(const std::string& room, std::uint64_t join) const {
  const Membership* m = membership(room);
  return m != nullptr && m->join == join;
}

void Session::forget_join(const std::string& room, std::uint64_t join) {
  const Membership* m = membership(room);
  if (m != nullptr && m->join == join) drop(*m);
}

bool Session::check_body(const std::string& text, std::uint64_t request_id) {
  if (text.empty()) {
    reply_error(Error::CODE_EMPTY_BODY, "message text is empty", request_id);
    return false;
  }
  if (text.size() > reactor_.config().max_body_bytes) {
    reply_error(Error::CODE_BODY_TOO_LONG,
                "message text is over " + std::to_string(reactor_.config().max_body_bytes) + " bytes",
                request_id);
    return false;
  }
  return true;
}

// ------------------------------------------------------------------ writing

void Session::send(const LocalFrameRef& frame) {
  if (state_ != State::kOpen) return;
  outbox_.push_back(frame);
  outbox_bytes_ += frame->size();
  ReactorMetrics::bump(reactor_.metrics().frames_out);
  if (outbox_bytes_ > reactor_.config().outbox_cap_bytes) {
    // Slow consumer: drop what it has not started to receive, tell it why,
    // and let it go. Nobody else waits for it.
    ReactorMetrics::bump(reactor_.metrics().slow_consumer_disconnects);
    reactor_.metrics().error(Error::CODE_SLOW_CONSUMER);
    const std::size_t keep = head_ + (head_offset_ > 0 ? 1 : 0);
    outbox_.resize(keep);
    outbox_bytes_ = 0;
    for (std::size_t i = head_; i < keep; ++i) outbox_bytes_ += outbox_[i]->size();
    close(Reason::REASON_SLOW_CONSUMER,
          error_frame(Error::CODE_SLOW_CONSUMER, "outbox over its cap; read faster", 0),
          kErrorGrace);
    return;
  }
  if (!dirty_) {
    dirty_ = true;
    reactor_.schedule_flush(shared_from_this());
  }
}

void Session::flush() {
  dirty_ = false;
  if (state_ == State::kClosed || write_waiting_) return;
  const std::span<char> scratch = reactor_.write_buffer();
  std::array<asio::const_buffer, kMaxIov> iov;
  while (head_ < outbox_.size()) {
    // One gather write per turn. Small frames are copied back to back into
    // the reactor's scratch buffer and go out as one segment: that copy costs
    // less than the kernel's per-segment work on a long iovec of small
    // frames (+20% deliveries per CPU-second in BENCHMARKS.md). A large frame
    // is its own segment, never copied.
    std::size_t count = 0;
    std::size_t used = 0;            // bytes of scratch taken
    std::size_t segment_start = 0;   // where the open scratch segment began
    bool segment_open = false;       // iov[count - 1] is that segment
    for (std::size_t i = head_; i < outbox_.size() && count < kMaxIov; ++i) {
      const std::string& f = *outbox_[i];
      const std::size_t skip = (i == head_) ? head_offset_ : 0;
      const char* data = f.data() + skip;
      const std::size_t len = f.size() - skip;
      if (len > kCoalesceBytes) {
        iov[count++] = asio::buffer(data, len);
        segment_open = false;
        continue;
      }
      if (used + len > scratch.size()) break;
      std::memcpy(scratch.data() + used, data, len);
      used += len;
      if (!segment_open) {
        segment_start = used - len;
        segment_open = true;
        ++count;
      }
      iov[count - 1] = asio::buffer(scratch.data() + segment_start, used - segment_start);
    }
    // One segment (the usual case) goes out with send(), which skips the
    // kernel's iovec import; several with sendmsg().
    std::error_code ec;
    const std::size_t n = count == 1 ? socket_.write_some(iov[0], ec)
                                     : socket_.write_some(std::span<const asio::const_buffer>(iov.data(), count), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      write_waiting_ = true;
      socket_.async_wait(asio::ip::tcp::socket::wait_write,
                         [self = shared_from_this()](const std::error_code& wait_ec) {
                           self->write_waiting_ = false;
                           if (!wait_ec) self->flush();
                         });
      return;
    }
    if (ec) {
      abort();
      return;
    }
    consume_written(n);
  }
  outbox_.clear();
  head_ = 0;
  if (state_ == State::kClosing) abort();
}

void Session::consume_written(std::size_t n) {
  while (n > 0) {
    const std::size_t left = outbox_[head_]->size() - head_offset_;
    if (n < left) {
      head_offset_ += n;
      return;
    }
    n -= left;
    outbox_bytes_ -= outbox_[head_]->size();
    outbox_[head_].reset();
    ++head_;
    head_offset_ = 0;
  }
}

// ---------------------------------------------------------------- lifecycle

void Session::check_idle(Clock::time_point now) {
  if (state_ != State::kOpen) return;
  const auto idle = std::chrono::milliseconds(reactor_.config().idle_timeout_ms);
  const auto quiet = now - last_heard_;
  if (quiet >= idle) {
    ReactorMetrics::bump(reactor_.metrics().idle_timeouts);
    reactor_.metrics().error(Error::CODE_IDLE_TIMEOUT);
    close(Reason::REASON_IDLE_TIMEOUT,
          error_frame(Error::CODE_IDLE_TIMEOUT, "no traffic for too long", 0), kErrorGrace);
  } else if (quiet >= idle / 2 && !ping_sent_) {
    ping_sent_ = true;
    v1::ServerFrame ping;
    ping.mutable_ping()->set_nonce(static_cast<std::uint64_t>(now.time_since_epoch().count()));
    send(common::make_shared_frame(ping));
  }
}

void Session::close(v1::Presence::Reason reason, SharedFrame last_frame,
                    std::chrono::milliseconds grace) {
  if (state_ != State::kOpen) return;
  state_ = State::kClosing;
  close_reason_ = reason;
  if (last_frame) {
    outbox_bytes_ += last_frame->size();
    outbox_.emplace_back(std::move(last_frame));
    ReactorMetrics::bump(reactor_.metrics().frames_out);
  }
  reactor_.retire(shared_from_this());
  close_timer_.emplace(socket_.get_executor(), grace);
  close_timer_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec) self->abort();
  });
  if (!dirty_) {
    dirty_ = true;
    reactor_.schedule_flush(shared_from_this());
  }
}

void Session::abort() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kOpen) {
    state_ = State::kClosing;
    close_reason_ = Reason::REASON_CLIENT_QUIT;
    reactor_.retire(shared_from_this());
  }
  state_ = State::kClosed;
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  // Counted open until its descriptor is gone, not merely until it is retired.
  ReactorMetrics::drop(reactor_.metrics().connections_open);
  if (close_timer_) close_timer_->cancel();
  outbox_.clear();
  outbox_bytes_ = 0;
}

}  // namespace chat::server
