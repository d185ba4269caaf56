// The terminal client `chat`: line mode through connection cuts and a
// server restart, and the full-screen UI driven through tmux.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "integration/term_helpers.hpp"
#include "support/server_fixture.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

using nlohmann::json;

// `chat --json` with fast reconnects, so cuts heal quickly in a test.
std::unique_ptr<ChildProcess> start_chat(std::uint16_t port, const std::string& nick,
                                         const std::vector<std::string>& rooms) {
  std::vector<std::string> argv{CHAT_PATH, "--json", "--host", "127.0.0.1", "--port", std::to_string(port),
                                "--nick", nick, "--reconnect-min-ms", "20", "--reconnect-max-ms", "300",
                                "--ping-ms", "500"};
  for (const auto& r : rooms) {
    argv.push_back("--join");
    argv.push_back(r);
  }
  return std::make_unique<ChildProcess>(argv);
}

std::vector<json> events(const ChildProcess& p) {
  std::vector<json> out;
  for (const auto& l : p.lines()) {
    auto j = json::parse(l, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// Sequence numbers of the live (non-replayed) messages shown for `room`.
std::vector<std::uint64_t> shown_seqs(const std::vector<std::string>& lines, const std::string& room) {
  std::vector<std::uint64_t> seqs;
  for (const auto& l : lines) {
    auto j = json::parse(l, nullptr, false);
    if (j.is_discarded() || j.value("type", "") != "message" || j.value("room", "") != room) continue;
    if (j.value("history", false)) continue;
    seqs.push_back(j.value("seq", std::uint64_t{0}));
  }
  return seqs;
}

int count_type(const std::vector<std::string>& lines, const std::string& type, const std::string& key = "",
               const std::string& value = "") {
  int n = 0;
  for (const auto& l : lines) {
    auto j = json::parse(l, nullptr, false);
    if (j.is_discarded() || j.value("type", "") != type) continue;
    if (!key.empty() && j.value(key, "") != value) continue;
    ++n;
  }
  return n;
}

bool has_seqs_through(const std::vector<std::string>& lines, const std::string& room, std::uint64_t n) {
  const auto seqs = shown_seqs(lines, room);
  return std::set<std::uint64_t>(seqs.begin(), seqs.end()).size() >= n;
}

TEST(TerminalLineModeTest, CutConnectionsCatchUpWithEveryMessageOnceInOrder) {
  auto config = test_config(2);
  config.rate_per_sec = 0;
  RunningServer server(config);
  TcpProxy proxy(server.port());
  std::vector<std::unique_ptr<ChildProcess>> clients;
  for (const char* nick : {"ann", "ben", "cat"}) clients.push_back(start_chat(proxy.port(), nick, {"#flow"}));
  for (auto& c : clients) ASSERT_TRUE(c->wait_line("\"type\":\"joined\"")) << c->text();

  IoThread io;
  TestClient sender(io, server.port(), "sender");
  ASSERT_TRUE(sender.join("#flow").has_join());
  constexpr int kMessages = 400;
  int cuts = 0;
  for (int i = 1; i <= kMessages; ++i) {
    sender.say_async("#flow", "m" + std::to_string(i), static_cast<std::uint64_t>(i));
    if (i % 80 == 40) {
      // Cut while the room is busy; some cuts land mid-catch-up.
      cuts += proxy.cut() > 0 ? 1 : 0;
    }
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_TRUE(sender.wait([&] { return sender.replies().size() == kMessages; }, 30s));
  EXPECT_GT(cuts, 0);

  for (auto& c : clients) {
    ASSERT_TRUE(c->wait([](const auto& lines) { return has_seqs_through(lines, "#flow", kMessages); }, 30s))
        << "missing messages; got " << shown_seqs(c->lines(), "#flow").size() << "\n" << c->text();
    const auto seqs = shown_seqs(c->lines(), "#flow");
    std::vector<std::uint64_t> want(kMessages);
    for (int i = 0; i < kMessages; ++i) want[i] = static_cast<std::uint64_t>(i + 1);
    EXPECT_EQ(seqs, want) << "each message exactly once, in sequence order";
    EXPECT_EQ(count_type(c->lines(), "gap"), 0) << "the history held everything";
    EXPECT_GE(count_type(c->lines(), "joined"), 2) << "it reconnected and rejoined";
  }
  for (auto& c : clients) {
    c->close_stdin();
    EXPECT_EQ(c->wait_exit(20s), 0) << "end of input quits cleanly";
  }
}

TEST(TerminalLineModeTest, ShortHistoryShowsUnavailableMarkerAndTheRest) {
  auto config = test_config(1);
  config.rate_per_sec = 0;
  config.history_per_room = 20;
  RunningServer server(config);
  TcpProxy proxy(server.port());
  auto client = start_chat(proxy.port(), "dee", {"#short"});
  ASSERT_TRUE(client->wait_line("\"type\":\"joined\"")) << client->text();

  IoThread io;
  TestClient sender(io, server.port(), "sender");
  ASSERT_TRUE(sender.join("#short").has_join());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(sender.say("#short", "early " + std::to_string(i), i).has_message());
  ASSERT_TRUE(client->wait([](const auto& lines) { return has_seqs_through(lines, "#short", 5); }));

  // Keep the client out while 95 more messages pass; the room keeps 20.
  proxy.set_refusing(true);
  ASSERT_EQ(proxy.cut(), 1);
  for (int i = 6; i <= 100; ++i) ASSERT_TRUE(sender.say("#short", "late " + std::to_string(i), i).has_message());
  proxy.set_refusing(false);

  ASSERT_TRUE(client->wait([](const auto& lines) { return has_seqs_through(lines, "#short", 25); }, 30s))
      << client->text();
  const auto seqs = shown_seqs(client->lines(), "#short");
  std::vector<std::uint64_t> want{1, 2, 3, 4, 5};
  for (std::uint64_t s = 81; s <= 100; ++s) want.push_back(s);
  EXPECT_EQ(seqs, want);
  int gaps = 0;
  for (const auto& e : events(*client)) {
    if (e.value("type", "") != "gap") continue;
    ++gaps;
    EXPECT_EQ(e.value("count", 0), 75);
    EXPECT_EQ(e.value("first_seq", 0), 6);
    EXPECT_EQ(e.value("last_seq", 0), 80);
  }
  EXPECT_EQ(gaps, 1) << client->text();
}

TEST(TerminalLineModeTest, PlainModeSaysUnavailableInWords) {
  // The same marker as readable text, as a person sees it in line mode.
  auto config = test_config(1);
  config.rate_per_sec = 0;
  config.history_per_room = 3;
  RunningServer server(config);
  TcpProxy proxy(server.port());
  ChildProcess client({CHAT_PATH, "--plain", "--host", "127.0.0.1", "--port", std::to_string(proxy.port()),
                       "--nick", "eve", "--join", "#p", "--reconnect-min-ms", "20", "--reconnect-max-ms", "200"});
  ASSERT_TRUE(client.wait_line("-- joined #p")) << client.text();
  IoThread io;
  TestClient sender(io, server.port(), "sender");
  ASSERT_TRUE(sender.join("#p").has_join());
  proxy.set_refusing(true);
  proxy.cut();
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(sender.say("#p", "line " + std::to_string(i), i).has_message());
  proxy.set_refusing(false);
  ASSERT_TRUE(client.wait_line("#p <sender> line 10", 30s)) << client.text();
  EXPECT_TRUE(client.wait_line("-- 7 messages unavailable in #p", 1s)) << client.text();
  EXPECT_TRUE(client.wait_line("reconnecting in ", 1s)) << client.text();
  EXPECT_EQ(client.text().find("line 7\n"), std::string::npos) << client.text();
}

// chatd as a child process, for restarting it on the same port.
std::unique_ptr<ChildProcess> start_chatd(std::uint16_t port) {
  return std::make_unique<ChildProcess>(std::vector<std::string>{
      CHATD_PATH, "--bind", "127.0.0.1", "--port", std::to_string(port), "--reactors", "2", "--rate", "0",
      "--log-level", "warn", "--shutdown-grace-ms", "500"});
}

std::uint16_t chatd_port(ChildProcess& chatd) {
  if (!chatd.wait_line("listening on ", 20s)) return 0;
  const std::string line = chatd.lines().front();
  const auto colon = line.rfind(':', line.find(" with "));
  return static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
}

TEST(TerminalLineModeTest, ServerRestartIsNoticedAndClientsCarryOn) {
  auto chatd = start_chatd(0);
  const std::uint16_t port = chatd_port(*chatd);
  ASSERT_NE(port, 0);
  auto a = start_chat(port, "ada", {"#r"});
  auto b = start_chat(port, "bo", {"#r"});
  ASSERT_TRUE(a->wait_line("\"type\":\"joined\"")) << a->text();
  ASSERT_TRUE(b->wait_line("\"type\":\"joined\"")) << b->text();
  a->write_line("before the restart");
  ASSERT_TRUE(b->wait_line("before the restart")) << b->text();

  ASSERT_EQ(chatd->wait_exit(0ms), std::nullopt);
  chatd->signal(SIGTERM);
  ASSERT_EQ(chatd->wait_exit(20s), 0);
  chatd = start_chatd(port);  // the same port: the clients know no other
  ASSERT_EQ(chatd_port(*chatd), port);

  for (auto* c : {a.get(), b.get()}) {
    ASSERT_TRUE(c->wait_line("\"type\":\"epoch\"", 30s)) << c->text();
    EXPECT_TRUE(c->wait_line("server restarted; history starts over", 1s)) << c->text();
    ASSERT_TRUE(c->wait([](const auto& lines) { return count_type(lines, "joined") >= 2; }, 30s)) << c->text();
  }
  // The rooms' sequence numbers started over; the clients accept seq 1 again.
  b->write_line("after the restart");
  for (auto* c : {a.get(), b.get()}) {
    ASSERT_TRUE(c->wait_line("after the restart", 20s)) << c->text();
    const auto seqs = shown_seqs(c->lines(), "#r");
    ASSERT_EQ(seqs.size(), 2u) << c->text();
    EXPECT_EQ(seqs[0], 1u);
    EXPECT_EQ(seqs[1], 1u) << "a new epoch's first message";
  }
  for (auto* c : {a.get(), b.get()}) {
    c->close_stdin();
    EXPECT_EQ(c->wait_exit(20s), 0);
  }
}

TEST(TerminalLineModeTest, ServerErrorsAreLinesAndTheClientStays) {
  RunningServer server(test_config(1));
  ChildProcess c({CHAT_PATH, "--plain", "--host", "127.0.0.1", "--port", std::to_string(server.port()),
                  "--nick", "fay"});
  c.write_line("text with no room");
  c.write_line("/join b@d");
  c.write_line("/msg nobody hello");
  c.write_line("/join #ok");
  c.write_line("still here");
  ASSERT_TRUE(c.wait_line("#ok <fay> still here")) << c.text();
  EXPECT_TRUE(c.wait_line("! CLIENT no current room", 1s)) << c.text();
  EXPECT_TRUE(c.wait_line("! INVALID_ROOM", 1s)) << c.text();
  EXPECT_TRUE(c.wait_line("! NO_SUCH_NICK", 1s)) << c.text();
  c.write_line("/quit");
  EXPECT_EQ(c.wait_exit(20s), 0);
}

// ------------------------------------------------------------ tmux and the UI

class Tmux {
 public:
  Tmux(int cols, int rows) : socket_("chat-test-" + std::to_string(::getpid()) + "-" + std::to_string(next_++)) {
    // A private server (-L), no user config (-f /dev/null), a fixed size.
    run("new-session -d -s t -x " + std::to_string(cols) + " -y " + std::to_string(rows) +
        " 'env TERM=xterm-256color LANG=C.UTF-8 PS1=\"$ \" sh'");
    path_ = run("display -p '#{socket_path}'").second;
    while (!path_.empty() && path_.back() == '\n') path_.pop_back();
  }
  ~Tmux() {
    run("kill-server");
    // kill-server leaves the socket file behind.
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  std::pair<int, std::string> run(const std::string& args) const {
    return run_command("tmux -L " + socket_ + " -f /dev/null " + args + " 2>&1");
  }
  void keys(const std::string& keys) const { run("send-keys -t t " + keys); }
  // Literal text, then nothing else.
  void type(const std::string& text) const { run("send-keys -t t -l '" + text + "'"); }
  std::string screen() const { return run("capture-pane -p -t t").second; }
  bool wait_screen(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout = 20s) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(screen())) return true;
      std::this_thread::sleep_for(50ms);
    }
    return pred(screen());
  }
  bool wait_text(const std::string& needle, std::chrono::milliseconds timeout = 20s) const {
    return wait_screen([&](const std::string& s) { return s.find(needle) != std::string::npos; }, timeout);
  }
  std::string status_line() const {
    const std::string s = screen();
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < s.size()) {
      const auto nl = s.find('\n', start);
      lines.push_back(s.substr(start, nl - start));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines.size() >= 2 ? lines[lines.size() - 2] : "";
  }

 private:
  static inline int next_ = 0;
  std::string socket_;
  std::string path_;
};

bool tmux_available() { return run_command("command -v tmux >/dev/null").first == 0; }

TEST(TerminalUiTest, JoinsTalksSwitchesCompletesAndQuitsRestoringTheTerminal) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(test_config(2));
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#main").has_join());
  ASSERT_TRUE(bob.join("#side").has_join());

  Tmux tmux(100, 30);
  ASSERT_TRUE(tmux.wait_text("$"));
  tmux.type(std::string("S=$(stty -g); ") + CHAT_PATH + " --host 127.0.0.1 --port " + std::to_string(server.port()) +
            " --nick alice --join main --join side; echo EXITED=$?; [ \"$S\" = \"$(stty -g)\" ] && echo TTY-RESTORED");
  tmux.keys("Enter");
  // Both rooms joined; the first is current.
  ASSERT_TRUE(tmux.wait_text("[1:#main]")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();
  ASSERT_TRUE(bob.wait([&] {
    int joined = 0;
    for (const auto& p : bob.presences()) joined += p.nick() == "alice" ? 1 : 0;
    return joined == 2;
  }));

  // Say something; bob hears it. Bob answers; the pane shows it.
  tmux.type("hello from alice");
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait_messages("#main", 1)) << tmux.screen();
  EXPECT_EQ(bob.messages("#main")[0].text(), "hello from alice");
  ASSERT_TRUE(bob.say("#main", "hi alice", 1).has_message());
  ASSERT_TRUE(tmux.wait_text("<bob> hi alice")) << tmux.screen();

  // Switch rooms with a command; a message in #main shows as unread there.
  tmux.type("/switch 2");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("[2:#side]")) << tmux.screen();
  ASSERT_TRUE(bob.say("#main", "while you were away", 2).has_message());
  ASSERT_TRUE(tmux.wait_text("[Act: 1:#main(1)]")) << tmux.screen();
  EXPECT_EQ(tmux.screen().find("while you were away"), std::string::npos) << "not in #side's pane";

  // Tab completion: a command, then a nick at the start of a line.
  tmux.type("/swi");
  tmux.keys("Tab");
  // (capture-pane drops trailing blanks: the space after it shows below)
  ASSERT_TRUE(tmux.wait_text("[#side] /switch")) << tmux.screen();
  tmux.type("1");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("<bob> while you were away")) << tmux.screen();
  EXPECT_TRUE(tmux.wait_text("[1:#main]")) << tmux.screen();
  EXPECT_EQ(tmux.status_line().find("Act:"), std::string::npos) << "read now: " << tmux.status_line();
  tmux.type("bo");
  tmux.keys("Tab");
  ASSERT_TRUE(tmux.wait_text("[#main] bob:")) << tmux.screen();
  tmux.type("done");
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait_messages("#main", 4)) << tmux.screen();
  EXPECT_EQ(bob.messages("#main")[3].text(), "bob: done");

  // Alt+2 switches too; history brings back the last line typed.
  tmux.keys("M-2");
  ASSERT_TRUE(tmux.wait_text("[2:#side]")) << tmux.screen();
  tmux.keys("Up");
  ASSERT_TRUE(tmux.wait_text("[#side] bob: done")) << tmux.screen();
  tmux.keys("C-u");

  // /quit: the shell is back, the terminal's modes as they were.
  tmux.type("/quit");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("EXITED=0")) << tmux.screen();
  EXPECT_TRUE(tmux.wait_text("TTY-RESTORED", 5s)) << tmux.screen();
  EXPECT_EQ(tmux.run("display -p -t t '#{alternate_on}'").second, "0\n") << "left the alternate screen";
  EXPECT_EQ(tmux.screen().find("[online"), std::string::npos) << tmux.screen();
}

TEST(TerminalUiTest, CtrlCAndCtrlDQuitCleanly) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(test_config(1));
  Tmux tmux(80, 24);
  ASSERT_TRUE(tmux.wait_text("$"));
  int run = 0;
  for (const char* key : {"C-c", "C-d"}) {
    ++run;
    tmux.type(std::string("S=$(stty -g); ") + CHAT_PATH + " --port " + std::to_string(server.port()) +
              " --nick u" + std::to_string(run) + " --join r; echo EXITED" + std::to_string(run) +
              "=$?; [ \"$S\" = \"$(stty -g)\" ] && echo RESTORED" + std::to_string(run));
    tmux.keys("Enter");
    ASSERT_TRUE(tmux.wait_text("[1:#r]")) << tmux.screen();
    ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();
    tmux.keys(key);
    ASSERT_TRUE(tmux.wait_text("EXITED" + std::to_string(run) + "=0")) << key << "\n" << tmux.screen();
    EXPECT_TRUE(tmux.wait_text("RESTORED" + std::to_string(run), 5s)) << tmux.screen();
  }
}

}  // namespace
}  // namespace chat::testing
