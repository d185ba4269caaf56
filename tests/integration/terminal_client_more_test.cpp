// The terminal client `chat`, continued (terminal_client_test.cpp has the
// basics): full screen in tmux, resizing while idle, typing and receiving,
// Alt and Ctrl keys, direct-message windows, pastes, long lines, word wrap
// and highlights; in line mode, comma-separated joins, a refused login,
// replayed history's place and bidi controls from a peer.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "integration/term_helpers.hpp"
#include "support/server_fixture.hpp"
#include "support/test_client.hpp"
#include "support/wait.hpp"

namespace chat::testing {
namespace {

using nlohmann::json;

server::Config unlimited_config(unsigned reactors = 1) {
  auto config = test_config(reactors);
  config.rate_per_sec = 0;
  return config;
}

// The texts `from` said in `room`, as `listener` got them.
std::vector<std::string> said_by(const TestClient& listener, const std::string& room, const std::string& from) {
  std::vector<std::string> out;
  for (const auto& m : listener.messages(room)) {
    if (m.sender() == from) out.push_back(m.text());
  }
  return out;
}

bool heard(const TestClient& listener, const std::string& room, const std::string& from, const std::string& text) {
  const auto texts = said_by(listener, room, from);
  return std::find(texts.begin(), texts.end(), text) != texts.end();
}

// Waits until `nick` has joined `rooms` rooms, as `watcher` sees it.
bool wait_joined(const TestClient& watcher, const std::string& nick, int rooms) {
  return watcher.wait([&] {
    int joined = 0;
    for (const auto& p : watcher.presences()) {
      joined += p.nick() == nick && p.kind() == v1::Presence::KIND_JOINED ? 1 : 0;
    }
    return joined >= rooms;
  });
}

// `chat` in the pane, in a shell line that afterwards says EXITED=N and,
// if the terminal's modes are as they were, TTY-RESTORED.
void start_checked_ui(const Tmux& tmux, std::uint16_t port, const std::string& nick, const std::string& extra) {
  tmux.type(std::string("S=$(stty -g); ") + CHAT_PATH + " --host 127.0.0.1 --port " + std::to_string(port) +
            " --nick " + nick + " " + extra +
            "; echo EXITED=$?; [ \"$S\" = \"$(stty -g)\" ] && echo TTY-RESTORED");
  tmux.keys("Enter");
}

void quit_ui(const Tmux& tmux) {
  tmux.keys("C-u");
  tmux.type("/quit");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("EXITED=0")) << tmux.screen();
  EXPECT_TRUE(tmux.wait_text("TTY-RESTORED", 5s)) << tmux.screen();
  EXPECT_EQ(tmux.format("#{alternate_on}"), "0") << "left the alternate screen";
}

// ------------------------------------------------------------- resizing

// The client drew itself at this size: title on top, the status line
// second from the bottom, the input line last.
bool laid_out(const Tmux& tmux, int rows, const std::string& room) {
  const auto r = tmux.rows();
  return static_cast<int>(r.size()) == rows && r.front().rfind(" " + room, 0) == 0 &&
         r[r.size() - 2].find("[online") != std::string::npos && r.back().rfind("[" + room + "]", 0) == 0;
}

TEST(TerminalUiTest, ResizingWhileIdleTypingAndReceivingKeepsTheClientWorking) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(unlimited_config());
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#rs").has_join());
  Tmux tmux(100, 30);
  ASSERT_TRUE(tmux.wait_text("$"));
  start_checked_ui(tmux, server.port(), "alice", "--join rs");
  ASSERT_TRUE(tmux.wait_text("[1:#rs]")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();
  ASSERT_TRUE(wait_joined(bob, "alice", 1));

  // Idle: the terminal shrinks; the client redraws at the new size and
  // still reads keys (the old client spun on KEY_RESIZE at the first key).
  tmux.resize(90, 20);
  ASSERT_TRUE(tmux.wait_screen([&](const std::string&) { return laid_out(tmux, 20, "#rs"); })) << tmux.screen();
  tmux.type("typed after a resize");
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait([&] { return heard(bob, "#rs", "alice", "typed after a resize"); })) << tmux.screen();

