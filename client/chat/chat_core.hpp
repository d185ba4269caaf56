#pragma once
// The terminal client's brain, independent of any UI: it owns the
// connection (a chat::client::Client, replaced on every reconnect), logs in,
// joins, reconnects with capped, jittered exponential backoff
// (reconnect_delay in backoff.hpp), rejoins, and fills what was missed by
// sequence number so that every room message is shown exactly once and in
// order; a range the server no longer holds is reported as a GapEvent. It
// parses typed lines into commands and reports everything as UiEvents to
// one sink.
//
// Windows: every joined room ("#x") and every direct-message window (a
// nick: rooms always start with '#', nicks never do), numbered in the order
// they opened. Text typed in a room window is said there; in a nick's
// window it goes to that nick as a direct message. A line longer than the
// server's max_body_bytes (from Welcome) goes out as several messages, cut
// at spaces (split_message in text.hpp).
//
// Catching up after a reconnect, per room:
//
//   last_seq (shown) ──history(after_seq) pages──► JoinReply.last_seq ──live──►
//                      (live messages of the room are buffered meanwhile,
//                       then released, dropping any seq already shown)
//
// Moderation (issue 13; moderation.cpp): the ops' commands act on the
// current room, and a kick or ban that names this client leaves the room's
// window in place, saying so, but the room is no longer joined: it is not
// rejoined on reconnect, and /join tries again as a first join.
//
// Thread safety: reactor-thread-confined. Construct, call and destroy it on
// the thread that runs its io_context; the sink runs there too.

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/chat/commands.hpp"
#include "client/chat/events.hpp"
#include "client/chat/servers.hpp"
#include "client/lib/client.hpp"

namespace chat::term {

struct Options {
  // One server, or a cluster's nodes: "a,b:7779,[::1]" (servers.hpp), each
  // on `port` unless it names its own. A drop moves to the next.
  std::string host = "127.0.0.1";
  std::uint16_t port = 7777;
  // Speak TLS, verifying the server with this context (null: plaintext).
  std::shared_ptr<asio::ssl::context> tls;
  std::string nick;
  // Logs in to the account `nick` with it (empty: a guest). /register sets
  // it for the reconnects that follow, /login for the one it makes.
  std::string password;
  std::vector<std::string> rooms;
  std::chrono::milliseconds reconnect_min{250};
  std::chrono::milliseconds reconnect_max{10000};
  std::chrono::milliseconds ping_interval{2000};
  // Line mode: a refused first login (NICK_TAKEN, INVALID_NICK) ends the
  // client with exit_status() 1, since no one is there to pick another nick.
  bool quit_on_login_failure = false;
  // The charset typed lines come in (encoding.hpp, locale_charset()): each
  // is converted to UTF-8, or refused with an ErrorEvent and not sent (the
  // server would close the connection over a frame that is not UTF-8).
  std::string input_charset = "UTF-8";
};

class ChatCore {
 public:
  using Sink = std::function<void(const UiEvent&)>;

  ChatCore(asio::io_context& io, Options options, Sink sink);
  ~ChatCore();
  ChatCore(const ChatCore&) = delete;
  ChatCore& operator=(const ChatCore&) = delete;

  // Connects, logs in and joins the rooms from the options.
  void start();
  // One typed line, in options().input_charset: a command or text for the
  // current room. Lines that need the server wait (in order) until the
  // client is logged in. A line that is not text in that charset is
  // refused, whatever the command: an ErrorEvent (CLIENT) says why.
  void submit(std::string_view typed);
  // Closes the connection for good and emits QuitEvent (once).
  void quit();
  // End of input (line mode): quits once every queued line has been sent
  // and every say answered, or when `timeout` runs out.
  void finish(std::chrono::milliseconds timeout);
  // Makes `window` (a joined room or an open direct-message window) the
  // target of plain text; emits SwitchEvent.
  void switch_to(const std::string& window);

  const std::string& nick() const { return nick_; }
  ConnState state() const { return state_; }
  const std::string& current_room() const { return current_; }
  std::vector<std::string> rooms() const;             // in join order
  const std::vector<std::string>& windows() const { return windows_; }  // rooms and nicks, in opening order
  static bool is_query(const std::string& window) { return !window.empty() && window.front() != '#'; }
  // The direct-message window for `nick` (matched ignoring case), or "".
  std::string query_window(const std::string& nick) const;
  // 0, or 1 after a refused first login with quit_on_login_failure.
  int exit_status() const { return exit_status_; }
  std::vector<std::string> members(const std::string& room) const;
  std::string topic(const std::string& room) const;
  std::optional<double> rtt_ms() const { return rtt_ms_; }
  const Options& options() const { return options_; }

 private:
  struct Room {
    std::string name;
    bool joined = false;       // joined on the current connection
    bool ever_joined = false;  // its first JoinReply has been seen
    bool syncing = false;      // catching up: live messages wait in `buffered`
    std::uint64_t last_seq = 0;    // newest seq shown (this epoch and incarnation)
    std::uint64_t incarnation = 0;  // the room's, from its last JoinReply (0: none yet)
    std::uint64_t target_seq = 0;  // JoinReply.last_seq while syncing
    std::vector<v1::RoomMessage> buffered;
    std::vector<std::string> members;  // sorted; in a big room only those seen (issue 15)
    std::uint32_t member_count = 0;     // all of them, as the server last said
    std::string topic;
    std::string return_to;  // the current room when /join added this one
    std::uint64_t join_sent_gen = 0;  // gen_ when a join went out; its reply is awaited while equal
    std::string key;       // from /join ROOM KEY: every join of it sends it
    bool removed = false;  // kicked or banned: the window stays, the membership is gone
    std::optional<v1::RoomModes> modes;  // as last heard (ModesReply, MODES_CHANGED)
  };

