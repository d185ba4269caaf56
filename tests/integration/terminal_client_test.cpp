// The terminal client `chat`: line mode through connection cuts and a
// server restart, and the full-screen UI driven through tmux.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "integration/json_lines.hpp"
#include "integration/term_helpers.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"
#include "support/wait.hpp"

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
    // A sleep, because it paces the sender: the stream must still be going
    // when the cuts land, for some of them to land mid-catch-up.
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

// A line typed just before the connection is cut arrives once: chat keeps
// what the server has not acknowledged and sends it again, with the same
// client_msg_id, once it is back; the server stores a resend once. Whether
// the cut came before or after the server got the line, it is there once.
TEST(TerminalLineModeTest, ALineTypedJustBeforeACutArrivesExactlyOnce) {
  auto config = test_config(2);
  config.rate_per_sec = 0;
  RunningServer server(config);
  TcpProxy proxy(server.port());
  auto c = start_chat(proxy.port(), "ann", {"#r"});
  ASSERT_TRUE(c->wait_line("\"type\":\"joined\"")) << c->text();
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#r").has_join());
  constexpr int kLines = 5;
  for (int i = 1; i <= kLines; ++i) {
    const auto joins = count_type(c->lines(), "joined");
    c->write_line("typed before cut " + std::to_string(i));
    proxy.cut();
    ASSERT_TRUE(c->wait([&](const auto& lines) { return count_type(lines, "joined") > joins; }, 20s)) << c->text();
  }
  auto count = [&](int i) {
    const std::string text = "typed before cut " + std::to_string(i);
    const auto got = bob.messages("#r");
    return std::count_if(got.begin(), got.end(), [&](const auto& m) { return m.text() == text; });
  };
  for (int i = 1; i <= kLines; ++i) {
    ASSERT_TRUE(bob.wait([&] { return count(i) >= 1; }, 20s)) << "line " << i << " never arrived\n" << c->text();
  }
  ASSERT_TRUE(bob.say("#r", "after", 1).has_message());  // every resend is in by now: it came first
  for (int i = 1; i <= kLines; ++i) EXPECT_EQ(count(i), 1) << "line " << i;
  const auto seqs = [&] {
    std::vector<std::uint64_t> out;
    for (const auto& m : bob.messages("#r")) out.push_back(m.seq());
    return out;
  }();
  for (std::size_t k = 0; k < seqs.size(); ++k) EXPECT_EQ(seqs[k], k + 1) << "no seq twice, none skipped";
  c->close_stdin();
  EXPECT_EQ(c->wait_exit(20s), 0);
}

// chatd stopped and started again on the same data directory: the epoch is
// the same, so chat carries on by seq (no "history starts over"), every
// message once, numbering going on.
TEST(TerminalLineModeTest, ARestartOnTheSameDataKeepsTheEpochAndChatCarriesOnWithoutStartingOver) {
  TempDir data("chatd-data");
  auto start = [&](std::uint16_t port) {
    return std::make_unique<ChildProcess>(std::vector<std::string>{
        CHATD_PATH, "--data-dir", data.str(), "--bind", "127.0.0.1", "--port", std::to_string(port), "--reactors",
        "2", "--rate", "0", "--log-level", "warn", "--shutdown-grace-ms", "500"});
  };
  auto chatd = start(0);
  const std::uint16_t port = chatd_port(*chatd);
  ASSERT_NE(port, 0);
  auto c = start_chat(port, "ann", {"#a", "#b"});
  ASSERT_TRUE(c->wait([](const auto& lines) { return count_type(lines, "joined") >= 2; })) << c->text();
  IoThread io;
  {
    TestClient bob(io, port, "bob");
    ASSERT_TRUE(bob.join("#a").has_join());
    for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(bob.say("#a", "before " + std::to_string(i), i).has_message());
    ASSERT_TRUE(c->wait([](const auto& lines) { return has_seqs_through(lines, "#a", 3); })) << c->text();
  }
  chatd->signal(SIGTERM);
  ASSERT_EQ(chatd->wait_exit(20s), 0);
  chatd = start(port);
  ASSERT_EQ(chatd_port(*chatd), port);
  ASSERT_TRUE(c->wait([](const auto& lines) { return count_type(lines, "joined") >= 4; }, 30s)) << c->text();
  TestClient bob(io, port, "bob2");
  ASSERT_TRUE(bob.join("#a").has_join());
  for (std::uint64_t i = 1; i <= 2; ++i) {
    EXPECT_EQ(bob.say("#a", "after " + std::to_string(i), 100 + i).message().seq(), 3 + i) << "numbering goes on";
  }
  ASSERT_TRUE(c->wait([](const auto& lines) { return has_seqs_through(lines, "#a", 5); })) << c->text();
  EXPECT_EQ(shown_seqs(c->lines(), "#a"), (std::vector<std::uint64_t>{1, 2, 3, 4, 5})) << "each once";
  EXPECT_EQ(count_type(c->lines(), "epoch"), 0) << c->text();
  EXPECT_EQ(c->text().find("history starts over"), std::string::npos) << c->text();
  c->close_stdin();
  EXPECT_EQ(c->wait_exit(20s), 0);
}