  // Typing: half a line in, the terminal changes; the line survives.
  tmux.type("half way");
  ASSERT_TRUE(tmux.wait_text("[#rs] half way")) << tmux.screen();
  tmux.resize(70, 16);
  ASSERT_TRUE(tmux.wait_screen([&](const std::string&) { return laid_out(tmux, 16, "#rs"); })) << tmux.screen();
  EXPECT_TRUE(tmux.wait_text("[#rs] half way")) << tmux.screen();
  tmux.type(" and done");
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait([&] { return heard(bob, "#rs", "alice", "half way and done"); })) << tmux.screen();

  // Receiving: resizes in the middle of a stream of messages.
  constexpr int kMessages = 30;
  for (int i = 1; i <= kMessages; ++i) {
    bob.say_async("#rs", "busy-" + std::to_string(i), static_cast<std::uint64_t>(i));
    if (i % 5 == 0) tmux.resize(i % 10 == 0 ? 60 : 85, i % 10 == 0 ? 18 : 25);
  }
  ASSERT_TRUE(bob.wait([&] { return bob.replies().size() == kMessages; }));
  tmux.resize(100, 30);
  ASSERT_TRUE(tmux.wait_screen([&](const std::string&) { return laid_out(tmux, 30, "#rs"); })) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("<bob> busy-" + std::to_string(kMessages))) << tmux.screen();
  // Still answering: a line typed now goes out, and the server still has us.
  tmux.type("still here");
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait([&] { return heard(bob, "#rs", "alice", "still here"); })) << tmux.screen();
  EXPECT_NE(tmux.status_line().find("[online"), std::string::npos) << tmux.status_line();
  quit_ui(tmux);
}

// ------------------------------------------------------------ keys

TEST(TerminalUiTest, AltBAndAltFMoveByWordsAndAnUnboundAltKeyTypesNothing) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(unlimited_config());
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#one").has_join());
  Tmux tmux(100, 24);
  ASSERT_TRUE(tmux.wait_text("$"));
  start_checked_ui(tmux, server.port(), "alice", "--join one");
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();

  tmux.type("one two three");
  ASSERT_TRUE(tmux.wait_text("[#one] one two three")) << tmux.screen();
  tmux.keys("M-b");
  tmux.keys("M-b");  // before "two"
  tmux.type("X");
  ASSERT_TRUE(tmux.wait_text("[#one] one Xtwo three")) << tmux.screen();
  tmux.keys("M-f");  // after "Xtwo"
  tmux.type("Y");
  ASSERT_TRUE(tmux.wait_text("[#one] one XtwoY three")) << tmux.screen();
  tmux.keys("M-z");  // no binding: nothing is typed
  tmux.keys("M-q");
  tmux.type("!");
  ASSERT_TRUE(tmux.wait_text("[#one] one XtwoY! three")) << tmux.screen();
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait_messages("#one", 1)) << tmux.screen();
  EXPECT_EQ(said_by(bob, "#one", "alice"), std::vector<std::string>{"one XtwoY! three"});
  quit_ui(tmux);
}

