#include "client/chat/chat_core.hpp"
#include "client/chat/backoff.hpp"
#include "client/chat/encoding.hpp"
#include "client/chat/text.hpp"
#include "common/names.hpp"

#include <algorithm>
#include <iterator>
#include <cassert>

namespace chat::term {
namespace {

constexpr std::uint32_t kWhoPage = 200;  // nicks per /who page

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string code_name(v1::Error::Code code) {
  if (code == v1::Error::CODE_UNSPECIFIED) return "CLIENT";
  std::string name = v1::Error::Code_Name(code);
  if (name.empty()) return "ERROR_" + std::to_string(static_cast<int>(code));  // newer than this client
  if (name.rfind("CODE_", 0) == 0) name.erase(0, 5);
  return name;
}

std::string reason_text(v1::Presence::Reason r) {
  switch (r) {
    case v1::Presence::REASON_UNSPECIFIED: return "";
    case v1::Presence::REASON_CLIENT_QUIT: return "client quit";
    case v1::Presence::REASON_SLOW_CONSUMER: return "slow consumer";
    case v1::Presence::REASON_IDLE_TIMEOUT: return "idle timeout";
    case v1::Presence::REASON_PROTOCOL_ERROR: return "protocol error";
    case v1::Presence::REASON_SERVER_SHUTDOWN: return "server shutdown";
    default: {
      // REASON_KICKED, REASON_BANNED and later ones: their name in words.
      std::string name = v1::Presence::Reason_Name(r);
      if (name.rfind("REASON_", 0) == 0) name.erase(0, 7);
      for (char& ch : name) ch = ch == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return name;
    }
  }
}

}  // namespace

const char* to_string(ConnState s) {
  switch (s) {
    case ConnState::kConnecting: return "connecting";
    case ConnState::kLoggingIn: return "logging in";
    case ConnState::kOnline: return "online";
    case ConnState::kWaiting: return "reconnecting";
    case ConnState::kClosed: return "closed";
  }
  return "";
}

ChatCore::ChatCore(asio::io_context& io, Options options, Sink sink)
    : io_(io),
      options_(std::move(options)),
      sink_(std::move(sink)),
      owner_(std::this_thread::get_id()),
      nick_(options_.nick),
      servers_(parse_servers(options_.host, options_.port)),
      rng_(std::random_device{}()),
      reconnect_timer_(io),
      ping_timer_(io),
      finish_timer_(io) {
  // --join '#a,#b' is two rooms, as /join #a,#b is.
  for (const auto& list : options_.rooms) {
    for (const auto& r : split_rooms(list)) {
      Room room;
      room.name = normalize_room(r);
      if (find_room(room.name)) continue;
      add_window(room.name);
      rooms_.push_back(std::move(room));
    }
  }
  if (!rooms_.empty()) current_ = rooms_.front().name;
}

ChatCore::~ChatCore() {
  quitting_ = true;
  if (client_) client_->close();
}

std::function<void(const v1::ServerFrame&)> ChatCore::guard(
    std::function<void(const v1::ServerFrame&)> f) {
  // A reply that belongs to an older connection, or arrives after the core
  // is gone, is dropped: its connection's state was already replaced.
  // Every request is counted until answered, so that end of input can wait
  // for the replies. The Client answers every request exactly once (with a
  // made-up error if the connection drops).
  ++outstanding_;
  return [this, alive = std::weak_ptr<bool>(alive_), gen = gen_, f = std::move(f)](const v1::ServerFrame& frame) {
    if (!alive.lock()) return;
    --outstanding_;
    if (gen == gen_ && !quitting_) f(frame);
    // Later, not now: a say's reply comes just before the Client reports the
    // same frame as a message, which must still be shown.
    asio::post(io_, [this, alive] {
      if (!alive.lock()) return;
      maybe_finish();
    });
  };
}

void ChatCore::start() {
  assert(std::this_thread::get_id() == owner_);
  connect();
  ping_tick();
}

void ChatCore::set_state(ConnState s, std::string detail, std::int64_t retry_ms) {
  state_ = s;
  sink_(ConnectionEvent{now_ms(), s, std::move(detail), retry_ms});
}

void ChatCore::connect() {
  const std::uint64_t gen = ++gen_;
  welcomed_ = false;
  logged_in_ = false;
  ping_sent_.reset();
  client::Events ev;
  std::weak_ptr<bool> alive = alive_;
  auto live = [this, alive, gen] { return alive.lock() && gen == gen_ && !quitting_; };
  ev.on_message = [this, live](const v1::RoomMessage& m) { if (live()) on_message(m); };
  ev.on_presence = [this, live](const v1::Presence& p) { if (live()) on_presence(p); };
  ev.on_presence_delta = [this, live](const v1::PresenceDelta& d) { if (live()) on_presence_delta(d); };
  ev.on_direct = [this, live](const v1::DirectMessage& d) {
    if (!live()) return;
    // A direct message opens its window (as irssi's autocreate_query).
    if (query_window(d.sender()).empty()) add_window(d.sender());
    sink_(DirectEvent{d.timestamp_ms(), d.sender(), d.text(), false, d.stored()});
  };
  ev.on_topic = [this, live](const v1::TopicChanged& t) {
    if (!live()) return;
    if (Room* r = find_room(t.room())) r->topic = t.topic();
    sink_(TopicEvent{now_ms(), t.room(), t.topic(), t.set_by(), true});
  };
  ev.on_moderation = [this, live](const v1::Moderation& m) { if (live()) on_moderation(m); };
  ev.on_error = [this, live](const v1::Error& e) { if (live()) emit_error(e); };
  ev.on_shutdown = [this, live](const v1::Shutdown& s) {
    if (!live()) return;
    // chatd's reason is this very phrase: do not say it twice.
    const std::string what = "server is shutting down";
    info(s.reason().empty() || s.reason() == what ? what : what + ": " + s.reason(), "", true);
  };
  ev.on_disconnect = [this, live](std::error_code ec) { if (live()) on_disconnected(ec); };
  if (client_) client_->close();
  client_ = client::Client::create(io_, std::move(ev));
  if (options_.tls) client_->use_tls(options_.tls);
  const Server& server = servers_[server_];
  set_state(ConnState::kConnecting, server.str());
  client_->connect(server.host, server.port, [this, live](std::error_code ec) {
    if (!live()) return;
    if (ec) return schedule_reconnect("cannot connect: " + ec.message());
    on_connected();
  });
}

void ChatCore::on_connected() {
  welcomed_ = true;
  const v1::Welcome& w = client_->welcome();
  if (w.limits().max_history_page() > 0) history_page_ = std::min<std::uint32_t>(200, w.limits().max_history_page());
  if (w.limits().max_body_bytes() > 0) max_body_ = w.limits().max_body_bytes();
  if (epoch_ != 0 && w.epoch() != epoch_) {
    // Sequence numbers from the old epoch mean nothing now: start each room
    // over from 0, so the catch-up below fetches the new epoch's history.
    sink_(EpochEvent{now_ms(), epoch_, w.epoch()});
    info("server restarted; history starts over", "", true);
    for (auto& r : rooms_) {
      r.last_seq = 0;
      r.incarnation = 0;  // the new epoch's rooms are all new
    }
  }
  epoch_ = w.epoch();
  login();
}

void ChatCore::login() {
  set_state(ConnState::kLoggingIn, nick_);
  hello_pending_ = true;
  auto answered = guard([this](const v1::ServerFrame& f) {
    hello_pending_ = false;
    if (f.has_hello()) {
      nick_ = f.hello().nick();
      if (login_fallback_) info("logged in to the account " + f.hello().account());
      login_fallback_.reset();
      on_online();
      return;
    }
    emit_error(f.error());
    if (login_fallback_) {
      // A refused /login: the next hello is the one from before it.
      options_.password = *std::exchange(login_fallback_, std::nullopt);
      info("not logged in to the account " + nick_);
    }
    if (!ever_logged_in_ && options_.quit_on_login_failure) {
      // A script or bot: nobody will type /nick, and it must be able to tell.
      exit_status_ = 1;
      info("not logged in; exiting");
      return quit();
    }
    if (ever_logged_in_ && f.error().code() != v1::Error::CODE_INVALID_NICK) {
      // Probably our own ghost from the dropped connection, which the server
      // has not noticed yet: try again after a backoff.
      client_->close();
      return;
    }
    info("not logged in; choose another nick with /nick NICK");
  });
  if (options_.password.empty()) {
    client_->hello(nick_, std::move(answered));
  } else {
    client_->login(nick_, options_.password, false, std::move(answered));
  }
}

void ChatCore::on_online() {
  logged_in_ = true;
  ever_logged_in_ = true;
  attempt_ = 0;
  set_state(ConnState::kOnline, nick_);
  for (auto& r : rooms_) {
    r.joined = false;
    if (!r.removed) send_join(r.name);  // kicked or banned: only /join tries again
  }
  // After the joins, on the same connection: the server takes them in order.
  for (auto it = unacked_.begin(); it != unacked_.end();) {
    if (const Room* r = find_room(it->second.room); r == nullptr || r->removed) {
      it = unacked_.erase(it);  // parted (or removed) meanwhile
      continue;
    }
    send_say(it->first, it->second.room, it->second.text);
    ++it;
  }
  drain_queue();
}

void ChatCore::on_disconnected(std::error_code ec) {
  // A failed connect reports through connect()'s callback too; that one
  // schedules the retry.
  if (!welcomed_) return;
  for (auto& r : rooms_) {
    r.joined = false;
    r.syncing = false;
    r.buffered.clear();
  }
  logged_in_ = false;
  schedule_reconnect(ec == asio::error::eof ? "connection closed" : "disconnected: " + ec.message());
}

void ChatCore::schedule_reconnect(const std::string& why) {
  if (quitting_) return;
  ++gen_;  // whatever the old connection still says is stale now
  hello_pending_ = false;
  // With several servers the next is tried; a round of them failing backs
  // off as one failure does.
  server_ = (server_ + 1) % servers_.size();
  const int round = attempt_ / static_cast<int>(servers_.size());
  const auto delay = reconnect_delay(round, options_.reconnect_min, options_.reconnect_max, rng_);
  ++attempt_;
  set_state(ConnState::kWaiting, why, delay.count());
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](std::error_code ec) {
    if (ec || !alive.lock() || quitting_) return;
    connect();
  });
}