// The server reclaims a room while the client is away (it was empty, at the
// room cap) and the name is then used again: the client's rejoin sees a new
// incarnation, says so, and shows the new room's messages from seq 1, none
// of them taken for ones it had already shown.
TEST(TerminalLineModeTest, ARoomReclaimedWhileAwayStartsOverAndSkipsNothing) {
  auto config = test_config(1);  // one shard holding both rooms
  config.rate_per_sec = 0;
  config.max_rooms = 2;
  RunningServer server(config);
  TcpProxy proxy(server.port());
  auto c = start_chat(proxy.port(), "ann", {"#r"});
  ASSERT_TRUE(c->wait_line("\"type\":\"joined\"")) << c->text();
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#r").has_join());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(bob.say("#r", "old " + std::to_string(i), i).has_message());
  ASSERT_TRUE(c->wait([](const auto& lines) { return has_seqs_through(lines, "#r", 5); })) << c->text();
  ASSERT_TRUE(bob.leave("#r").has_leave());

  // ann goes away and stays away; #r is empty, with history.
  proxy.set_refusing(true);
  ASSERT_GT(proxy.cut(), 0);
  ASSERT_TRUE(wait_until([&] { return server->metrics().connections_open == 1; }, 5s))
      << server->metrics().connections_open << " connections open";
  // #x takes the second slot and empties; #y needs one, and #r has been
  // empty longest.
  ASSERT_TRUE(bob.join("#x").has_join());
  ASSERT_TRUE(bob.say("#x", "x", 10).has_message());
  ASSERT_TRUE(bob.leave("#x").has_leave());
  ASSERT_TRUE(bob.join("#y").has_join());
  ASSERT_EQ(server->metrics().rooms_reclaimed, 1u);
  auto reborn = bob.join("#r");  // reclaims #x
  ASSERT_TRUE(reborn.has_join()) << reborn.DebugString();
  ASSERT_EQ(reborn.join().last_seq(), 0u);
  for (int i = 1; i <= 2; ++i) ASSERT_TRUE(bob.say("#r", "new " + std::to_string(i), 20 + i).has_message());

  proxy.set_refusing(false);
  ASSERT_TRUE(c->wait_line("new 2")) << c->text();
  EXPECT_TRUE(c->wait_line("#r was emptied and reclaimed by the server")) << c->text();
  std::vector<std::string> texts;
  for (const auto& j : events(*c)) {
    if (j.value("type", "") == "message" && j.value("room", "") == "#r") texts.push_back(j.value("text", ""));
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"old 1", "old 2", "old 3", "old 4", "old 5", "new 1", "new 2"}));
  EXPECT_EQ(count_type(c->lines(), "gap"), 0);
  c->close_stdin();
  EXPECT_EQ(c->wait_exit(20s), 0);
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
    EXPECT_TRUE(c->wait_line("\"text\":\"server is shutting down\"", 1s)) << "said once\n" << c->text();
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

// `chat --plain` as a person's script would run it.
std::unique_ptr<ChildProcess> start_plain(std::uint16_t port, const std::string& nick,
                                          const std::vector<std::string>& rooms) {
  std::vector<std::string> argv{CHAT_PATH, "--plain", "--host", "127.0.0.1", "--port", std::to_string(port),
                                "--nick", nick};
  for (const auto& r : rooms) {
    argv.push_back("--join");
    argv.push_back(r);
  }
  return std::make_unique<ChildProcess>(argv);
}