TEST(TerminalUiTest, AltAJumpsToActivityAndCtrlNPAndAltArrowsSwitchWindows) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(unlimited_config());
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#one").has_join());
  ASSERT_TRUE(bob.join("#two").has_join());
  ASSERT_TRUE(bob.join("#three").has_join());
  Tmux tmux(100, 24);
  ASSERT_TRUE(tmux.wait_text("$"));
  // One --join with a list: three windows.
  start_checked_ui(tmux, server.port(), "alice", "--join '#one,#two,#three'");
  ASSERT_TRUE(tmux.wait_text("[1:#one]")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();
  ASSERT_TRUE(wait_joined(bob, "alice", 3));

  // Ctrl+N and Ctrl+P walk the windows, wrapping; so do Alt+Right and Alt+Left.
  tmux.keys("C-n");
  ASSERT_TRUE(tmux.wait_text("[2:#two]")) << tmux.screen();
  tmux.keys("C-p");
  ASSERT_TRUE(tmux.wait_text("[1:#one]")) << tmux.screen();
  tmux.keys("C-p");
  ASSERT_TRUE(tmux.wait_text("[3:#three]")) << tmux.screen();
  tmux.keys("M-Right");
  ASSERT_TRUE(tmux.wait_text("[1:#one]")) << tmux.screen();
  tmux.keys("M-Right");
  ASSERT_TRUE(tmux.wait_text("[2:#two]")) << tmux.screen();
  tmux.keys("M-Left");
  ASSERT_TRUE(tmux.wait_text("[1:#one]")) << tmux.screen();

  // Alt+A: to the window with activity; a highlight goes before plain
  // messages, whatever the window numbers.
  ASSERT_TRUE(bob.say("#two", "plain news", 1).has_message());
  ASSERT_TRUE(bob.say("#three", "alice: you there?", 2).has_message());
  ASSERT_TRUE(tmux.wait_text("[Act: 2:#two(1) 3:#three(1!)]")) << tmux.screen();
  tmux.keys("M-a");
  ASSERT_TRUE(tmux.wait_text("[3:#three]")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("<bob> alice: you there?")) << tmux.screen();
  tmux.keys("M-a");
  ASSERT_TRUE(tmux.wait_text("[2:#two]")) << tmux.screen();
  EXPECT_EQ(tmux.status_line().find("Act:"), std::string::npos) << tmux.status_line();

  // Nothing left: Alt+A does nothing, and types nothing before what comes
  // next (it once sent "a/switch 1" as a message).
  tmux.keys("M-a");
  tmux.type("/switch 1");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("[1:#one]")) << tmux.screen();
  tmux.type("after alt-a");
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait([&] { return heard(bob, "#one", "alice", "after alt-a"); })) << tmux.screen();
  for (const char* room : {"#one", "#two", "#three"}) {
    for (const auto& text : said_by(bob, room, "alice")) EXPECT_EQ(text, "after alt-a") << room;
  }
  quit_ui(tmux);
}

// ------------------------------------------------------- direct messages

TEST(TerminalUiTest, AnIncomingDirectMessageOpensItsWindowAndQueryAndCloseWork) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(unlimited_config(2));
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#dm").has_join());
  Tmux tmux(100, 24);
  ASSERT_TRUE(tmux.wait_text("$"));
  start_checked_ui(tmux, server.port(), "alice", "--join dm");
  ASSERT_TRUE(tmux.wait_text("[1:#dm]")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();

  // bob writes to alice: a window opens for him, unread and marked like a
  // highlight; the room's pane does not show it.
  ASSERT_FALSE(bob.direct("alice", "psst, alice").has_error());
  ASSERT_TRUE(tmux.wait_text("[Act: 2:bob(1!)]")) << tmux.screen();
  EXPECT_EQ(tmux.screen().find("psst, alice"), std::string::npos) << tmux.screen();
  tmux.keys("M-2");
  ASSERT_TRUE(tmux.wait_text("[2:bob]")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("<bob> psst, alice")) << tmux.screen();
  EXPECT_EQ(tmux.rows().front().rfind(" bob: direct messages", 0), 0u) << tmux.screen();

  // Text typed in his window goes to him, not to the room.
  tmux.type("hi bob");
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait([&] {
    for (const auto& d : bob.directs()) {
      if (d.sender() == "alice" && d.text() == "hi bob") return true;
    }
    return false;
  })) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("<alice> hi bob")) << tmux.screen();
  EXPECT_TRUE(said_by(bob, "#dm", "alice").empty());

  // /close closes it; /query opens it again (and sends, with text).
  tmux.type("/close");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("[1:#dm]")) << tmux.screen();
  EXPECT_EQ(tmux.status_line().find("bob"), std::string::npos) << tmux.status_line();
  tmux.type("/query bob back again");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("[2:bob]")) << tmux.screen();
  ASSERT_TRUE(bob.wait([&] {
    for (const auto& d : bob.directs()) {
      if (d.text() == "back again") return true;
    }
    return false;
  })) << tmux.screen();
  // /close in a room leaves it.
  tmux.keys("M-1");
  ASSERT_TRUE(tmux.wait_text("[1:#dm]")) << tmux.screen();
  tmux.type("/close");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("[1:bob]")) << tmux.screen();
  ASSERT_TRUE(bob.wait([&] {
    for (const auto& p : bob.presences()) {
      if (p.nick() == "alice" && p.room() == "#dm" && p.kind() == v1::Presence::KIND_LEFT) return true;
    }
    return false;
  })) << tmux.screen();
  quit_ui(tmux);
}

