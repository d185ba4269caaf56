#include "server/session/local_hub.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <cctype>

#include "common/names.hpp"

#include "server/session/session.hpp"

namespace chat::server {

namespace {
constexpr std::size_t kReadBufferBytes = 64 * 1024;
constexpr std::size_t kWriteBufferBytes = 64 * 1024;

// REASON_CLIENT_QUIT -> "client_quit".
std::string reason_text(v1::Presence::Reason reason) {
  std::string name = v1::Presence::Reason_Name(reason);
  if (name.rfind("REASON_", 0) == 0) name.erase(0, 7);
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}
}  // namespace

LocalHub::LocalHub(asio::io_context& io, std::uint32_t index, const Config& config, ReactorMetrics& metrics,
                   Router& router, Authenticator& authenticator, RemoteDirects* remote,
                   RemoteRooms* rooms_elsewhere)
    : io_(io), index_(index), config_(config), metrics_(metrics), router_(router), authenticator_(authenticator),
      remote_(remote), rooms_elsewhere_(rooms_elsewhere), read_buffer_(kReadBufferBytes), write_buffer_(kWriteBufferBytes) {}

LocalHub::~LocalHub() = default;

void LocalHub::adopt(std::unique_ptr<Transport> transport, const SharedFrame& welcome, SessionId id) {
  assert_owner();
  if (id == 0) id = make_session_id(index_, next_serial_++);
  auto session = std::make_shared<Session>(*this, id, std::move(transport));
  sessions_.emplace(id, session);
  ReactorMetrics::bump(metrics_.connections_accepted);
  ReactorMetrics::bump(metrics_.connections_open);
  // Once per connection, and never per message: spdlog writes synchronously.
  spdlog::info("connect {} (session {})", session->peer(), session->label());
  session->start(welcome);
}

Session* LocalHub::find(SessionId id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

// ------------------------------------------------------------ room traffic

void LocalHub::on(msg::Deliver&& m) {
  assert_owner();
  auto it = local_members_.find(m.room);
  if (it == local_members_.end()) return;
  // One reactor-local reference for all members here (see local_frame.hpp).
  const LocalFrameRef frame(std::move(m.frame), m.sequenced_ns);
  const LocalFrameRef own =
      m.sender_frame ? LocalFrameRef(std::move(m.sender_frame), m.sequenced_ns) : LocalFrameRef();
  for (Session* s : it->second) s->send(s->id() == m.sender ? own : frame);
}

void LocalHub::on(msg::Joined&& m) {
  assert_owner();
  Session* s = find(m.session);
  if (s == nullptr || !s->open()) return;  // gone; its Leave is already on the way
  // A session that left the room while this answer was on its way has
  // already sent its Leave; listing it here would outlive that Leave. The
  // client still gets the reply it asked for, before the leave reply.
  if (s->is_current_join(m.room, m.join)) {
    local_members_[m.room].push_back(s);
    spdlog::info("join {} {} (session {})", m.room, s->nick(), s->label());
  }
  if (m.reserved) s->settle_creation(m.created, Session::Clock::now());
  s->send(m.reply);
  s->answered();
}

void LocalHub::on(msg::JoinRefused&& m) {
  assert_owner();
  Session* s = find(m.session);
  if (s == nullptr || !s->open()) return;
  if (m.reserved) s->settle_creation(false, Session::Clock::now());
  s->forget_join(m.room, m.join);
  metrics_.error(m.code);
  spdlog::debug("join {} {} refused: {} (session {})", m.room, s->nick(), v1::Error::Code_Name(m.code), s->label());
  s->send(m.reply);
  s->answered();
}

void LocalHub::on(const msg::Removed& m) {
  assert_owner();
  Session* s = find(m.session);
  // A session that has left (and maybe joined again) since keeps its newer
  // membership: the owner removed the one numbered m.join.
  if (s == nullptr || !s->open() || !s->is_current_join(m.room, m.join)) return;
  s->forget_join(m.room, m.join);
  remove_local_member(m.room, s);
  spdlog::info("removed from {} {} (session {})", m.room, s->nick(), s->label());
}

void LocalHub::remove_local_member(const std::string& room, Session* session) {
  assert_owner();
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

// --------------------------------------------------- nicks and direct mail

void LocalHub::on(msg::Authenticated&& m) {
  assert_owner();
  Session* s = find(m.session);
  if (s != nullptr && s->open()) s->on_authenticated(std::move(m));
}

void LocalHub::on(msg::AccountChanged&& m) {
  assert_owner();
  Session* s = find(m.session);
  if (s != nullptr && s->open()) s->on_account_changed(m);
}

void LocalHub::on(const msg::Regained& m) {
  assert_owner();
  Session* s = find(m.session);
  if (s != nullptr && s->open()) s->close_regained();
}

void LocalHub::on(msg::NickClaimed&& m) {
  assert_owner();
  Session* s = find(m.session);
  if (s == nullptr || !s->open()) {
    // It left while the claim was in flight: give the nick back.
    if (m.ok) router_.to_nick_owner(m.nick, msg::ReleaseNick{m.nick, m.session});
    return;
  }
  s->on_nick_claimed(m);
}

void LocalHub::on(msg::DeliverDirect&& m) {
  assert_owner();
  Session* target = find(m.target);
  // The sender, here or on another node (cluster mode), hears of the first
  // copy; a copy for another session of the target's account has neither.
  const bool remote = m.sender == 0 && !m.origin.empty() && remote_ != nullptr;
  auto refuse = [&](v1::Error::Code code, const std::string& why, std::uint32_t retry_after_ms = 0) {
    if (remote) {
      remote_->answer(m.origin, error_message(code, why, 0, retry_after_ms));
    } else if (m.sender != 0) {
      router_.error_to_session(m.sender, code, why, m.request_id, retry_after_ms);
    }
  };
  // Gone: closed or closing, or it took another nick since the owner
  // resolved this one. The sender hears so, never an ack.
  if (target == nullptr || !target->open() || common::fold_case(target->nick()) != common::fold_case(m.target_nick)) {
    return refuse(v1::Error::CODE_NO_SUCH_NICK, "no such nick: " + m.target_nick);
  }
  const auto now = Session::Clock::now();
  std::uint32_t retry_after_ms = 0;
  const auto admit = target->admit_direct(m.frame->size(), now, retry_after_ms);
  if (admit != Session::DirectAdmit::kOk) {
    const bool rate = admit == Session::DirectAdmit::kRate;
    ReactorMetrics::bump(rate ? metrics_.directs_refused_rate : metrics_.directs_refused_backlog);
    return refuse(v1::Error::CODE_TARGET_BUSY,
                  m.target_nick + (rate ? " is being sent all the direct messages it may take now"
                                        : " has not read what it was sent yet"),
                  retry_after_ms);
  }
  const std::size_t ahead = target->unsent_bytes();
  target->send_direct(m.frame);
  if (m.sender == 0 && !remote) return;
  v1::ServerFrame ack;
  ack.set_request_id(m.request_id);
  auto* reply = ack.mutable_direct_ack();
  reply->set_nick(m.target_nick);
  reply->set_timestamp_ms(now_ms());
  reply->set_target_heard_ms_ago(target->heard_ms_ago(now));
  reply->set_target_unsent_bytes(static_cast<std::uint32_t>(ahead));
  if (remote) return remote_->answer(m.origin, ack);
  router_.to_session(m.sender, common::make_shared_frame(ack));
}

void LocalHub::on(msg::StoredDirects&& m) {
  assert_owner();
  Session* s = find(m.session);
  // Gone since it logged in: they are kept for the next login again.
  if (s == nullptr || !s->open()) return authenticator_.restore(std::move(m));
  s->on_stored_directs(std::move(m.directs));
}

void LocalHub::on(msg::ToSession&& m) {
  assert_owner();
  if (m.error != v1::Error::CODE_UNSPECIFIED) metrics_.error(m.error);
  Session* s = find(m.session);
  if (s == nullptr) return;
  // A page, or an error (which may answer a join or history request: a
  // count too low only admits a request sooner, never stalls one).
  s->send_reply(m.frame);
  if (m.page || m.error != v1::Error::CODE_UNSPECIFIED) s->answered();
}

// -------------------------------------------------------------- room lists

void LocalHub::list_rooms(SessionId session, std::uint64_t request_id, const v1::ListRoomsRequest& request) {
  assert_owner();
  const std::uint64_t query = next_query_++;
  const std::uint32_t reactors = router_.reactor_count();
  const std::size_t limit = request.limit() == 0 ? kMaxListPage : std::min<std::size_t>(request.limit(), kMaxListPage);
  const std::uint32_t answers = reactors + (rooms_elsewhere_ != nullptr ? 1 : 0);
  pending_lists_[query] = PendingList{session, request_id, answers, limit, false, {}, {}, {}};
  // Each shard sends its first `limit` after the cursor, and so does the
  // cluster: the page is among them.
  for (std::uint32_t r = 0; r < reactors; ++r) router_.send(r, msg::ListRooms{index_, query, request.cursor(), limit});
  if (rooms_elsewhere_ != nullptr) rooms_elsewhere_->list(index_, query, request.cursor(), limit);
}

void LocalHub::on(msg::RoomList&& m) {
  assert_owner();
  auto it = pending_lists_.find(m.query_id);
  if (it == pending_lists_.end()) return;
  PendingList& pending = it->second;
  auto& into = m.elsewhere ? pending.elsewhere : pending.rooms;
  for (auto& room : m.rooms) into.push_back(std::move(room));
  for (auto& name : m.hidden) pending.hidden.push_back(std::move(name));
  pending.more = pending.more || m.more;
  if (--pending.waiting > 0) return;
  // Out of the map first: the reply lets the session go on, and a list it
  // asks for then is added to the map.
  PendingList done = std::move(pending);
  pending_lists_.erase(it);
  reply_list(done);
}

// The page: the first rooms in name order, up to the limit and
// max_reply_bytes (one at least); its last name is the next cursor when
// rooms are left.
void LocalHub::reply_list(PendingList& pending) {
  auto by_name = [](const auto& a, const auto& b) { return a.name() < b.name(); };
  if (!pending.elsewhere.empty()) {
    // Cluster mode: a room held here is shown as held here (its topic,
    // whether it is secret); one held only elsewhere as Redis lists it.
    std::set<std::string> here(pending.hidden.begin(), pending.hidden.end());
    for (const auto& room : pending.rooms) here.insert(room.name());
    for (auto& room : pending.elsewhere) {
      if (!here.contains(room.name())) pending.rooms.push_back(std::move(room));
    }
  }
  std::sort(pending.rooms.begin(), pending.rooms.end(), by_name);
  v1::ServerFrame reply;
  reply.set_request_id(pending.request_id);
  auto* list = reply.mutable_list_rooms();
  std::size_t bytes = 0;
  std::size_t taken = 0;
  for (auto& room : pending.rooms) {
    const std::size_t size = room.ByteSizeLong() + 4;  // tag and length
    if (taken == pending.limit || (taken > 0 && bytes + size > config_.max_reply_bytes)) break;
    bytes += size;
    ++taken;
    *list->add_rooms() = std::move(room);
  }
  if (taken > 0 && (taken < pending.rooms.size() || pending.more)) {
    list->set_next_cursor(list->rooms(static_cast<int>(taken) - 1).name());
  }
  if (Session* s = find(pending.session)) {
    s->send_reply(common::make_shared_frame(reply));
    s->answered();
  }
}

// ---------------------------------------------------------------- flushing

void LocalHub::schedule_flush(std::shared_ptr<Session> session) {
  assert_owner();
  to_flush_.push_back(std::move(session));
  if (flush_posted_) return;
  flush_posted_ = true;
  asio::post(io_, [this] { flush_sessions(); });
}

void LocalHub::flush_sessions() {
  flush_posted_ = false;
  // A flush can queue more (a write error retires a session); swap first.
  std::vector<std::shared_ptr<Session>> batch;
  batch.swap(to_flush_);
  // One clock read for the whole pass, not one per session's write: the
  // latency histogram then costs no clock read per delivery or per write
  // (and reads the pass's start, at most the pass's length early).
  const std::int64_t now_ns = monotonic_ns();
  for (auto& s : batch) s->flush(now_ns);
  batch.clear();
  if (to_flush_.empty()) to_flush_.swap(batch);  // keep the capacity
}

// --------------------------------------------------------------- lifecycle

void LocalHub::retire(std::shared_ptr<Session> session) {
  assert_owner();
  asio::post(io_, [this, session = std::move(session)] { forget(session); });
}

void LocalHub::forget(const std::shared_ptr<Session>& session) {
  const auto reason = session->close_reason();
  spdlog::info("disconnect {} {} (session {}): {}{}{}", session->peer(), session->logged_in() ? session->nick() : "-",
               session->label(), reason_text(reason), session->close_detail().empty() ? "" : ", ",
               session->close_detail());
  for (const auto& [room, join] : session->rooms()) {
    remove_local_member(room, session.get());
    router_.to_room_owner(msg::Leave{room, session->nick(), session->id(), 0, reason, session->address()});
  }
  // Its joins still in flight will find no session to settle them.
  if (const std::size_t n = session->creations_in_flight(); n > 0) address_budget(session->address()).release(n);
  if (session->logged_in()) {
    router_.to_nick_owner(session->nick(), msg::ReleaseNick{session->nick(), session->id()});
  }
  sessions_.erase(session->id());
}

// -------------------------------------------------------------- admission

void LocalHub::report_to(common::Mailbox<AdmissionNote>& notes) {
  admission_ = std::make_unique<common::Mailbox<AdmissionNote>::Producer>(notes);
}

void LocalHub::note(SessionId id, AdmissionNote::Kind kind) {
  if (admission_ && id != 0) admission_->send(AdmissionNote{id, kind});
}

void LocalHub::drop_pre_login(SessionId id) {
  assert_owner();
  Session* s = find(id);
  if (s != nullptr && s->open() && !s->logged_in()) s->drop_before_login();
}

void LocalHub::check_idle() {
  assert_owner();
  const auto now = Session::Clock::now();
  for (auto& [id, session] : sessions_) session->check_idle(now);
  for (auto it = address_created_.begin(); it != address_created_.end();) {
    it = it->second.idle(now) ? address_created_.erase(it) : std::next(it);
  }
}

CreationBudget& LocalHub::address_budget(const std::string& address) {
  auto it = address_created_.find(address);
  if (it != address_created_.end()) return it->second;
  // This reactor's share: connections are handed to the reactors in turn.
  const std::size_t reactors = router_.reactor_count();
  const std::size_t share = (config_.room_create_per_address + reactors - 1) / reactors;
  return address_created_.try_emplace(address, share, std::chrono::minutes(10)).first->second;
}

void LocalHub::stop_reading() {
  assert_owner();
  for (auto& [id, session] : sessions_) session->stop_reading();
}

void LocalHub::close_all(v1::Presence::Reason reason, const SharedFrame& last_frame, std::chrono::milliseconds grace) {
  assert_owner();
  std::vector<std::shared_ptr<Session>> all;
  all.reserve(sessions_.size());
  for (auto& [id, session] : sessions_) all.push_back(session);
  for (auto& s : all) s->close(reason, last_frame, grace);
}

void LocalHub::clear() {
  sessions_.clear();
  local_members_.clear();
}

}  // namespace chat::server