// The index of the first line at or after `from` that contains `needle`.
std::optional<std::size_t> find_line(const std::vector<std::string>& lines, const std::string& needle,
                                     std::size_t from = 0) {
  for (std::size_t i = from; i < lines.size(); ++i) {
    if (lines[i].find(needle) != std::string::npos) return i;
  }
  return std::nullopt;
}

// Every line but the time prefix: "[HH:MM:SS] " is checked and cut.
std::vector<std::string> untimed(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) {
    const bool stamped = l.size() > 11 && l[0] == '[' && l[3] == ':' && l[6] == ':' && l[9] == ']' && l[10] == ' ';
    out.push_back(stamped ? l.substr(11) : "UNSTAMPED " + l);
  }
  return out;
}

TEST(TerminalLineModeTest, PartLeavesTheCurrentRoomOrANamedOne) {
  RunningServer server(test_config(1));  // one reactor: bob's rooms deliver in his order
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#a").has_join());
  ASSERT_TRUE(bob.join("#b").has_join());
  auto c = start_plain(server.port(), "pat", {"#a", "#b"});
  ASSERT_TRUE(c->wait_line("-- joined #b")) << c->text();

  // No argument: the current room (the first joined); the next one takes over.
  c->write_line("/part");
  ASSERT_TRUE(c->wait_line("-- left #a")) << c->text();
  ASSERT_TRUE(c->wait_line("-- now talking in #b")) << c->text();
  ASSERT_TRUE(bob.wait([&] {
    for (const auto& p : bob.presences()) {
      if (p.nick() == "pat" && p.room() == "#a" && p.kind() == v1::Presence::KIND_LEFT) return true;
    }
    return false;
  })) << "the server took pat out of #a";
  // Parted means no more of its messages; #b still talks.
  ASSERT_TRUE(bob.say("#a", "after the part", 1).has_message());
  ASSERT_TRUE(bob.say("#b", "still in b", 2).has_message());
  ASSERT_TRUE(c->wait_line("#b <bob> still in b")) << c->text();
  EXPECT_EQ(c->text().find("after the part"), std::string::npos) << c->text();

  // A named room, as the server spells it or not; one not joined is an error.
  c->write_line("/part #nope");
  ASSERT_TRUE(c->wait_line("! CLIENT not in #nope")) << c->text();
  c->write_line("/part B");
  ASSERT_TRUE(c->wait_line("-- left #b")) << c->text();
  ASSERT_TRUE(c->wait_line("-- no current room")) << c->text();
  c->write_line("talking to no one");
  ASSERT_TRUE(c->wait_line("! CLIENT no current room")) << c->text();
  c->write_line("/quit");
  EXPECT_EQ(c->wait_exit(20s), 0) << c->text();
}

// /nick renames in place: no reconnect, the room sees the change, a refused
// nick changes nothing, and others' renames show and update the members.
TEST(TerminalLineModeTest, NickRenamesInPlaceAndARefusedNickChangesNothing) {
  RunningServer server(test_config(2));
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#n").has_join());
  auto c = start_plain(server.port(), "ann", {"#n"});
  ASSERT_TRUE(c->wait_line("-- joined #n")) << c->text();

  c->write_line("/nick anna");
  ASSERT_TRUE(c->wait_line("-- you are now known as anna")) << c->text();
  ASSERT_TRUE(c->wait_line("* ann is now known as anna in #n")) << c->text();
  ASSERT_TRUE(bob.wait([&] {
    for (const auto& p : bob.presences()) {
      if (p.kind() == v1::Presence::KIND_RENAMED && p.old_nick() == "ann" && p.nick() == "anna") return true;
    }
    return false;
  }));
  c->write_line("hello as anna");
  ASSERT_TRUE(bob.wait_messages("#n", 1));
  EXPECT_EQ(bob.messages("#n").back().sender(), "anna");

  c->write_line("/nick bob");
  ASSERT_TRUE(c->wait_line("! NICK_TAKEN")) << c->text();
  c->write_line("still anna");
  ASSERT_TRUE(bob.wait_messages("#n", 2));
  EXPECT_EQ(bob.messages("#n").back().sender(), "anna");

  ASSERT_TRUE(bob.rename("bobby").has_rename());
  ASSERT_TRUE(c->wait_line("* bob is now known as bobby in #n")) << c->text();
  c->write_line("/who");
  ASSERT_TRUE(c->wait_line("-- #n (2): anna bobby")) << c->text();
  c->write_line("/quit");
  EXPECT_EQ(c->wait_exit(20s), 0) << c->text();
  EXPECT_EQ(c->text().find("connecting to"), c->text().rfind("connecting to")) << "it never reconnected:\n" << c->text();
}

