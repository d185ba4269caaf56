#pragma once
// A connection actor: one client's socket, frame decoder, outbox and chat
// state (nick, rooms). It parses requests, checks them, and sends them on to
// the owner of the room or nick; replies come back through its reactor.
// Thread safety: reactor-confined. Destroyed only after its reactor has
// retired it and its last asynchronous operation has finished.

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/framing.hpp"
#include "common/token_bucket.hpp"
#include "server/local_frame.hpp"
#include "server/messages.hpp"

namespace chat::server {

class Reactor;

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Clock = std::chrono::steady_clock;

  Session(Reactor& reactor, SessionId id, asio::ip::tcp::socket socket);

  SessionId id() const { return id_; }
  const std::string& nick() const { return nick_; }
  bool logged_in() const { return !nick_.empty(); }
  bool open() const { return state_ == State::kOpen; }
  // A room joined, or asked to join and not yet answered; `join` numbers the
  // request it came from.
  struct Membership {
    std::string room;
    std::uint64_t join = 0;
  };
  const std::vector<Membership>& rooms() const { return rooms_; }
  // Whether the owner's answer to join number `join` of `room` is still
  // wanted: false once the session has left the room (or left and joined it
  // again) while the answer was on its way.
  bool is_current_join(const std::string& room, std::uint64_t join) const;
  // The owner refused join number `join` of `room`: forget it if current.
  void forget_join(const std::string& room, std::uint64_t join);
  v1::Presence::Reason close_reason() const { return close_reason_; }

  void start(const SharedFrame& welcome);

  // Queues a frame; it goes out with the next flush of this reactor turn.
  // Past the outbox cap the session is closed as a slow consumer. The fan-out
  // path passes one LocalFrameRef to every local member; a single reply may
  // pass its SharedFrame.
  void send(const LocalFrameRef& frame);
  void send(const SharedFrame& frame) { send(LocalFrameRef(frame)); }
  // Writes as much of the outbox as the socket takes now (one gather write).
  void flush();

  // The nick owner's answer to this session's hello or rename.
  void on_nick_claimed(const msg::NickClaimed& m);
  // Called once per reactor tick: pings a quiet client, closes a silent one.
  void check_idle(Clock::time_point now);
  // Stop reading requests (shutdown, first phase).
  void stop_reading() { reading_ = false; }
  // Stops reading, queues `last_frame` (if any), flushes for at most `grace`,
  // then closes. The reactor retires the session from every list at once.
  void close(v1::Presence::Reason reason, SharedFrame last_frame, std::chrono::milliseconds grace);

 private:
  enum class State { kOpen, kClosing, kClosed };

  void wait_readable();
  void on_readable(const std::error_code& ec);
  // Decodes and handles requests until the bytes run out or handling pauses.
  void process(std::string_view bytes);
  bool accepting_requests() const;
  void handle_frame(std::string_view payload);
  void dispatch(v1::ClientFrame& frame);
  void reply_error(v1::Error::Code code, std::string_view text, std::uint64_t request_id,
                   std::uint32_t retry_after_ms = 0);
  bool require_login(std::uint64_t request_id);
  // Asks the nick's owner for it; requests wait until it answers.
  void claim_nick(std::string nick, std::uint64_t request_id);
  SharedFrame rename_reply(const std::string& old_nick, std::uint64_t request_id) const;
  // Canonical room name, or an INVALID_ROOM error and nothing.
  std::optional<std::string> room_arg(const std::string& room, std::uint64_t request_id);
  // The session's entry for `room` (a room is listed at most once), or null.
  const Membership* membership(const std::string& room) const;
  void drop(const Membership& m);  // m: an entry of rooms_
  bool is_member(const std::string& room) const;
  bool check_body(const std::string& text, std::uint64_t request_id);
  void consume_written(std::size_t n);
  void abort();

  Reactor& reactor_;
  const SessionId id_;
  asio::ip::tcp::socket socket_;
  common::FrameDecoder decoder_;
  common::TokenBucket bucket_;

  State state_ = State::kOpen;
  bool reading_ = true;
  bool write_waiting_ = false;
  bool dirty_ = false;  // queued on the reactor's flush list
  v1::Presence::Reason close_reason_ = v1::Presence::REASON_UNSPECIFIED;
  std::optional<asio::steady_timer> close_timer_;

  // Outbox: frames [head_, end) not yet fully written; the first is written
  // up to head_offset_. outbox_bytes_ counts their whole sizes.
  std::vector<LocalFrameRef> outbox_;
  std::size_t head_ = 0;
  std::size_t head_offset_ = 0;
  std::size_t outbox_bytes_ = 0;

  std::string nick_;
  bool nick_pending_ = false;
  bool processing_ = false;  // inside process(): see on_nick_claimed
  std::vector<Membership> rooms_;
  std::uint64_t next_join_ = 1;

  Clock::time_point last_heard_;
  bool ping_sent_ = false;
};

}  // namespace chat::server