ChatCore::Room* ChatCore::find_room(const std::string& name) {
  for (auto& r : rooms_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::vector<std::string> ChatCore::rooms() const {
  std::vector<std::string> out;
  for (const auto& r : rooms_) out.push_back(r.name);
  return out;
}

std::vector<std::string> ChatCore::members(const std::string& room) const {
  for (const auto& r : rooms_) {
    if (r.name == room) return r.members;
  }
  return {};
}

std::string ChatCore::topic(const std::string& room) const {
  for (const auto& r : rooms_) {
    if (r.name == room) return r.topic;
  }
  return {};
}

void ChatCore::send_join(const std::string& room) {
  Room* r = find_room(room);
  if (r) {
    // Until the reply has told us last_seq, anything live waits.
    r->syncing = r->ever_joined;
    r->buffered.clear();
    r->join_sent_gen = gen_;
  }
  client_->join(room, r ? r->key : std::string(), guard([this, room](const v1::ServerFrame& f) { on_join_reply(room, f); }));
}

void ChatCore::on_join_reply(const std::string& room, const v1::ServerFrame& f) {
  Room* r = find_room(room);
  if (r) r->join_sent_gen = 0;
  if (!f.has_join()) {
    if (r && !r->ever_joined) {
      // A first join that failed: forget the room and go back to where the
      // /join was typed, before saying why, so that the error shows there
      // (the full screen puts it in the current window).
      const std::string back = r->return_to;
      rooms_.erase(rooms_.begin() + (r - rooms_.data()));
      remove_window(room);
      if (current_ == room) {
        current_ = std::find(windows_.begin(), windows_.end(), back) != windows_.end() ? back
                   : windows_.empty()                                                 ? ""
                                                                                      : windows_.back();
        sink_(SwitchEvent{now_ms(), current_});
      }
    }
    emit_error(f.error());
    return;
  }
  if (!r) return;  // parted while the join was in flight
  const v1::JoinReply& j = f.join();
  r->joined = true;
  r->topic = j.topic();
  r->modes = j.modes();
  r->members.assign(j.members().begin(), j.members().end());
  std::sort(r->members.begin(), r->members.end());
  r->member_count = std::max<std::uint32_t>(j.member_count(), static_cast<std::uint32_t>(r->members.size()));
  if (!r->ever_joined) {
    // The replay is older than the join: it is shown first, then "joined".
    // (What it sends is the room's recent past, so the time stamps agree.)
    for (const auto& m : j.recent()) deliver(*r, m, true);
  }
  sink_(JoinedEvent{now_ms(), r->name, r->topic, r->members, r->ever_joined, r->member_count});
  if (r->incarnation != 0 && j.incarnation() != r->incarnation && r->last_seq > 0) {
    // The server reclaimed the room while it was empty (at its room cap) and
    // this is a new room of the same name: its seqs start over. (A room that
    // never held a message is made again whenever it is joined again: there
    // is nothing to start over.)
    info(r->name + " was emptied and reclaimed by the server; its history starts over");
    r->last_seq = 0;
  }
  r->incarnation = j.incarnation();
  if (!r->ever_joined) {
    r->ever_joined = true;
    r->last_seq = j.last_seq();
    r->syncing = false;
    if (j.recent_truncated() && j.recent_size() > 0) fetch_older(r->name, j.recent(0).seq());
    return;
  }
  // A rejoin: `recent` is ignored except that last_seq says where live
  // messages start; the history pages fill in from what we last showed.
  r->target_seq = j.last_seq();
  r->syncing = true;
  sync_room(r->name);
}

void ChatCore::sync_room(const std::string& room) {
  Room* r = find_room(room);
  if (!r) return;
  if (r->last_seq >= r->target_seq) return finish_sync(*r);
  client_->history(room, 0, r->last_seq, history_page_,
                   guard([this, room](const v1::ServerFrame& f) { on_history_page(room, f); }));
}

void ChatCore::on_history_page(const std::string& room, const v1::ServerFrame& f) {
  Room* r = find_room(room);
  if (!r) return;
  if (!f.has_history()) {
    emit_error(f.error());
    return finish_sync(*r);
  }
  const v1::HistoryReply& h = f.history();
  const std::uint64_t want = r->last_seq + 1;
  const std::uint64_t first = h.first_available_seq();
  if (first > want || (first == 0 && r->target_seq >= want)) {
    // The ring has moved past what we need (or holds nothing): say so.
    const std::uint64_t upto = first == 0 ? r->target_seq : std::min(first - 1, r->target_seq);
    sink_(GapEvent{now_ms(), room, upto - want + 1, want, upto});
    r->last_seq = upto;
  }
  bool progressed = false;
  for (const auto& m : h.messages()) {
    if (m.seq() > r->last_seq && m.seq() <= r->target_seq) {
      deliver(*r, m, false);
      progressed = true;
    }
  }
  if (!progressed && r->last_seq < r->target_seq) {
    // Nothing more to be had: never loop, report the rest as missing.
    sink_(GapEvent{now_ms(), room, r->target_seq - r->last_seq, r->last_seq + 1, r->target_seq});
    r->last_seq = r->target_seq;
  }
  sync_room(room);
}

void ChatCore::fetch_older(const std::string& room, std::uint64_t before_seq) {
  client_->history(room, before_seq, std::nullopt, std::min<std::uint32_t>(history_page_, 50),
                   guard([this, room](const v1::ServerFrame& f) {
                     if (!reply_ok(f) || f.history().messages_size() == 0) return;
                     info("earlier messages of " + room + ":", room);
                     Room* r = find_room(room);
                     for (const auto& m : f.history().messages()) {
                       if (r) deliver(*r, m, true);
                     }
                   }));
}

void ChatCore::list_from(const std::string& cursor, std::shared_ptr<RoomListEvent> rows) {
  client_->list_rooms(cursor, 0, guard([this, rows](const v1::ServerFrame& f) {
    if (!reply_ok(f)) return;
    for (const auto& info : f.list_rooms().rooms()) {
      rows->rooms.push_back({info.name(), info.topic(), info.member_count(), info.last_seq()});
    }
    // Names only grow from page to page: a cursor that does not would loop.
    const std::string& next = f.list_rooms().next_cursor();
    if (!next.empty() && !f.list_rooms().rooms().empty()) return list_from(next, rows);
    rows->ts_ms = now_ms();
    std::sort(rows->rooms.begin(), rows->rooms.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    sink_(*rows);
  }));
}

void ChatCore::history_back(const std::string& room, std::uint64_t before_seq, std::uint32_t want,
                            std::shared_ptr<std::vector<v1::RoomMessage>> got) {
  const auto asked = static_cast<std::uint32_t>(want - got->size());
  client_->history(room, before_seq, std::nullopt, asked, guard([this, room, want, got](const v1::ServerFrame& f) {
    if (!reply_ok(f)) return;
    const auto& page = f.history().messages();
    got->insert(got->begin(), page.begin(), page.end());  // older pages go in front
    if (f.history().truncated() && !page.empty() && got->size() < want) {
      return history_back(room, page.Get(0).seq(), want, got);
    }
    info("history of " + room + ": " + std::to_string(got->size()) + " messages", room);
    Room* r = find_room(room);
    for (const auto& m : *got) {
      if (r) deliver(*r, m, true);
    }
  }));
}

void ChatCore::finish_sync(Room& r) {
  r.syncing = false;
  auto buffered = std::move(r.buffered);
  r.buffered.clear();
  std::sort(buffered.begin(), buffered.end(),
            [](const v1::RoomMessage& a, const v1::RoomMessage& b) { return a.seq() < b.seq(); });
  for (const auto& m : buffered) deliver(r, m, false);
}

void ChatCore::deliver(Room& r, const v1::RoomMessage& m, bool history) {
  if (!history) {
    if (m.seq() <= r.last_seq) return;  // already shown (history and live overlap)
    r.last_seq = m.seq();
  }
  MessageEvent e;
  e.ts_ms = m.timestamp_ms();
  e.room = r.name;
  e.nick = m.sender();
  e.seq = m.seq();
  e.history = history;
  e.own = m.sender() == nick_;
  if (m.text().rfind(kActionPrefix, 0) == 0) {
    e.action = true;
    e.text = m.text().substr(kActionPrefix.size());
  } else {
    e.text = m.text();
  }
  sink_(e);
}

void ChatCore::on_message(const v1::RoomMessage& m) {
  Room* r = find_room(m.room());
  if (!r) return;
  if (r->syncing) {
    r->buffered.push_back(m);
    return;
  }
  deliver(*r, m, false);
}

void ChatCore::on_presence(const v1::Presence& p) {
  if (own_removal(p)) return;
  static const char* kinds[] = {"?", "joined", "left", "quit", "renamed"};
  const int k = p.kind() >= 0 && p.kind() <= 4 ? p.kind() : 0;
  if (Room* r = find_room(p.room())) {
    auto remove = [r](const std::string& nick) {
      auto it = std::lower_bound(r->members.begin(), r->members.end(), nick);
      if (it != r->members.end() && *it == nick) r->members.erase(it);
    };
    auto add = [r](const std::string& nick) {
      auto it = std::lower_bound(r->members.begin(), r->members.end(), nick);
      if (it == r->members.end() || *it != nick) r->members.insert(it, nick);
    };
    switch (p.kind()) {
      case v1::Presence::KIND_JOINED:
        add(p.nick());
        ++r->member_count;
        break;
      case v1::Presence::KIND_RENAMED:
        remove(p.old_nick());
        add(p.nick());
        break;
      default:
        remove(p.nick());
        if (r->member_count > 0) --r->member_count;
        break;
    }
  }
  sink_(PresenceEvent{p.timestamp_ms() ? p.timestamp_ms() : now_ms(), p.room(), p.nick(), kinds[k],
                      reason_text(p.reason()), p.old_nick()});
}

void ChatCore::on_presence_delta(const v1::PresenceDelta& d) {
  if (Room* r = find_room(d.room())) {
    for (const auto& nick : d.left()) {
      auto it = std::lower_bound(r->members.begin(), r->members.end(), nick);
      if (it != r->members.end() && *it == nick) r->members.erase(it);
    }
    for (const auto& nick : d.joined()) {
      auto it = std::lower_bound(r->members.begin(), r->members.end(), nick);
      if (it == r->members.end() || *it != nick) r->members.insert(it, nick);
    }
    r->member_count = d.member_count();
  }
  sink_(PresenceDeltaEvent{d.timestamp_ms() ? d.timestamp_ms() : now_ms(), d.room(),
                           {d.joined().begin(), d.joined().end()}, {d.left().begin(), d.left().end()},
                           d.joined_count(), d.left_count(), d.member_count()});
}

void ChatCore::submit(std::string_view typed) {
  assert(std::this_thread::get_id() == owner_);
  if (quitting_ || finishing_) return;  // after /quit or end of input
  // Every command's text reaches the wire from here: it must be UTF-8.
  const Utf8Text line = to_utf8(typed, options_.input_charset);
  if (!line.ok()) return emit_error("CLIENT", "line not sent: " + line.error);
  Command c = parse_command(line.text);
  // Not logged in: /login's password is for the next hello, now or after a
  // reconnect; it does not wait for a login that may never come.
  if (c.kind == CommandKind::kLogin && !logged_in_ && !hello_pending_ && queue_.empty()) return execute_account(c);
  if (c.kind == CommandKind::kNick && !logged_in_ && !hello_pending_ && queue_.empty()) {
    // Not logged in and no hello on its way (our nick was refused, or the
    // server is away): the next hello asks for this one.
    nick_ = c.arg;
    sink_(StatusEvent{});
    if (welcomed_ && client_ && client_->connected()) {
      login();
    } else {
      info("will log in as " + nick_);
    }
    return;
  }
  // Lines run in the order they were typed: once one waits for the login,
  // everything after it waits too (a script's "/join #x" then "hi").
  if (!queue_.empty() || (!logged_in_ && needs_server(c))) {
    queue_.push_back(std::move(c));
    return;
  }
  execute(c);
}

bool ChatCore::needs_server(const Command& c) {
  switch (c.kind) {
    case CommandKind::kInvalid:
    case CommandKind::kHelp:
    case CommandKind::kSwitch:
    case CommandKind::kQuit:
      return false;
    case CommandKind::kQuery:
      return !c.text.empty();
    default:
      return true;
  }
}

void ChatCore::drain_queue() {
  while (!queue_.empty() && !quitting_ && (logged_in_ || !needs_server(queue_.front()))) {
    Command c = std::move(queue_.front());
    queue_.pop_front();
    execute(c);
  }
  maybe_finish();
}

void ChatCore::switch_to(const std::string& window) {
  if (is_query(window)) {
    const std::string name = query_window(window);
    if (name.empty()) return emit_error("CLIENT", "no window for " + window + " (use /query " + window + ")");
    current_ = name;
  } else {
    if (!find_room(window)) return emit_error("CLIENT", "not in " + window + " (use /join " + window + ")");
    current_ = window;
  }
  sink_(SwitchEvent{now_ms(), current_});
}

std::string ChatCore::query_window(const std::string& nick) const {
  const std::string folded = common::fold_case(nick);
  for (const auto& w : windows_) {
    if (is_query(w) && common::fold_case(w) == folded) return w;
  }
  return {};
}

void ChatCore::add_window(const std::string& window) {
  if (std::find(windows_.begin(), windows_.end(), window) == windows_.end()) windows_.push_back(window);
}

void ChatCore::remove_window(const std::string& window) {
  windows_.erase(std::remove(windows_.begin(), windows_.end(), window), windows_.end());
}

void ChatCore::leave_current(const std::string& closed) {
  if (current_ != closed) return;
  current_ = windows_.empty() ? "" : windows_.back();
  sink_(SwitchEvent{now_ms(), current_});
}

void ChatCore::send_direct(const std::string& peer, const std::string& text) {
  client_->direct(peer, text, guard([this, peer, text](const v1::ServerFrame& f) {
    if (!reply_ok(f)) return;
    // The window opens once the server took it (not for a nick that is not there).
    const std::string window = query_window(peer);
    if (window.empty()) add_window(peer);
    sink_(DirectEvent{now_ms(), window.empty() ? peer : window, text, true, f.direct_ack().stored()});
  }));
}

void ChatCore::join_one(const std::string& room, const std::string& key) {
  if (Room* r = find_room(room)) {
    if (!key.empty()) r->key = key;
    if (r->removed) {
      // Kicked or banned: this is a first join again (refused, the window goes).
      r->removed = false;
      r->return_to = current_;
    }
    // Not while its join is in flight: the server would refuse the
    // second (ALREADY_A_MEMBER), perhaps before it accepts the first.
    if (!r->joined && r->join_sent_gen != gen_) send_join(room);
    return switch_to(room);
  }
  Room r;
  r.name = room;
  r.key = key;
  r.return_to = current_;
  rooms_.push_back(std::move(r));
  add_window(room);
  // Switch now, so text typed right after the /join goes there; the
  // server handles our requests in order.
  current_ = room;
  sink_(SwitchEvent{now_ms(), current_});
  send_join(room);
}

void ChatCore::close_window(const std::string& window) {
  if (window.empty()) return emit_error("CLIENT", "no window to close");
  if (!is_query(window)) {
    Room* r = find_room(window);
    if (!r) return emit_error("CLIENT", "not in " + window);
    const bool member = !r->removed;  // a kick or ban has left it already
    rooms_.erase(rooms_.begin() + (r - rooms_.data()));
    remove_window(window);
    if (member) client_->leave(window, guard([this](const v1::ServerFrame& f) { reply_ok(f); }));
    sink_(PartedEvent{now_ms(), window});
    return leave_current(window);
  }
  const std::string name = query_window(window);
  if (name.empty()) return emit_error("CLIENT", "no window for " + window);
  remove_window(name);
  info("closed the window of " + name);
  leave_current(name);
}

void ChatCore::say(const std::string& room, const std::string& text) {
  if (next_msg_id_ == 0) next_msg_id_ = static_cast<std::uint64_t>(now_ms()) << 16;
  const std::uint64_t id = ++next_msg_id_;
  unacked_[id] = Unacked{room, text};
  send_say(id, room, text);
}

void ChatCore::send_say(std::uint64_t id, const std::string& room, const std::string& text) {
  // The reply is our own copy; on_message shows it, so only errors matter here.
  client_->say(room, text, id, guard([this, id](const v1::ServerFrame& f) {
                 if (!f.has_error()) {
                   unacked_.erase(id);
                   return;
                 }
                 // No answer because the connection dropped: it is sent
                 // again after the reconnect, and the server stores it once.
                 if (f.error().code() == v1::Error::CODE_UNSPECIFIED) return;
                 unacked_.erase(id);
                 emit_error(f.error());
               }));
}

bool ChatCore::reply_ok(const v1::ServerFrame& f) {
  if (!f.has_error()) return true;
  emit_error(f.error());
  return false;
}

void ChatCore::execute(const Command& c) {
  const std::string room_or_current = c.arg.empty() ? current_ : normalize_room(c.arg);
  switch (c.kind) {
    case CommandKind::kInvalid:
      if (!c.error.empty()) emit_error("CLIENT", c.error);
      return;
    case CommandKind::kQuit:
      // Whatever was typed before /quit still goes out (bounded wait).
      // Mid-login the rest is not sent yet: wait for it;
      // while the server is away there is nothing to wait for.
      if (outstanding_ == 0 && (logged_in_ || state_ == ConnState::kWaiting)) return quit();
      return finish(std::chrono::seconds(5));
    case CommandKind::kHelp:
      sink_(HelpEvent{now_ms(), help_lines()});
      return;
    case CommandKind::kSwitch: {
      std::string target = c.arg;
      if (std::all_of(target.begin(), target.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
        const std::size_t n = std::stoul(target.substr(0, 6));
        if (n == 0 || n > windows_.size()) return emit_error("CLIENT", "no window " + target);
        return switch_to(windows_[n - 1]);
      }
      if (!query_window(target).empty()) return switch_to(target);
      return switch_to(normalize_room(target));
    }
    case CommandKind::kSay:
    case CommandKind::kMe: {
      if (current_.empty()) return emit_error("CLIENT", "no current room: /join a room first");
      if (const Room* r = find_room(current_); r && r->removed) {
        return emit_error("CLIENT", "not in " + current_ + " any more (/join " + current_ + " to try again)");
      }
      // Too long for one message: several, cut at spaces (the limit counts
      // an action's prefix too).
      const std::size_t prefix = c.kind == CommandKind::kMe ? kActionPrefix.size() : 0;
      for (const auto& piece : split_message(c.text, max_body_ > prefix + 16 ? max_body_ - prefix : max_body_)) {
        const std::string text = prefix ? std::string(kActionPrefix) + piece : piece;
        if (is_query(current_)) {
          send_direct(current_, text);
        } else {
          say(current_, text);
        }
      }
      return;
    }
    case CommandKind::kJoin: {
      // One word after the room is its key; more is a room name with spaces.
      if (c.text.find_first_of(" \t") != std::string::npos) {
        return emit_error("CLIENT", "a room name has no spaces: \"" + c.arg + " " + c.text +
                                        "\" (several rooms: /join #a,#b)");
      }
      const auto rooms = split_rooms(c.arg);
      if (rooms.empty()) return emit_error("CLIENT", "usage: /join ROOM");
      for (const auto& room : rooms) join_one(normalize_room(room), c.text);
      return;
    }
    case CommandKind::kPart: {
      if (c.arg.empty() && is_query(current_)) return close_window(current_);
      const std::string room = room_or_current;
      if (room.empty() || !find_room(room)) return emit_error("CLIENT", "not in " + (room.empty() ? "a room" : room));
      return close_window(room);
    }
    case CommandKind::kClose:
      return close_window(current_);
    case CommandKind::kQuery: {
      if (!common::is_valid_nick(c.arg, 32)) return emit_error("CLIENT", "not a nick: " + c.arg);
      if (query_window(c.arg).empty()) add_window(c.arg);
      switch_to(c.arg);
      if (!c.text.empty()) {
        for (const auto& piece : split_message(c.text, max_body_)) send_direct(current_, piece);
      }
      return;
    }
    case CommandKind::kMsg: {
      for (const auto& piece : split_message(c.text, max_body_)) send_direct(c.arg, piece);
      return;
    }
    case CommandKind::kWho: {
      if (room_or_current.empty() || is_query(room_or_current)) return emit_error("CLIENT", "usage: /who ROOM");
      // A page at a time (issue 15): "/who ROOM NICK" shows the page after NICK.
      const std::string after = c.text.substr(0, c.text.find(' '));
      client_->who(room_or_current, after, kWhoPage, guard([this](const v1::ServerFrame& f) {
        if (!reply_ok(f)) return;
        const v1::WhoReply& w = f.who();
        WhoEvent e{now_ms(), w.room(), {w.nicks().begin(), w.nicks().end()}, w.member_count(), w.next_cursor()};
        if (Room* r = find_room(e.room)) {
          std::vector<std::string> seen = e.nicks;
          std::sort(seen.begin(), seen.end());
          if (e.next_cursor.empty() && e.nicks.size() >= e.member_count) {
            r->members = std::move(seen);  // the whole room
          } else {
            std::vector<std::string> merged;
            std::set_union(r->members.begin(), r->members.end(), seen.begin(), seen.end(), std::back_inserter(merged));
            r->members = std::move(merged);
          }
          r->member_count = e.member_count;
        }
        sink_(e);
      }));
      return;
    }
    case CommandKind::kList:
      list_from("", std::make_shared<RoomListEvent>());
      return;
    case CommandKind::kTopic: {
      if (current_.empty() || is_query(current_)) return emit_error("CLIENT", "no current room");
      if (c.text.empty()) {
        client_->get_topic(current_, guard([this](const v1::ServerFrame& f) {
          if (reply_ok(f)) sink_(TopicEvent{now_ms(), f.topic().room(), f.topic().topic(), f.topic().set_by(), false});
        }));
      } else {
        // Members, we included, get TopicChanged; the reply adds nothing.
        client_->set_topic(current_, c.text, guard([this](const v1::ServerFrame& f) { reply_ok(f); }));
      }
      return;
    }
    case CommandKind::kHistory: {
      if (current_.empty() || is_query(current_)) return emit_error("CLIENT", "no current room");
      // The parser let through digits only, not all zeros; more than a page is a page.
      const std::string digits = c.arg.substr(std::min(c.arg.find_first_not_of('0'), c.arg.size()));
      std::uint32_t n = 20;
      if (!c.arg.empty()) {
        n = digits.size() > 9 ? history_page_
                              : static_cast<std::uint32_t>(std::min<unsigned long>(std::stoul(digits), history_page_));
      }
      history_back(current_, 0, n, std::make_shared<std::vector<v1::RoomMessage>>());
      return;
    }
    case CommandKind::kRegister:
    case CommandKind::kPassword:
    case CommandKind::kLogin:
      return execute_account(c);
    case CommandKind::kKick:
    case CommandKind::kBan:
    case CommandKind::kUnban:
    case CommandKind::kInvite:
    case CommandKind::kMode:
    case CommandKind::kOp:
    case CommandKind::kDeop:
    case CommandKind::kVoice:
    case CommandKind::kDevoice:
      return execute_moderation(c);
    case CommandKind::kNick:
      if (c.arg == nick_) return;
      // Renamed in place: the rooms see "is now known as", and what is typed
      // after it goes out under the new nick (the server holds it till then).
      client_->rename(c.arg, guard([this](const v1::ServerFrame& f) {
        if (!reply_ok(f)) return;  // refused: the nick stays as it was
        nick_ = f.rename().nick();
        info("you are now known as " + nick_);
        sink_(StatusEvent{});
      }));
      return;
    default:
      return;
  }
}

void ChatCore::ping_tick() {
  if (quitting_) return;
  if (logged_in_ && client_) {
    const auto now = std::chrono::steady_clock::now();
    if (ping_sent_ && now - *ping_sent_ > 3 * options_.ping_interval + std::chrono::seconds(2)) {
      // No pong for several intervals: the connection is dead even if TCP
      // has not noticed. Dropping it starts the reconnect.
      info("no answer from the server; reconnecting", "", true);
      client_->close();
    } else if (!ping_sent_) {
      ping_sent_ = now;
      client_->ping(guard([this](const v1::ServerFrame& f) {
        if (f.has_pong() && ping_sent_) {
          rtt_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - *ping_sent_).count();
          sink_(StatusEvent{});
        }
        ping_sent_.reset();
      }));
    }
  }
  ping_timer_.expires_after(options_.ping_interval);
  ping_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](std::error_code ec) {
    if (ec || !alive.lock()) return;
    ping_tick();
  });
}

void ChatCore::finish(std::chrono::milliseconds timeout) {
  if (quitting_ || finishing_) return;
  finishing_ = true;
  finish_timer_.expires_after(timeout);
  finish_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](std::error_code ec) {
    if (ec || !alive.lock() || quitting_) return;
    if (!queue_.empty() || outstanding_ > 0) {
      emit_error("CLIENT", "giving up: " + std::to_string(queue_.size()) + " lines unsent, " +
                                 std::to_string(outstanding_) + " requests unanswered");
    }
    quit();
  });
  maybe_finish();
}

void ChatCore::maybe_finish() {
  // Between a drop and the next login nothing is outstanding yet
  // but the queue's lines are not sent either: wait for the login (the
  // finish timer bounds the wait if the server stays away).
  if (finishing_ && !quitting_ && queue_.empty() && outstanding_ == 0 && logged_in_) quit();
}

void ChatCore::quit() {
  if (quitting_) return;
  quitting_ = true;
  ++gen_;
  reconnect_timer_.cancel();
  ping_timer_.cancel();
  finish_timer_.cancel();
  if (client_) client_->close();
  state_ = ConnState::kClosed;
  sink_(QuitEvent{});
}

void ChatCore::emit_error(const v1::Error& e) {
  emit_error(code_name(e.code()), e.message());
}

void ChatCore::emit_error(std::string code, std::string message) {
  sink_(ErrorEvent{now_ms(), std::move(code), std::move(message)});
}

void ChatCore::info(std::string text, std::string room, bool everywhere) {
  sink_(InfoEvent{now_ms(), std::move(text), std::move(room), everywhere});
}

}  // namespace chat::term