  void connect();
  // Both run only for the current connection: connect()'s callbacks check
  // its generation first.
  void on_connected();
  void on_disconnected(std::error_code ec);
  void schedule_reconnect(const std::string& why);
  void login();
  void on_online();
  void send_join(const std::string& room);
  void on_join_reply(const std::string& room, const v1::ServerFrame& f);
  void sync_room(const std::string& room);
  void on_history_page(const std::string& room, const v1::ServerFrame& f);
  void finish_sync(Room& r);
  // The rest of a replay the server cut at its reply size: the page before
  // `before_seq`, shown as history.
  void fetch_older(const std::string& room, std::uint64_t before_seq);
  // /list: the pages from `cursor` on, gathered into `rows`, then shown.
  void list_from(const std::string& cursor, std::shared_ptr<RoomListEvent> rows);
  // /history N: pages back from `before_seq` until `want` are in `got`.
  void history_back(const std::string& room, std::uint64_t before_seq, std::uint32_t want,
                    std::shared_ptr<std::vector<v1::RoomMessage>> got);
  void deliver(Room& r, const v1::RoomMessage& m, bool history);
  void on_message(const v1::RoomMessage& m);
  void on_presence(const v1::Presence& p);
  void on_presence_delta(const v1::PresenceDelta& d);
  void execute(const Command& c);
  // moderation.cpp: /kick, /ban, /unban, /invite, /mode, /op and the rest.
  void execute_moderation(const Command& c);
  void on_moderation(const v1::Moderation& m);
  void show_modes(const v1::ModesReply& reply);
  // A kick or ban took this client out of `r` (see above).
  void removed_from(Room& r);
  // Our own LEFT for a kick or ban (after its Moderation, or without one):
  // true when it was handled, and is not shown as presence.
  bool own_removal(const v1::Presence& p);
  // account_commands.cpp: /register, /password, /login.
  void execute_account(const Command& c);
  // Drops the connection to log in again at once (with what options_ now say).
  void relogin(const std::string& why);
  void drain_queue();
  static bool needs_server(const Command& c);
  void say(const std::string& room, const std::string& text);
  void send_direct(const std::string& peer, const std::string& text);
  void join_one(const std::string& room, const std::string& key);
  void close_window(const std::string& window);
  void add_window(const std::string& window);
  void remove_window(const std::string& window);
  // Where the current window goes when it closes: the last window, or none.
  void leave_current(const std::string& closed);
  void ping_tick();
  void maybe_finish();
  void emit_error(const v1::Error& e);
  void emit_error(std::string code, std::string message);
  void info(std::string text, std::string room = "", bool everywhere = false);
  void set_state(ConnState s, std::string detail = "", std::int64_t retry_ms = 0);
  bool reply_ok(const v1::ServerFrame& f);  // false (and an ErrorEvent) for an Error reply
  Room* find_room(const std::string& name);
  std::function<void(const v1::ServerFrame&)> guard(std::function<void(const v1::ServerFrame&)> f);

  asio::io_context& io_;
  Options options_;
  Sink sink_;
  std::thread::id owner_;
  std::shared_ptr<client::Client> client_;
  std::uint64_t gen_ = 0;  // bumped per connection; stale callbacks compare and bail out
  bool welcomed_ = false;  // the current connection got its Welcome
  bool logged_in_ = false; // the current connection's hello succeeded
  bool ever_logged_in_ = false;
  bool hello_pending_ = false;  // a hello is on its way
  ConnState state_ = ConnState::kClosed;
  bool quitting_ = false;
  bool finishing_ = false;
  std::uint64_t epoch_ = 0;
  std::string nick_;
  std::string current_;
  std::vector<Room> rooms_;
  std::vector<std::string> windows_;  // rooms_ and direct-message windows, in opening order
  std::size_t max_body_ = 4096;       // Welcome's max_body_bytes
  int exit_status_ = 0;
  std::deque<Command> queue_;  // waiting for login
  // client_msg_ids start from the clock: the server treats a (nick, id) it
  // saw in the last 10 minutes as the same say sent again, so another run
  // of chat must not reuse one.
  std::uint64_t next_msg_id_ = 0;
  // Says sent and not yet answered, by id: sent again, with the same id,
  // after logging in again, so a line typed just before a drop arrives once.
  struct Unacked {
    std::string room;
    std::string text;
  };
  std::map<std::uint64_t, Unacked> unacked_;
  void send_say(std::uint64_t id, const std::string& room, const std::string& text);
  std::size_t outstanding_ = 0;  // requests not yet answered
  std::uint32_t history_page_ = 200;
  // The last Moderations shown (serialized): an op gets each of its own twice,
  // as the reply and as a member of the room.
  std::deque<std::string> shown_moderation_;
  // While a /login's hello is out: the password before it, put back if the
  // login is refused.
  std::optional<std::string> login_fallback_;
  int attempt_ = 0;
  std::vector<Server> servers_;
  std::size_t server_ = 0;  // the one in use, or tried next
  std::mt19937_64 rng_;
  asio::steady_timer reconnect_timer_;
  asio::steady_timer ping_timer_;
  asio::steady_timer finish_timer_;
  std::optional<std::chrono::steady_clock::time_point> ping_sent_;
  std::optional<double> rtt_ms_;
  // Set on destruction so callbacks still queued in the io_context do nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace chat::term
