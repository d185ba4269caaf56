#include "server/reactor.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <spdlog/spdlog.h>

#include "common/names.hpp"
#include "common/overloaded.hpp"
#include "server/frames.hpp"
#include "server/session.hpp"

namespace chat::server {

namespace {
constexpr std::size_t kReadBufferBytes = 64 * 1024;
constexpr std::size_t kWriteBufferBytes = 64 * 1024;

using common::Overloaded;
}  // namespace

Reactor::Reactor(std::uint32_t index, const ServerContext& context)
    : index_(index),
      context_(context),
      io_(ASIO_CONCURRENCY_HINT_UNSAFE),
      wake_(io_, ::dup(inbox_.wake_fd())),
      tick_(io_),
      rooms_(context.config, *this),
      nicks_(*this),
      read_buffer_(kReadBufferBytes),
      write_buffer_(kWriteBufferBytes) {}

Reactor::~Reactor() = default;

void Reactor::connect(std::vector<std::unique_ptr<Reactor>>& all) {
  peers_.clear();
  for (auto& r : all) {
    peers_.push_back(r.get() == this ? nullptr : std::make_unique<Inbox::Producer>(r->inbox()));
  }
}

void Reactor::run() {
  owner_.bind();
  drain_inbox();  // arms the inbox before the first sleep
  start_tick();
  io_.run();
  // Loop finished: every session is closed. Drop what is left.
  sessions_.clear();
  local_members_.clear();
}

void Reactor::attach() {
  owner_.bind();
  drain_inbox();
}

// ----------------------------------------------------------------- mailbox

void Reactor::send(std::uint32_t to, Message&& m) {
  owner_.assert_owner();
  if (to == index_) {
    dispatch(std::move(m));  // local fast path
  } else {
    peers_[to]->send(std::move(m));
  }
}

void Reactor::wait_inbox() {
  wake_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const std::error_code& ec) {
    if (ec) return;
    inbox_.clear_wake();
    drain_inbox();
  });
}

void Reactor::drain_inbox() {
  const std::size_t batch = context_.config.mailbox_batch;
  const std::size_t n = inbox_.drain(batch, [this](Message&& m) { dispatch(std::move(m)); });
  if (stopping_ && barriers_[2] == context_.reactors) return;  // loop is winding down
  if (n == batch || !inbox_.arm()) {
    // More waiting: come back after the sockets have had their turn.
    asio::post(io_, [this] { drain_inbox(); });
  } else {
    wait_inbox();
  }
}

void Reactor::dispatch(Message&& m) {
  std::visit(Overloaded{
                 // Only joins create (and reclaim) rooms and only leaves delete them.
                 [this](msg::Join&& j) {
                   rooms_.on(std::move(j));
                   ReactorMetrics::set(metrics_.rooms, rooms_.room_count());
                   ReactorMetrics::set(metrics_.rooms_reclaimed, rooms_.reclaimed_count());
                 },
                 [this](msg::Leave&& l) {
                   rooms_.on(std::move(l));
                   ReactorMetrics::set(metrics_.rooms, rooms_.room_count());
                 },
                 [this](msg::Publish&& p) {
                   ReactorMetrics::bump(metrics_.messages_published);
                   rooms_.on(std::move(p));
                 },
                 [this](msg::Rename&& r) { rooms_.on(std::move(r)); },
                 [this](msg::RoomQuery&& q) { rooms_.on(std::move(q)); },
                 [this](msg::ClaimNick&& c) { nicks_.on(std::move(c)); },
                 [this](msg::ReleaseNick&& r) { nicks_.on(std::move(r)); },
                 [this](msg::RouteDirect&& d) { nicks_.on(std::move(d)); },
                 [this](auto&& other) { on(std::move(other)); },
             },
             std::move(m));
}

// ------------------------------------------------------------ the messages