// ------------------------------------------------------------- pasting

TEST(TerminalUiTest, APasteOfSixLinesAsksFirstAndNeverRunsAPastedCommand) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(unlimited_config());
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#paste").has_join());
  Tmux tmux(100, 24);
  ASSERT_TRUE(tmux.wait_text("$"));
  start_checked_ui(tmux, server.port(), "alice", "--join paste");
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();
  ASSERT_TRUE(wait_joined(bob, "alice", 1));

  const std::vector<std::string> six{"line one", "line two", "/nick mallory", "line four", "line five", "line six"};
  std::string text;
  for (const auto& l : six) text += l + "\n";
  tmux.paste(text);
  ASSERT_TRUE(tmux.wait_text("paste 6 lines to #paste? y sends them")) << tmux.screen();
  EXPECT_TRUE(tmux.wait_text("[paste 6 lines? y/n]")) << tmux.screen();
  EXPECT_TRUE(said_by(bob, "#paste", "alice").empty()) << "nothing goes out before the answer";
  tmux.keys("y");
  ASSERT_TRUE(bob.wait([&] { return said_by(bob, "#paste", "alice").size() == six.size(); })) << tmux.screen();
  EXPECT_EQ(said_by(bob, "#paste", "alice"), six) << "the pasted /nick is text";
  EXPECT_NE(tmux.status_line().find("[alice]"), std::string::npos) << tmux.status_line();

  // Dropped when the answer is not y.
  tmux.paste("a\nb\nc\nd\ne\nf\ng\n");
  ASSERT_TRUE(tmux.wait_text("paste 7 lines to #paste?")) << tmux.screen();
  tmux.keys("n");
  ASSERT_TRUE(tmux.wait_text("paste of 7 lines dropped")) << tmux.screen();
  // Five lines or fewer go at once; a pasted command is still only text.
  tmux.paste("/quit now\nsecond line\n");
  ASSERT_TRUE(bob.wait([&] { return said_by(bob, "#paste", "alice").size() == six.size() + 2; })) << tmux.screen();
  auto texts = said_by(bob, "#paste", "alice");
  EXPECT_EQ(std::vector<std::string>(texts.end() - 2, texts.end()),
            (std::vector<std::string>{"/quit now", "second line"}));
  // One line is typing: it waits in the input line.
  tmux.paste("/nick mallory");
  ASSERT_TRUE(tmux.wait_text("[#paste] /nick mallory")) << tmux.screen();
  tmux.keys("C-u");
  tmux.type("last");
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait([&] { return heard(bob, "#paste", "alice", "last"); })) << tmux.screen();
  texts = said_by(bob, "#paste", "alice");
  EXPECT_EQ(texts.size(), six.size() + 3) << "the dropped paste sent nothing";
  quit_ui(tmux);
}

// --------------------------------------------------- long lines and wrap

