#pragma once
// A connection actor: one client's transport, frame decoder, outbox and chat
// state (nick, rooms). session.cpp is its life (start, read and decode,
// write, idle, close); requests.cpp has one handler per request type, each
// checking its request and sending it on to the owner of the room or nick.
// Answers come back through the reactor's LocalHub.
// Thread safety: reactor-confined. Destroyed only after the hub has retired
// it and its last asynchronous operation has finished.

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/framing.hpp"
#include "server/chat/messages.hpp"
#include "server/net/local_frame.hpp"
#include "server/net/outbox.hpp"
#include "server/net/transport.hpp"
#include "server/session/creation_budget.hpp"
#include "server/session/rate_limits.hpp"

namespace chat::server {

class LocalHub;

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Clock = std::chrono::steady_clock;

  Session(LocalHub& hub, SessionId id, std::unique_ptr<Transport> transport);

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
  // What closed it, for the log ("closed by peer", "CODE_MALFORMED_FRAME").
  const std::string& close_detail() const { return close_detail_; }
  // The peer's address, taken when the connection was adopted (the log
  // needs it after the socket is closed).
  const std::string& peer() const { return peer_; }
  // "R.S": the session's reactor and serial, as the log names it.
  std::string label() const;

  void start(const SharedFrame& welcome);

  // Queues a frame; it goes out with the next flush of this reactor turn.
  // Past the outbox cap the session is closed as a slow consumer. The fan-out
  // path passes one LocalFrameRef to every local member; a single reply may
  // pass its SharedFrame.
  void send(const LocalFrameRef& frame);
  void send(const SharedFrame& frame) { send(LocalFrameRef(frame)); }
  // A reply to this session's own request (history, room list, who, topic,
  // a direct message's ack):
  // its bytes are charged to the session's byte budget, then it is sent.
  void send_reply(const SharedFrame& frame);
  // Writes as much of the outbox as the transport takes now. `now_ns`: the
  // time for the latency histogram (monotonic_ns(), read once per flush
  // pass by the hub); 0: read it here if a room message is written.
  void flush(std::int64_t now_ns = 0);

  // Answers to this session's hello and rename (identity.cpp). Requests
  // behind the hello or rename wait for them, then go on.
  void on_authenticated(msg::Authenticated&& m);
  void on_nick_claimed(const msg::NickClaimed& m);
  // Answers to register, change_password and drop (identity.cpp), and the
  // close when another login to the account regained it.
  void on_account_changed(const msg::AccountChanged& m);
  void close_regained();
  // Direct messages (identity.cpp). A live one for this session; and those
  // kept for its account while it was offline, which come once at its
  // login, are sent right after the hello reply, and go before any live
  // one (those wait behind them meanwhile).
  void send_direct(const SharedFrame& frame);
  void on_stored_directs(std::vector<msg::StoredDirect>&& directs);
  // The account this session is logged in to; empty for a guest.
  const std::string& account() const { return account_; }
  // One of the requests whose answer may be up to max_reply_bytes (join,
  // history, list) went to its owner; answered() when its answer (or an
  // error) arrives. Decoding pauses while the answers in flight might not
  // fit under the outbox cap with what is unsent: the client's own
  // pipelined requests never make it a slow consumer.
  void asked() { ++large_in_flight_; }
  void answered();
  // Called once per reactor tick: pings a quiet client, closes a silent one,
  // and drops one that has held over the soft limit unsent for its seconds.
  void check_idle(Clock::time_point now);
  // Admission: too many connections have not logged in and this is the
  // oldest; closes it with TOO_MANY_CONNECTIONS.
  void drop_before_login();
  // Stop reading requests (shutdown, first phase).
  void stop_reading() { reading_ = false; }
  // Stops reading, queues `last_frame` (if any), flushes for at most `grace`,
  // then closes. The hub retires the session from every list at once.
  void close(v1::Presence::Reason reason, SharedFrame last_frame, std::chrono::milliseconds grace);

  // Issue 12: direct messages to this session, and the rooms it creates
  // (session/abuse_limits.cpp).
  enum class DirectAdmit { kOk, kRate, kBacklog };
  // Whether a DM of `bytes` may be queued for this session now: within its
  // DM budget, and its outbox not half full; else when to try again.
  DirectAdmit admit_direct(std::size_t bytes, Clock::time_point now, std::uint32_t& retry_after_ms);
  std::size_t unsent_bytes() const { return outbox_.bytes(); }
  std::uint32_t heard_ms_ago(Clock::time_point now) const;
  // address_key of the peer: what per-address limits count by.
  const std::string& address() const { return address_; }
  // The owner answered a join that held a place in the creation budgets.
  void settle_creation(bool created, Clock::time_point now);
  std::size_t creations_in_flight() const { return created_.in_flight(); }

 private:
  enum class State { kOpen, kClosing, kClosed };

  // session.cpp: the connection's life.
  void wait_readable();
  void on_readable(const std::error_code& ec);
  // Decodes and handles requests until the bytes run out or handling pauses.
  void process(std::string_view bytes);
  bool accepting_requests() const;
  void handle_frame(std::string_view payload);
  // Past a budget: stop reading, say so once, read again once it has
  // refilled (rate_limits.hpp).
  void stall(RateLimits::Limit limit, Clock::time_point now);
  void wait_for_refill(std::uint32_t ms);
  void end_stall();
  void count_limited(RateLimits::Limit limit);
  // Admission, per whole frame: resets the idle timer, and before login
  // counts the frame against the cap; false if it closed the session.
  bool note_frame();
  // The hello was answered: lifts the pre-login limits, tells admission.
  void on_logged_in();
  void close_for(v1::Error::Code code, std::string_view text);
  bool replies_fit() const;
  // The slow-consumer rule, on unsent bytes the socket refused.
  void check_outbox(Clock::time_point now);
  void drop_slow_consumer(std::string_view why);
  void linger();
  void drain_until_eof();
  void abort();