TEST(TerminalLineModeTest, MeSaysAnActionAndShowsOthersActions) {
  RunningServer server(test_config(1));
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#m").has_join());
  auto c = start_plain(server.port(), "mo", {"#m"});
  ASSERT_TRUE(c->wait_line("-- joined #m")) << c->text();

  c->write_line("/me waves at bob");
  ASSERT_TRUE(c->wait_line("#m * mo waves at bob")) << c->text();
  ASSERT_TRUE(bob.wait_messages("#m", 1));
  // On the wire an action is text with the "/me " prefix, readable anywhere.
  EXPECT_EQ(bob.messages("#m")[0].text(), "/me waves at bob");
  ASSERT_TRUE(bob.say("#m", "/me nods", 1).has_message());
  ASSERT_TRUE(c->wait_line("#m * bob nods")) << c->text();
  EXPECT_EQ(c->text().find("<bob> /me"), std::string::npos) << c->text();

  c->write_line("/me");
  ASSERT_TRUE(c->wait_line("! CLIENT usage: /me TEXT")) << c->text();
  c->write_line("/quit");
  EXPECT_EQ(c->wait_exit(20s), 0) << c->text();
}

TEST(TerminalLineModeTest, WhoAndListShowMembersAndRooms) {
  RunningServer server(test_config(2));
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#w").has_join());
  ASSERT_TRUE(bob.join("#x").has_join());
  TestClient cy(io, server.port(), "cy");
  ASSERT_TRUE(cy.join("#x").has_join());
  auto c = start_plain(server.port(), "wes", {"#w"});
  ASSERT_TRUE(c->wait_line("-- joined #w (2 members: bob, wes)")) << c->text();

  c->write_line("/who");
  ASSERT_TRUE(c->wait_line("-- #w (2): bob wes")) << c->text();
  c->write_line("/who X");  // any room, joined or not, spelt loosely
  ASSERT_TRUE(c->wait_line("-- #x (2): bob cy")) << c->text();
  c->write_line("/names #w");
  ASSERT_TRUE(c->wait([](const auto& lines) {
    int n = 0;
    for (const auto& l : lines) n += l.find("-- #w (2): bob wes") != std::string::npos ? 1 : 0;
    return n == 2;
  })) << c->text();
  c->write_line("/who #nosuch");
  ASSERT_TRUE(c->wait_line("! NO_SUCH_ROOM")) << c->text();

  c->write_line("/list");
  ASSERT_TRUE(c->wait_line("-- 2 rooms")) << c->text();
  // One line per room, in name order.
  ASSERT_TRUE(c->wait_line("--   #x 2 members")) << c->text();
  const auto lines = untimed(c->lines());
  const auto head = find_line(lines, "-- 2 rooms");
  ASSERT_TRUE(head);
  ASSERT_GE(lines.size(), *head + 3);
  EXPECT_EQ(lines[*head + 1], "--   #w 2 members");
  EXPECT_EQ(lines[*head + 2], "--   #x 2 members");
  c->write_line("/quit");
  EXPECT_EQ(c->wait_exit(20s), 0) << c->text();
}

TEST(TerminalLineModeTest, TopicIsShownAndSet) {
  RunningServer server(test_config(2));
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#t").has_join());
  auto c = start_plain(server.port(), "tia", {"#t"});
  ASSERT_TRUE(c->wait_line("-- joined #t")) << c->text();

  c->write_line("/topic");
  ASSERT_TRUE(c->wait_line("-- #t has no topic")) << c->text();
  c->write_line("/topic release on friday");
  ASSERT_TRUE(c->wait_line("-- tia set the topic of #t: release on friday")) << c->text();
  // The server has it: another member asks.
  const auto got = bob.call([](client::Client& cl, client::ReplyHandler h) { cl.get_topic("#t", std::move(h)); });
  ASSERT_TRUE(got.has_topic()) << got.DebugString();
  EXPECT_EQ(got.topic().topic(), "release on friday");
  EXPECT_EQ(got.topic().set_by(), "tia");
  c->write_line("/topic");
  ASSERT_TRUE(c->wait_line("-- topic of #t: release on friday (set by tia)")) << c->text();

  // Someone else sets it: shown as it happens.
  const auto set = bob.call(
      [](client::Client& cl, client::ReplyHandler h) { cl.set_topic("#t", "moved to monday", std::move(h)); });
  ASSERT_FALSE(set.has_error()) << set.DebugString();
  ASSERT_TRUE(c->wait_line("-- bob set the topic of #t: moved to monday")) << c->text();
  // Joining a room with a topic shows it.
  auto late = start_plain(server.port(), "lee", {"#t"});
  ASSERT_TRUE(late->wait_line("-- topic of #t: moved to monday")) << late->text();
  for (auto* p : {c.get(), late.get()}) {
    p->write_line("/quit");
    EXPECT_EQ(p->wait_exit(20s), 0) << p->text();
  }
}