TEST(TerminalUiTest, ALongLineIsSplitAtSpacesAndLinesWrapBetweenWords) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  auto config = unlimited_config();
  config.max_body_bytes = 200;
  RunningServer server(config);
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#long").has_join());
  Tmux tmux(80, 30);
  ASSERT_TRUE(tmux.wait_text("$"));
  start_checked_ui(tmux, server.port(), "alice", "--join long");
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();
  ASSERT_TRUE(wait_joined(bob, "alice", 1));

  // 500 bytes of words, over the server's 200: three messages, cut at spaces.
  std::string line;
  for (int i = 1; line.size() < 500; ++i) line += (line.empty() ? "" : " ") + std::string("word") + std::to_string(i);
  tmux.paste(line);  // one line: into the input line, quicker than typing it
  const std::string last_word = line.substr(line.rfind(' ') + 1);
  ASSERT_TRUE(tmux.wait_screen([&](const std::string&) {
    const auto r = tmux.rows();
    return !r.empty() && r.back().size() > last_word.size() &&
           r.back().compare(r.back().size() - last_word.size(), last_word.size(), last_word) == 0;
  })) << tmux.screen();
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait([&] {
    std::string joined;
    for (const auto& t : said_by(bob, "#long", "alice")) joined += (joined.empty() ? "" : " ") + t;
    return joined == line;
  })) << tmux.screen();
  const auto pieces = said_by(bob, "#long", "alice");
  EXPECT_GE(pieces.size(), 3u);
  for (const auto& p : pieces) EXPECT_LE(p.size(), 200u) << p;
  EXPECT_EQ(tmux.screen().find("BODY_TOO_LONG"), std::string::npos) << tmux.screen();

  // bob's long line (under the limit) wraps on alice's 80 columns between words.
  std::vector<std::string> words;
  std::string sentence;
  for (const char* w : {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
                        "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo"}) {
    words.push_back(std::string(w) + std::to_string(words.size() + 10));
    sentence += (sentence.empty() ? "" : " ") + words.back();
  }
  ASSERT_TRUE(bob.say("#long", sentence, 1).has_message());
  ASSERT_TRUE(tmux.wait_text(words.back())) << tmux.screen();
  const std::set<std::string> known(words.begin(), words.end());
  const std::regex shaped("[a-z]+[0-9]+");
  int rows_with_words = 0;
  for (const auto& row : tmux.rows()) {
    if (row.find(words.front()) == std::string::npos && row.rfind("      ", 0) != 0) continue;
    std::istringstream in(row);
    bool any = false;
    for (std::string token; in >> token;) {
      if (!std::regex_match(token, shaped) || token.rfind("word", 0) == 0) continue;
      any = true;
      EXPECT_TRUE(known.count(token)) << "a word cut in two: " << token << "\n" << tmux.screen();
    }
    rows_with_words += any ? 1 : 0;
  }
  EXPECT_GE(rows_with_words, 2) << tmux.screen();
  quit_ui(tmux);
}

// ------------------------------------------------------------ highlights

TEST(TerminalUiTest, AHighlightIsAWholeWordInAnyCaseAndRingsTheBell) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(unlimited_config());
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#hl").has_join());
  ASSERT_TRUE(bob.join("#other").has_join());
  Tmux tmux(100, 24);
  ASSERT_TRUE(tmux.wait_text("$"));
  start_checked_ui(tmux, server.port(), "alice", "--join hl,other");
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();
  ASSERT_TRUE(wait_joined(bob, "alice", 2));
  tmux.keys("M-2");
  ASSERT_TRUE(tmux.wait_text("[2:#other]")) << tmux.screen();
  ASSERT_EQ(tmux.format("#{window_bell_flag}"), "0");

  // Inside a longer word it is no highlight: no "!", no bell. (The bell
  // would have been written before the status line that shows the count.)
  ASSERT_TRUE(bob.say("#hl", "malice and alicebot", 1).has_message());
  ASSERT_TRUE(tmux.wait_text("[Act: 1:#hl(1)]")) << tmux.screen();
  EXPECT_EQ(tmux.format("#{window_bell_flag}"), "0");
  // The nick as a word, in another case: "!" and the bell.
  ASSERT_TRUE(bob.say("#hl", "ALICE: look at this", 2).has_message());
  ASSERT_TRUE(tmux.wait_text("[Act: 1:#hl(2!)]")) << tmux.screen();
  EXPECT_TRUE(wait_until([&] { return tmux.format("#{window_bell_flag}") == "1"; }, 5s)) << "the bell rang";
  quit_ui(tmux);
}

// ------------------------------------------- widths, completion, restarts