void Reactor::on(msg::Adopt&& m) {
  if (stopping_) {
    ::close(m.fd);
    return;
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(m.fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto protocol = addr.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4();
  asio::ip::tcp::socket socket(io_);
  std::error_code ec;
  socket.assign(protocol, m.fd, ec);
  if (ec) {
    ::close(m.fd);
    return;
  }
  const SessionId id = make_session_id(index_, next_serial_++);
  auto session = std::make_shared<Session>(*this, id, std::move(socket));
  sessions_.emplace(id, session);
  ReactorMetrics::bump(metrics_.connections_accepted);
  ReactorMetrics::bump(metrics_.connections_open);
  session->start(context_.welcome);
}

void Reactor::on(msg::Deliver&& m) {
  auto it = local_members_.find(m.room);
  if (it == local_members_.end()) return;
  // One reactor-local reference for all members here (see local_frame.hpp).
  const LocalFrameRef frame(std::move(m.frame));
  const LocalFrameRef own = m.sender_frame ? LocalFrameRef(std::move(m.sender_frame)) : LocalFrameRef();
  for (Session* s : it->second) {
    s->send(s->id() == m.sender ? own : frame);
  }
}

void Reactor::on(msg::Joined&& m) {
  Session* s = find(m.session);
  if (s == nullptr || !s->open()) return;  // gone; its Leave is already on the way
  // A session that left the room while this answer was on its way has
  // already sent its Leave; listing it here would outlive that Leave. The
  // client still gets the reply it asked for, before the leave reply.
  if (s->is_current_join(m.room, m.join)) local_members_[m.room].push_back(s);
  s->send(m.reply);
}

void Reactor::on(msg::JoinRefused&& m) {
  Session* s = find(m.session);
  if (s == nullptr || !s->open()) return;
  s->forget_join(m.room, m.join);
  metrics_.error(m.code);
  s->send(m.reply);
}

void Reactor::on(msg::NickClaimed&& m) {
  Session* s = find(m.session);
  if (s == nullptr || !s->open()) {
    // It left while the claim was in flight: give the nick back.
    if (m.ok) {
      const auto owner = nick_owner(m.nick);
      send(owner, msg::ReleaseNick{std::move(m.nick), m.session});
    }
    return;
  }
  s->on_nick_claimed(m);
}

void Reactor::on(msg::DeliverDirect&& m) {
  Session* target = find(m.target);
  if (target == nullptr || !target->open()) {
    error_to_session(m.sender, v1::Error::CODE_NO_SUCH_NICK,
                     "no such nick: " + m.target_nick, m.request_id);
    return;
  }
  target->send(m.frame);
  v1::ServerFrame ack;
  ack.set_request_id(m.request_id);
  ack.mutable_direct_ack()->set_nick(m.target_nick);
  ack.mutable_direct_ack()->set_timestamp_ms(now_ms());
  to_session(m.sender, common::make_shared_frame(ack));
}

void Reactor::on(msg::ToSession&& m) {
  if (m.error != v1::Error::CODE_UNSPECIFIED) metrics_.error(m.error);
  if (Session* s = find(m.session)) s->send(m.frame);
}

void Reactor::list_rooms(SessionId session, std::uint64_t request_id) {
  owner_.assert_owner();
  const std::uint64_t query = next_query_++;
  pending_lists_[query] = PendingList{session, request_id, context_.reactors, {}};
  for (std::uint32_t r = 0; r < context_.reactors; ++r) send(r, msg::ListRooms{index_, query});
}

void Reactor::on(msg::ListRooms&& m) {
  send(m.reply_to, msg::RoomList{m.query_id, rooms_.list()});
}

void Reactor::on(msg::RoomList&& m) {
  auto it = pending_lists_.find(m.query_id);
  if (it == pending_lists_.end()) return;
  PendingList& pending = it->second;
  for (auto& room : m.rooms) pending.rooms.push_back(std::move(room));
  if (--pending.waiting > 0) return;
  std::sort(pending.rooms.begin(), pending.rooms.end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  v1::ServerFrame reply;
  reply.set_request_id(pending.request_id);
  for (auto& room : pending.rooms) *reply.mutable_list_rooms()->add_rooms() = std::move(room);
  if (Session* s = find(pending.session)) s->send(common::make_shared_frame(reply));
  pending_lists_.erase(it);
}

// -------------------------------------------------------------- sessions

Session* Reactor::find(SessionId id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

std::uint32_t Reactor::room_owner(const std::string& room) const {
  return static_cast<std::uint32_t>(common::stable_hash(room) % context_.reactors);
}

std::uint32_t Reactor::nick_owner(const std::string& nick) const {
  return static_cast<std::uint32_t>(common::stable_hash(common::fold_case(nick)) % context_.reactors);
}

void Reactor::schedule_flush(std::shared_ptr<Session> session) {
  owner_.assert_owner();
  to_flush_.push_back(std::move(session));
  if (flush_posted_) return;
  flush_posted_ = true;
  // One gather write per session per turn: everything queued by the handlers
  // that run before this goes out together.
  asio::post(io_, [this] { flush_sessions(); });
}

void Reactor::flush_sessions() {
  flush_posted_ = false;
  // A flush can queue more (a write error retires a session); swap first.
  std::vector<std::shared_ptr<Session>> batch;
  batch.swap(to_flush_);
  for (auto& s : batch) s->flush();
  batch.clear();
  if (to_flush_.empty()) to_flush_.swap(batch);  // keep the capacity
}

void Reactor::remove_local_member(const std::string& room, Session* session) {
  owner_.assert_owner();
  auto it = local_members_.find(room);
  if (it == local_members_.end()) return;
  auto& list = it->second;
  auto pos = std::find(list.begin(), list.end(), session);
  if (pos != list.end()) {
    *pos = list.back();
    list.pop_back();
  }
  if (list.empty()) local_members_.erase(it);
}

void Reactor::retire(std::shared_ptr<Session> session) {
  owner_.assert_owner();
  asio::post(io_, [this, session = std::move(session)] { forget(session); });
}

void Reactor::forget(const std::shared_ptr<Session>& session) {
  const auto reason = session->close_reason();
  for (const auto& [room, join] : session->rooms()) {
    remove_local_member(room, session.get());
    send(room_owner(room), msg::Leave{room, session->nick(), session->id(), 0, reason});
  }
  if (session->logged_in()) {
    send(nick_owner(session->nick()), msg::ReleaseNick{session->nick(), session->id()});
  }
  sessions_.erase(session->id());
}

// ---------------------------------------------------------------- ticking

void Reactor::start_tick() {
  const auto idle = std::chrono::milliseconds(context_.config.idle_timeout_ms);
  const auto period = std::clamp<std::chrono::milliseconds>(idle / 8, std::chrono::milliseconds(10),
                                                             std::chrono::milliseconds(1000));
  tick_.expires_after(period);
  tick_.async_wait([this](const std::error_code& ec) {
    if (ec || stopping_) return;
    const auto now = Session::Clock::now();
    for (auto& [id, session] : sessions_) session->check_idle(now);
    start_tick();
  });
}

// --------------------------------------------------------------- shutdown
//
// Stop reaches every reactor. Each stops reading requests and sends barrier
// 1 to all reactors. Mailboxes are FIFO per producer, so once a reactor holds
// barrier 1 from everyone, no Publish can still reach it; the Delivers it
// made are already queued ahead of the barrier 2 it then sends. Once a
// reactor holds barrier 2 from everyone, every message sequenced anywhere has
// reached its sessions' outboxes: it says goodbye, flushes and closes them.

void Reactor::on(msg::Stop&&) {
  if (stopping_) return;
  stopping_ = true;
  tick_.cancel();
  for (auto& [id, session] : sessions_) session->stop_reading();
  for (std::uint32_t r = 0; r < context_.reactors; ++r) send(r, msg::Barrier{1});
}

void Reactor::on(msg::Barrier&& m) {
  if (++barriers_[m.phase] < context_.reactors) return;
  if (m.phase == 1) {
    for (std::uint32_t r = 0; r < context_.reactors; ++r) send(r, msg::Barrier{2});
    return;
  }
  begin_stop();
}

void Reactor::begin_stop() {
  v1::ServerFrame goodbye;
  goodbye.mutable_shutdown()->set_reason("server is shutting down");
  const SharedFrame frame = common::make_shared_frame(goodbye);
  const auto grace = std::chrono::milliseconds(context_.config.shutdown_grace_ms);
  std::vector<std::shared_ptr<Session>> all;
  for (auto& [id, session] : sessions_) all.push_back(session);
  for (auto& s : all) s->close(v1::Presence::REASON_SERVER_SHUTDOWN, frame, grace);
  // Nothing else will arrive that matters: stop watching the inbox, and the
  // loop ends by itself once the last session has flushed or timed out.
  std::error_code ec;
  wake_.cancel(ec);
  wake_.close(ec);
}

}  // namespace chat::server