TEST(TerminalLineModeTest, HistoryFetchesTheLastNMessages) {
  RunningServer server(test_config(2));
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#h").has_join());
  for (int i = 1; i <= 30; ++i) {
    char text[8];
    std::snprintf(text, sizeof text, "h%02d", i);
    ASSERT_TRUE(bob.say("#h", text, static_cast<std::uint64_t>(i)).has_message());
  }
  auto c = start_plain(server.port(), "hal", {"#h"});
  ASSERT_TRUE(c->wait_line("-- joined #h")) << c->text();

  c->write_line("/history 5");
  ASSERT_TRUE(c->wait_line("-- history of #h: 5 messages")) << c->text();
  ASSERT_TRUE(c->wait([](const auto& lines) {
    const auto at = find_line(lines, "-- history of #h: 5 messages");
    return at && lines.size() >= *at + 6;
  })) << c->text();
  auto lines = untimed(c->lines());
  auto at = *find_line(lines, "-- history of #h: 5 messages");
  // The newest five, oldest first, right after the header.
  const auto after = lines.begin() + static_cast<long>(at);
  EXPECT_EQ(std::vector<std::string>(after + 1, after + 6),
            (std::vector<std::string>{"#h <bob> h26", "#h <bob> h27", "#h <bob> h28", "#h <bob> h29", "#h <bob> h30"}));

  // No number: the last 20.
  c->write_line("/history");
  ASSERT_TRUE(c->wait_line("-- history of #h: 20 messages")) << c->text();
  ASSERT_TRUE(c->wait([](const auto& shown) {
    const auto at20 = find_line(shown, "-- history of #h: 20 messages");
    return at20 && shown.size() >= *at20 + 21;
  })) << c->text();
  lines = untimed(c->lines());
  at = *find_line(lines, "-- history of #h: 20 messages");
  EXPECT_EQ(lines[at + 1], "#h <bob> h11");
  EXPECT_EQ(lines[at + 20], "#h <bob> h30");

  // A history replay is not new: live messages carry on from where they were.
  ASSERT_TRUE(bob.say("#h", "h31", 31).has_message());
  ASSERT_TRUE(c->wait_line("#h <bob> h31")) << c->text();
  c->write_line("/history lots");
  ASSERT_TRUE(c->wait_line("! CLIENT usage: /history [N]")) << c->text();
  c->write_line("/history 99999999999");  // more than a page: a page
  ASSERT_TRUE(c->wait_line("-- history of #h: 31 messages")) << c->text();
  c->write_line("/quit");
  EXPECT_EQ(c->wait_exit(20s), 0) << c->text();
}

TEST(TerminalLineModeTest, HelpListsTheCommands) {
  // No server needed: help is local, and the client stays to reconnect.
  ChildProcess c({CHAT_PATH, "--plain", "--host", "127.0.0.1", "--port", "1", "--nick", "hap",
                  "--reconnect-min-ms", "50"});
  c.write_line("/help");
  for (const char* usage : {"/join ROOM", "/part [ROOM]", "/msg NICK TEXT", "/me TEXT", "/who [ROOM]", "/list",
                            "/topic [TEXT]", "/history [N]", "/switch ROOM|N", "/help", "/quit"}) {
    EXPECT_TRUE(c.wait_for_line([&](const std::string& l) {
      return l.size() > 11 && l.compare(11, std::strlen(usage) + 1, std::string(usage) + " ") == 0;
    })) << usage << "\n" << c.text();
  }
  EXPECT_TRUE(c.wait_line("//text sends /text")) << c.text();
  c.write_line("/quit");
  EXPECT_EQ(c.wait_exit(20s), 0) << c.text();
}