TEST(TerminalUiTest, AWideTopicStaysInTheTitleBarAndTabCompletesRooms) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(unlimited_config());
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#wide").has_join());
  // 60 CJK characters: 120 columns, on an 80-column screen.
  std::string topic;
  for (int i = 0; i < 60; ++i) topic += "\u8BDD";
  const auto set = bob.call([&](client::Client& cl, client::ReplyHandler h) { cl.set_topic("#wide", topic, std::move(h)); });
  ASSERT_FALSE(set.has_error()) << set.DebugString();
  Tmux tmux(80, 24);
  ASSERT_TRUE(tmux.wait_text("$"));
  start_checked_ui(tmux, server.port(), "alice", "--join wide,second");
  ASSERT_TRUE(tmux.wait_text("[1:#wide]")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_screen([](const std::string& s) { return s.rfind(" #wide: \u8BDD\u8BDD", 0) == 0; }))
      << tmux.screen();
  // The title is cut at the screen's edge; the row under it is the pane's.
  const auto rows = tmux.rows();
  ASSERT_GE(rows.size(), 3u);
  EXPECT_EQ(rows[1].find("\u8BDD"), std::string::npos) << "the topic spilled out of the title\n" << tmux.screen();

  // Tab completes a room name as it does a nick.
  tmux.type("see #se");
  tmux.keys("Tab");
  ASSERT_TRUE(tmux.wait_text("[#wide] see #second")) << tmux.screen();
  quit_ui(tmux);
}

TEST(TerminalUiTest, AServerRestartIsShownInEveryWindow) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  auto chatd = start_chatd(0);
  const std::uint16_t port = chatd_port(*chatd);
  ASSERT_NE(port, 0);
  Tmux tmux(100, 24);
  ASSERT_TRUE(tmux.wait_text("$"));
  start_checked_ui(tmux, port, "alice", "--join r1,r2 --reconnect-min-ms 20 --reconnect-max-ms 300");
  ASSERT_TRUE(tmux.wait_text("[1:#r1]")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();

  chatd->signal(SIGTERM);
  ASSERT_EQ(chatd->wait_exit(20s), 0);
  chatd = start_chatd(port);
  ASSERT_EQ(chatd_port(*chatd), port);
  ASSERT_TRUE(tmux.wait_text("server restarted; history starts over", 30s)) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();
  tmux.keys("M-2");
  ASSERT_TRUE(tmux.wait_text("[2:#r2]")) << tmux.screen();
  EXPECT_TRUE(tmux.wait_text("server restarted; history starts over")) << "in #r2 too\n" << tmux.screen();
  EXPECT_TRUE(tmux.wait_text("server is shutting down")) << tmux.screen();
  quit_ui(tmux);
}

// ------------------------------------------------------------ line mode

TEST(TerminalLineModeTest, CommaSeparatedJoinsJoinEveryRoomAndASpaceIsAnError) {
  RunningServer server(unlimited_config());
  auto c = start_plain(server.port(), "cora", {"--join", "#a,#b"});
  ASSERT_TRUE(c->wait_line("-- joined #a")) << c->text();
  ASSERT_TRUE(c->wait_line("-- joined #b")) << c->text();
  c->write_line("/join #c,D");
  ASSERT_TRUE(c->wait_line("-- joined #c")) << c->text();
  ASSERT_TRUE(c->wait_line("-- joined #d")) << c->text();
  EXPECT_EQ(c->text().find("INVALID_ROOM"), std::string::npos) << c->text();

  // Not #bad: a clear error, and no room joined (one word after the room
  // would be its key).
  c->write_line("/join #Bad Room Name!");
  ASSERT_TRUE(c->wait_line("! CLIENT a room name has no spaces: \"#Bad Room Name!\"")) << c->text();
  c->write_line("/who");
  ASSERT_TRUE(c->wait_line("-- #d (1): cora")) << "still in the last room joined\n" << c->text();
  EXPECT_EQ(c->text().find("#bad"), std::string::npos) << c->text();
  c->write_line("/quit");
  EXPECT_EQ(c->wait_exit(20s), 0) << c->text();
}