  // requests.cpp and identity.cpp: one handler per request type.
  void dispatch(v1::ClientFrame& frame);
  void on_hello(v1::HelloRequest& hello, std::uint64_t rid);
  void on_ping(const v1::PingRequest& ping, std::uint64_t rid);
  void on_rename(v1::RenameRequest& rename, std::uint64_t rid);
  void on_register(v1::RegisterRequest& r, std::uint64_t rid);
  void on_change_password(v1::ChangePasswordRequest& r, std::uint64_t rid);
  void on_drop_account(v1::DropAccountRequest& r, std::uint64_t rid);
  // kick, ban, unban, invite, set_modes, set_role (issue 13).
  void on_moderate(v1::ClientFrame& frame, std::uint64_t rid);
  // INVALID_PASSWORD unless `password` is of a length the server takes.
  bool check_password(const std::string& password, std::uint64_t rid);
  void on_join(const v1::JoinRequest& join, std::uint64_t rid);
  void on_leave(const v1::LeaveRequest& leave, std::uint64_t rid);
  void on_say(v1::SayRequest& say, std::uint64_t rid);
  void on_direct(v1::DirectRequest& direct, std::uint64_t rid);
  void on_set_topic(v1::SetTopicRequest& set, std::uint64_t rid);
  void on_history(const v1::HistoryRequest& history, std::uint64_t rid);
  void on_who(const v1::WhoRequest& who, std::uint64_t rid);
  // Sends a query of `kind` about `room` to the room's owner.
  void query_room(msg::RoomQuery::Kind kind, const std::string& room, std::uint64_t rid);
  void query_room(msg::RoomQuery&& q, const std::string& room);
  // Asks the nick's owner for it; requests wait until it answers.
  void claim_nick(std::string nick, std::uint64_t request_id, std::string account = {}, bool regain = false);
  void resume();
  SharedFrame rename_reply(const std::string& old_nick, std::uint64_t request_id) const;
  void reply_error(v1::Error::Code code, std::string_view text, std::uint64_t request_id,
                   std::uint32_t retry_after_ms = 0);
  bool require_login(std::uint64_t request_id);
  bool check_nick(const std::string& nick, std::uint64_t request_id);
  // Canonical room name, or an INVALID_ROOM error and nothing.
  std::optional<std::string> room_arg(const std::string& room, std::uint64_t request_id);
  // The session's entry for `room` (a room is listed at most once), or null.
  const Membership* membership(const std::string& room) const;
  void drop(const Membership& m);  // m: an entry of rooms_
  bool is_member(const std::string& room) const { return membership(room) != nullptr; }
  bool check_body(const std::string& text, std::uint64_t request_id);
  // Sets join.create_limit: kNone after reserving a place in this
  // session's and its address's creation budgets, else the one spent.
  void reserve_creation(msg::Join& join);
  // A rename or topic change past its budget: refused with RATE_LIMITED.
  bool refused(RateLimits::Limit kind, std::uint64_t request_id);

  LocalHub& hub_;
  const SessionId id_;
  std::unique_ptr<Transport> transport_;
  const std::string peer_;
  common::FrameDecoder decoder_;
  RateLimits limits_;
  // Issue 12 (abuse_limits.cpp).
  const std::string address_;
  common::TokenBucket direct_bucket_;  // DMs handed to this session
  CreationBudget created_;             // rooms this session created

  State state_ = State::kOpen;
  bool reading_ = true;
  bool write_waiting_ = false;
  bool lingering_ = false;  // closing: FIN sent, reading until the client closes
  bool dirty_ = false;  // queued on the hub's flush list
  bool paused_ = false;  // decoding stopped with no read pending (resume() restarts it)
  std::uint32_t large_in_flight_ = 0;
  // Since when the socket has refused more than the soft limit, if it has.
  std::optional<Clock::time_point> over_soft_since_;
  bool stalled_ = false;  // past a budget: not reading until it refills
  std::unique_ptr<asio::steady_timer> stall_timer_;  // made when first needed: most sessions never stall
  v1::Presence::Reason close_reason_ = v1::Presence::REASON_UNSPECIFIED;
  std::string close_detail_;
  std::unique_ptr<asio::steady_timer> close_timer_;  // an inline timer is 120 bytes of every session
  Outbox outbox_;

  std::string nick_;
  // Who this session speaks for, for exactly-once and for which
  // client_msg_ids it is shown: the folded nick, a guest's or the account's
  // (every session of an account speaks for it: their ids must not repeat).
  std::string identity_;
  std::string account_;          // logged in to it; empty: a guest
  std::string pending_account_;  // the account a hello in flight logs in to
  // A hello or rename is being answered (authenticator, then nick owner).
  bool nick_pending_ = false;
  // An account's login until its stored DMs are sent: made only then, so a
  // guest's session pays a pointer.
  struct Mailbag {
    bool arrived = false;                  // before the hello reply: sent after it
    std::vector<msg::StoredDirect> stored;
    std::vector<SharedFrame> held;         // live DMs, behind the stored ones
  };
  std::unique_ptr<Mailbag> mailbag_;
  void send_stored(std::vector<msg::StoredDirect>& directs);
  std::vector<Membership> rooms_;
  std::uint64_t next_join_ = 1;

  Clock::time_point last_heard_;  // the last whole frame (or the connect)
  bool ping_sent_ = false;
  const Clock::time_point connected_;  // the login deadline counts from here
  std::size_t pre_login_frames_ = 0;
};

}  // namespace chat::server