TEST(TerminalLineModeTest, JoiningARoomAgainWhileItsJoinIsInFlightKeepsIt) {
  // A script's "/join #a" for a room --join already asked for: all of it is
  // sent the moment the login succeeds, before the first join's reply.
  RunningServer server(test_config(2));
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#a").has_join());
  const auto [status, out] = run_command("printf '/join #a\\nhello again\\n/who\\n' | " + std::string(CHAT_PATH) +
                                         " --plain --port " + std::to_string(server.port()) +
                                         " --nick jo --join '#a'");
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("] #a <jo> hello again\n"), std::string::npos) << "the room is still shown\n" << out;
  EXPECT_NE(out.find("] -- #a (2): bob jo\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("ALREADY_A_MEMBER"), std::string::npos) << "one join, not two\n" << out;
  const auto first = out.find("-- joined #a");
  ASSERT_NE(first, std::string::npos) << out;
  EXPECT_EQ(out.find("-- joined #a", first + 1), std::string::npos) << out;
  ASSERT_TRUE(bob.wait_messages("#a", 1));
  EXPECT_EQ(bob.messages("#a")[0].text(), "hello again");
}

TEST(TerminalLineModeTest, PipedStdinWithoutFlagsIsLineMode) {
  // The README's example, stdout a pipe here (a terminal in the tmux test below).
  RunningServer server(test_config(2));
  IoThread io;
  TestClient alice(io, server.port(), "alice");
  ASSERT_TRUE(alice.join("#general").has_join());
  const auto [status, out] = run_command("printf 'hello from a script\\n/who\\n' | " + std::string(CHAT_PATH) +
                                         " --port " + std::to_string(server.port()) +
                                         " --nick scripty --join '#general'");
  EXPECT_EQ(status, 0) << out;
  ASSERT_TRUE(alice.wait_messages("#general", 1));
  EXPECT_EQ(alice.messages("#general")[0].text(), "hello from a script");
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  EXPECT_EQ(untimed(lines), (std::vector<std::string>{
                                "-- connecting to 127.0.0.1:" + std::to_string(server.port()),
                                "-- connected as scripty",
                                "-- joined #general (2 members: alice, scripty)",
                                "* scripty joined #general",
                                "#general <scripty> hello from a script",
                                "-- #general (2): alice scripty",
                            }))
      << out;
}

// ------------------------------------------------------------ tmux and the UI


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

TEST(TerminalUiTest, JoinCommandOpensAWindowAndServerErrorsAreLinesThatDoNotEndIt) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(test_config(2));
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#first").has_join());
  ASSERT_TRUE(bob.join("#third").has_join());

  Tmux tmux(100, 30);
  ASSERT_TRUE(tmux.wait_text("$"));
  start_ui(tmux, server.port(), "alice", "--join first");
  ASSERT_TRUE(tmux.wait_text("[1:#first]")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();

  // /join typed in the UI: a second window, current at once, and the server
  // has alice in the room.
  tmux.type("/join #third");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("[2:#third]")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("-- joined #third (2 members: alice, bob)")) << tmux.screen();
  EXPECT_EQ(tmux.screen().rfind(" #third", 0), 0u) << "the title names the room\n" << tmux.screen();
  tmux.type("now in third");
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait_messages("#third", 1)) << tmux.screen();
  EXPECT_EQ(bob.messages("#third")[0].text(), "now in third");

  // Errors from the server, and the client's own, show as "!" lines in the
  // window where they were typed; the client stays, online.
  tmux.keys("M-1");
  ASSERT_TRUE(tmux.wait_text("[1:#first]")) << tmux.screen();
  tmux.type("/join b@d");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("! INVALID_ROOM")) << tmux.screen();
  EXPECT_TRUE(tmux.wait_text("[1:#first]")) << "back where the /join was typed\n" << tmux.screen();
  tmux.type("/msg nobody are you there");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("! NO_SUCH_NICK")) << tmux.screen();
  tmux.type("/frobnicate");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("! CLIENT unknown command /frobnicate (try /help)")) << tmux.screen();
  EXPECT_EQ(tmux.screen().find("EXITED="), std::string::npos) << "still running, full screen\n" << tmux.screen();
  EXPECT_NE(tmux.status_line().find("[online"), std::string::npos) << tmux.status_line();
  // The refused room left no window behind: /switch 2 is still #third.
  tmux.type("/switch 2");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("[2:#third]")) << tmux.screen();
  tmux.type("still here");
  tmux.keys("Enter");
  ASSERT_TRUE(bob.wait_messages("#third", 2)) << tmux.screen();
  EXPECT_EQ(bob.messages("#third")[1].text(), "still here");

  tmux.type("/quit");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("EXITED=0")) << tmux.screen();
}