TEST(TerminalLineModeTest, ARefusedLoginExitsNonZero) {
  RunningServer server(unlimited_config());
  IoThread io;
  TestClient holder(io, server.port(), "taken");
  for (bool json_mode : {false, true}) {
    // stdin stays open: it ends by itself, as a bot needs.
    auto c = start_plain(server.port(), "taken", {"--join", "#x"}, json_mode);
    EXPECT_EQ(c->wait_exit(20s), 1) << c->text();
    EXPECT_NE(c->text().find("NICK_TAKEN"), std::string::npos) << c->text();
  }
}

TEST(TerminalLineModeTest, ReplayedHistoryComesBeforeTheJoinedLine) {
  RunningServer server(unlimited_config());
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#h").has_join());
  ASSERT_TRUE(bob.say("#h", "said before you came", 1).has_message());
  auto c = start_plain(server.port(), "hugo", {"--join", "#h"});
  ASSERT_TRUE(c->wait_line("-- joined #h")) << c->text();
  const auto lines = c->lines();
  const auto at = [&](const std::string& needle) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find(needle) != std::string::npos) return static_cast<long>(i);
    }
    return -1L;
  };
  ASSERT_GE(at("#h <bob> said before you came"), 0) << c->text();
  EXPECT_LT(at("#h <bob> said before you came"), at("-- joined #h")) << c->text();
  c->write_line("/quit");
  EXPECT_EQ(c->wait_exit(20s), 0) << c->text();
}

TEST(TerminalLineModeTest, BidiControlsFromAPeerShowAsPlaceholders) {
  RunningServer server(unlimited_config());
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#b").has_join());
  auto plain = start_plain(server.port(), "pia", {"--join", "#b"});
  auto js = start_plain(server.port(), "jay", {"--join", "#b"}, true);
  ASSERT_TRUE(plain->wait_line("-- joined #b")) << plain->text();
  ASSERT_TRUE(js->wait_line("\"type\":\"joined\"")) << js->text();
  const std::string text = "total \u202E1 = 2\u202C and \u2066x\u2069";
  ASSERT_TRUE(bob.say("#b", text, 1).has_message());
  ASSERT_TRUE(plain->wait_line("#b <bob> total <U+202E>1 = 2<U+202C> and <U+2066>x<U+2069>")) << plain->text();
  ASSERT_TRUE(js->wait_line("\"type\":\"message\"")) << js->text();
  for (const char* raw : {"\u202E", "\u202C", "\u2066", "\u2069"}) {
    EXPECT_EQ(plain->text().find(raw), std::string::npos) << plain->text();
    EXPECT_EQ(js->text().find(raw), std::string::npos) << "escaped in JSON\n" << js->text();
  }
  // JSON keeps the text: the escape reads back as the character.
  bool found = false;
  for (const auto& l : js->lines()) {
    const auto j = json::parse(l, nullptr, false);
    if (!j.is_discarded() && j.value("type", "") == "message") found = j.value("text", "") == text;
  }
  EXPECT_TRUE(found) << js->text();
  for (auto* c : {plain.get(), js.get()}) {
    c->write_line("/quit");
    EXPECT_EQ(c->wait_exit(20s), 0) << c->text();
  }
}

TEST(TerminalLineModeTest, QueryMakesPlainTextDirectMessages) {
  RunningServer server(unlimited_config(2));
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#q").has_join());
  auto c = start_plain(server.port(), "quin", {"--join", "#q"});
  ASSERT_TRUE(c->wait_line("-- joined #q")) << c->text();
  c->write_line("/query bob");
  ASSERT_TRUE(c->wait_line("-- now talking to bob")) << c->text();
  c->write_line("just for you");
  ASSERT_TRUE(c->wait_line("-> *bob* just for you")) << c->text();
  ASSERT_TRUE(bob.wait([&] { return !bob.directs().empty(); }));
  EXPECT_EQ(bob.directs()[0].text(), "just for you");
  EXPECT_TRUE(bob.messages("#q").empty());
  c->write_line("/close");
  ASSERT_TRUE(c->wait_line("-- closed the window of bob")) << c->text();
  ASSERT_TRUE(c->wait_line("-- now talking in #q")) << c->text();
  c->write_line("/quit");
  EXPECT_EQ(c->wait_exit(20s), 0) << c->text();
}

}  // namespace
}  // namespace chat::testing