TEST(TerminalUiTest, PageUpShowsOlderLinesAndPageDownComesBack) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(test_config(1));  // one reactor: bob's lines arrive in the order he said them
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#long").has_join());
  ASSERT_TRUE(bob.join("#other").has_join());

  Tmux tmux(80, 24);  // 21 rows for messages
  ASSERT_TRUE(tmux.wait_text("$"));
  start_ui(tmux, server.port(), "sam", "--join long --join other");
  ASSERT_TRUE(tmux.wait_text("[1:#long]")) << tmux.screen();
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();
  ASSERT_TRUE(bob.wait([&] {
    int joined = 0;
    for (const auto& p : bob.presences()) joined += p.nick() == "sam" ? 1 : 0;
    return joined == 2;
  }));
  // Three panes' worth of lines.
  auto fill = [](int i) {
    char text[24];
    std::snprintf(text, sizeof text, "<bob> fill-%02d", i);
    return std::string(text);
  };
  for (int i = 1; i <= 60; ++i) {
    ASSERT_TRUE(bob.say("#long", fill(i).substr(6), static_cast<std::uint64_t>(i)).has_message());
  }
  ASSERT_TRUE(tmux.wait_text(fill(60))) << tmux.screen();
  auto shows = [](const std::string& screen, const std::string& line) {
    return screen.find(line) != std::string::npos;
  };
  std::string screen = tmux.screen();
  EXPECT_FALSE(shows(screen, fill(30))) << screen;

  // PgUp: a page further back; the newest lines are off the screen.
  tmux.keys("PPage");
  ASSERT_TRUE(tmux.wait_text("[scrolled: PgDn]")) << tmux.screen();
  screen = tmux.screen();
  EXPECT_TRUE(shows(screen, fill(30))) << screen;
  EXPECT_FALSE(shows(screen, fill(60))) << screen;
  tmux.keys("PPage");
  ASSERT_TRUE(tmux.wait_text(fill(10))) << tmux.screen();
  EXPECT_FALSE(shows(tmux.screen(), fill(30))) << tmux.screen();

  // Scrolled back, a new line does not move what is being read. (The
  // #other line comes after it on the same connection: once #other shows
  // as unread, the #long line has arrived too.)
  ASSERT_TRUE(bob.say("#long", "fill-61", 61).has_message());
  ASSERT_TRUE(bob.say("#other", "elsewhere", 62).has_message());
  ASSERT_TRUE(tmux.wait_text("[Act: 2:#other(1)]")) << tmux.screen();
  screen = tmux.screen();
  EXPECT_TRUE(shows(screen, fill(10))) << screen;
  EXPECT_FALSE(shows(screen, fill(61))) << screen;

  // PgDn: a page nearer; then on to the bottom, the newest line in view.
  tmux.keys("NPage");
  ASSERT_TRUE(tmux.wait_text(fill(30))) << tmux.screen();
  for (int i = 0; i < 3; ++i) tmux.keys("NPage");  // one more than needed: the bottom stays the bottom
  ASSERT_TRUE(tmux.wait_text(fill(61))) << tmux.screen();
  ASSERT_TRUE(tmux.wait_screen(
      [&](const std::string&) { return tmux.status_line().find("scrolled") == std::string::npos; }))
      << tmux.status_line();
  screen = tmux.screen();
  EXPECT_TRUE(shows(screen, fill(60))) << screen;
  EXPECT_FALSE(shows(screen, fill(30))) << screen;

  tmux.type("/quit");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("EXITED=0")) << tmux.screen();
}

TEST(TerminalUiTest, StatusLineShowsTheRoundTripTime) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(test_config(1));
  Tmux tmux(100, 24);
  ASSERT_TRUE(tmux.wait_text("$"));
  start_ui(tmux, server.port(), "rita", "--join r");  // the default ping interval
  // "[online 0.2ms]": the state, then the last ping's round trip.
  const std::regex rtt(R"(\[online [0-9]+\.[0-9]ms\])");
  ASSERT_TRUE(tmux.wait_screen([&](const std::string&) { return std::regex_search(tmux.status_line(), rtt); }))
      << tmux.screen();
  EXPECT_NE(tmux.status_line().find("[rita]"), std::string::npos) << tmux.status_line();
  tmux.keys("C-c");
  ASSERT_TRUE(tmux.wait_text("EXITED=0")) << tmux.screen();
}

TEST(TerminalLineModeTest, PipedStdinOnATerminalIsLineMode) {
  // The README's example exactly: stdin a pipe, stdout the terminal.
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  RunningServer server(test_config(2));
  IoThread io;
  TestClient alice(io, server.port(), "alice");
  ASSERT_TRUE(alice.join("#general").has_join());
  Tmux tmux(120, 24);
  ASSERT_TRUE(tmux.wait_text("$"));
  tmux.type("printf 'hello from a script\\n/who\\n' | " + std::string(CHAT_PATH) + " --port " +
            std::to_string(server.port()) + " --nick scripty --join '#general'; echo EXITED=$?");
  tmux.keys("Enter");
  const std::regex exited(R"(EXITED=\d)");  // not the typed "EXITED=$?"
  ASSERT_TRUE(tmux.wait_screen([&](const std::string& screen) { return std::regex_search(screen, exited); }))
      << tmux.screen();
  const std::string screen = tmux.screen();
  EXPECT_NE(screen.find("EXITED=0"), std::string::npos) << screen;
  EXPECT_EQ(tmux.run("display -p -t t '#{alternate_on}'").second, "0\n") << "never went full screen";
  const std::regex stamped(R"(\[\d\d:\d\d:\d\d\] #general <scripty> hello from a script)");
  EXPECT_TRUE(std::regex_search(screen, stamped)) << screen;
  EXPECT_NE(screen.find("] -- #general (2): alice scripty"), std::string::npos) << screen;
  ASSERT_TRUE(alice.wait_messages("#general", 1));
  EXPECT_EQ(alice.messages("#general")[0].text(), "hello from a script");
}

}  // namespace
}  // namespace chat::testing

namespace chat::testing {
namespace {

// Accounts from the terminal client (issue 13): /register makes the nick an
// account; a guest is then refused it, and --password-file logs in to it.
TEST(TerminalLineModeTest, RegisterMakesTheNickAnAccountAndAPasswordFileLogsInToIt) {
  server::Config config = test_config(2);
  config.password_cost = "min";
  RunningServer server(config);
  {
    auto zoe = start_plain(server.port(), "zoe", {});
    zoe->write_line("/register short");
    ASSERT_TRUE(zoe->wait_line("! INVALID_PASSWORD")) << zoe->text();
    zoe->write_line("/register zoe's long password");
    ASSERT_TRUE(zoe->wait_line("-- registered zoe")) << zoe->text();
    zoe->write_line("/quit");
    ASSERT_EQ(zoe->wait_exit(20s), 0) << zoe->text();
  }
  {
    auto guest = start_plain(server.port(), "Zoe", {});
    ASSERT_TRUE(guest->wait_line("! NICK_REGISTERED")) << guest->text();
    EXPECT_EQ(guest->wait_exit(20s), 1) << "a script's refused login ends it:\n" << guest->text();
  }
  IoThread io;
  TestClient bob(io, server.port(), "bob");
  ASSERT_TRUE(bob.join("#z").has_join());
  TempDir dir("chat-password");
  const std::string file = (dir.path() / "password").string();
  { std::ofstream(file) << "zoe's long password\n"; }
  ChildProcess zoe({CHAT_PATH, "--plain", "--host", "127.0.0.1", "--port", std::to_string(server.port()), "--nick",
                    "zoe", "--password-file", file, "--join", "#z"});
  ASSERT_TRUE(zoe.wait_line("-- joined #z")) << zoe.text();
  zoe.write_line("back, and still zoe");
  ASSERT_TRUE(bob.wait_messages("#z", 1));
  EXPECT_EQ(bob.messages("#z").back().sender(), "zoe");
  zoe.write_line("/quit");
  EXPECT_EQ(zoe.wait_exit(20s), 0) << zoe.text();
}

}  // namespace
}  // namespace chat::testing
