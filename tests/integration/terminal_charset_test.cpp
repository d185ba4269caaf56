// The terminal client and careless input: what the user types is in their
// locale's charset, the wire takes only UTF-8, and the server closes a
// connection over a frame that is not (MALFORMED_FRAME). `chat` converts
// the line, or refuses it locally and keeps its connection and rooms.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "integration/term_helpers.hpp"
#include "support/chatd_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

std::unique_ptr<ChildProcess> start_plain_in(std::uint16_t port, const std::string& nick, const std::string& room,
                                             std::vector<std::string> env) {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{CHAT_PATH, "--plain", "--host", "127.0.0.1", "--port", std::to_string(port), "--nick",
                               nick, "--join", room},
      ChildOptions{.env = std::move(env)});
}

int count_lines(const ChildProcess& c, const std::string& needle) {
  int n = 0;
  for (const auto& l : c.lines()) n += l.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

std::string topic_of(TestClient& client, const std::string& room) {
  const auto reply = client.call([room](client::Client& c, client::ReplyHandler h) { c.get_topic(room, std::move(h)); });
  return reply.topic().topic();
}

TEST(TerminalCharsetTest, AnInvalidUtf8LineIsRefusedLocallyWhateverTheCommandAndTheConnectionStays) {
  ChatdProcess chatd({{"--reactors", "2"}});
  IoThread io;
  TestClient bob(io, chatd.port(), "bob");  // the bystander, in the room
  ASSERT_TRUE(bob.join("#u").has_join());
  auto pia = start_plain_in(chatd.port(), "pia", "#u", {"LC_ALL=C.UTF-8"});
  ASSERT_TRUE(pia->wait_line("-- joined #u")) << pia->text();

  // é typed in Latin-1 (0xE9) into a UTF-8 locale, through every command
  // whose text reaches the wire.
  const std::vector<std::string> careless = {"caf\xE9 au lait", "/me caf\xE9", "/topic caf\xE9",
                                             "/msg bob caf\xE9", "/join #caf\xE9", "/nick caf\xE9"};
  for (const auto& line : careless) pia->write_line(line);
  const std::string refused = "! CLIENT line not sent: byte 0xE9 at offset ";
  ASSERT_TRUE(pia->wait([&](const ChildProcess::Lines& lines) {
    int n = 0;
    for (const auto& l : lines) n += l.find(refused) != std::string::npos ? 1 : 0;
    return n == static_cast<int>(careless.size());
  })) << pia->text();
  EXPECT_TRUE(pia->wait_line(refused + "3 is not valid UTF-8", 1s)) << pia->text();   // the say
  EXPECT_TRUE(pia->wait_line(refused + "10 is not valid UTF-8", 1s)) << pia->text();  // /topic

  // The next valid line is delivered, on the same connection, in the same room.
  pia->write_line("still here \xE2\x9C\x93");
  ASSERT_TRUE(bob.wait_messages("#u", 1)) << pia->text();
  ASSERT_TRUE(pia->wait_line("#u <pia> still here \xE2\x9C\x93")) << pia->text();
  const auto heard = bob.messages("#u");
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].sender(), "pia");
  EXPECT_EQ(heard[0].text(), "still here \xE2\x9C\x93");
  EXPECT_TRUE(bob.directs().empty());
  EXPECT_EQ(topic_of(bob, "#u"), "");
  EXPECT_FALSE(bob.disconnected());

  EXPECT_EQ(count_lines(*pia, "-- connected as pia"), 1) << pia->text();
  EXPECT_EQ(count_lines(*pia, "reconnecting"), 0) << pia->text();
  EXPECT_EQ(count_lines(*pia, "MALFORMED"), 0) << pia->text();
  // The server saw nothing of it: no malformed frame, no second connection.
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_MALFORMED_FRAME\"}"), 0);
  EXPECT_EQ(chatd.metric("chatd_connections_accepted_total"), 2);
  EXPECT_EQ(chatd.metric("chatd_connections_open"), 2);
  pia->write_line("/quit");
  EXPECT_EQ(pia->wait_exit(20s), 0) << pia->text();
}

TEST(TerminalCharsetTest, AnInvalidNickArgumentIsRefusedBeforeConnecting) {
  ChatdProcess chatd({{"--reactors", "1"}});
  ChildProcess c({CHAT_PATH, "--plain", "--host", "127.0.0.1", "--port", std::to_string(chatd.port()), "--nick",
                  "caf\xE9"},
                 {.env = {"LC_ALL=C.UTF-8"}});
  c.close_stdin();
  EXPECT_EQ(c.wait_exit(20s), 2);
  EXPECT_EQ(chatd.metric("chatd_connections_accepted_total"), 0);
}

// A Latin-1 locale of our own, fr_FR.ISO-8859-1 under `dir` (for LOCPATH),
// so the tests need none installed; localedef and the locale sources come
// with Debian's libc-bin and locales. Empty when made, else why not.
std::string make_latin1_locale(const TempDir& dir) {
  const auto [status, out] =
      run_command("localedef -i fr_FR -f ISO-8859-1 " + dir.str() + "/fr_FR.ISO-8859-1 2>&1", 60s);
  return status == 0 ? "" : "localedef cannot make fr_FR.ISO-8859-1: " + out;
}

TEST(TerminalCharsetTest, Latin1TypedInALatin1LocaleArrivesAsUtf8) {
  TempDir locales("chat-locale");
  if (const auto why = make_latin1_locale(locales); !why.empty()) GTEST_SKIP() << why;

  ChatdProcess chatd({{"--reactors", "2"}});
  IoThread io;
  TestClient bob(io, chatd.port(), "bob");
  ASSERT_TRUE(bob.join("#l").has_join());
  auto lou = start_plain_in(chatd.port(), "lou", "#l", {"LOCPATH=" + locales.str(), "LC_ALL=fr_FR.ISO-8859-1"});
  ASSERT_TRUE(lou->wait_line("-- joined #l")) << lou->text();
  lou->write_line("caf\xE9 cr\xE8me");
  lou->write_line("/topic th\xE9");
  lou->write_line("/msg bob \xE0 bient\xF4t");
  ASSERT_TRUE(bob.wait_messages("#l", 1)) << lou->text();
  EXPECT_EQ(bob.messages("#l")[0].text(), "caf\xC3\xA9 cr\xC3\xA8me");
  ASSERT_TRUE(bob.wait([&] { return !bob.directs().empty(); })) << lou->text();
  EXPECT_EQ(bob.directs()[0].text(), "\xC3\xA0 bient\xC3\xB4t");
  ASSERT_TRUE(lou->wait_line("set the topic of #l")) << lou->text();
  EXPECT_EQ(topic_of(bob, "#l"), "th\xC3\xA9");
  // And lou sees it as typed: plain lines are shown in the locale's charset
  // too, what Latin-1 lacks (the euro sign) approximated or '?'.
  EXPECT_TRUE(lou->wait_line("#l <lou> caf\xE9 cr\xE8me", 1s)) << lou->text();
  ASSERT_TRUE(bob.say("#l", "th\xC3\xA9 \xE2\x82\xAC 5", 1).has_message());
  ASSERT_TRUE(lou->wait_line("#l <bob> th\xE9 ")) << lou->text();
  EXPECT_EQ(lou->text().find("\xC3"), std::string::npos) << "UTF-8 on a Latin-1 terminal\n" << lou->text();
  EXPECT_EQ(lou->text().find("\xE2\x82\xAC"), std::string::npos) << lou->text();
  EXPECT_EQ(count_lines(*lou, "! CLIENT"), 0) << lou->text();
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_MALFORMED_FRAME\"}"), 0);
  EXPECT_EQ(chatd.metric("chatd_connections_accepted_total"), 2);
  lou->write_line("/quit");
  EXPECT_EQ(lou->wait_exit(20s), 0) << lou->text();
}

// The full screen in `locale_env` ("LC_ALL=..."), in #l as lou, typing
// `hex` (bytes as tmux send-keys -H takes them) and Enter.
void type_bytes_in_ui(const Tmux& tmux, std::uint16_t port, const std::string& locale_env, const std::string& hex) {
  tmux.type(locale_env + " " + CHAT_PATH + " --host 127.0.0.1 --port " + std::to_string(port) +
            " --nick lou --join l; echo EXITED=$?");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("[online")) << tmux.screen();
  tmux.keys("-H " + hex);
  tmux.keys("Enter");
}

TEST(TerminalCharsetTest, TheFullScreenInALatin1LocaleSendsWhatIsTypedAsUtf8) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  TempDir locales("chat-locale");
  if (const auto why = make_latin1_locale(locales); !why.empty()) GTEST_SKIP() << why;
  ChatdProcess chatd({{"--reactors", "2"}});
  IoThread io;
  TestClient bob(io, chatd.port(), "bob");
  ASSERT_TRUE(bob.join("#l").has_join());
  Tmux tmux(100, 30);
  ASSERT_TRUE(tmux.wait_text("$"));
  // "café crème" as a Latin-1 terminal sends it.
  type_bytes_in_ui(tmux, chatd.port(), "LOCPATH=" + locales.str() + " LC_ALL=fr_FR.ISO-8859-1",
                   "63 61 66 e9 20 63 72 e8 6d 65");
  ASSERT_TRUE(bob.wait_messages("#l", 1)) << tmux.screen();
  EXPECT_EQ(bob.messages("#l")[0].text(), "caf\xC3\xA9 cr\xC3\xA8me");
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_MALFORMED_FRAME\"}"), 0);
  tmux.type("/quit");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("EXITED=0")) << tmux.screen();
}

TEST(TerminalCharsetTest, TheFullScreenInAUtf8LocaleSendsNoInvalidByteAndStays) {
  if (!tmux_available()) GTEST_SKIP() << "tmux is not installed";
  ChatdProcess chatd({{"--reactors", "2"}});
  IoThread io;
  TestClient bob(io, chatd.port(), "bob");
  ASSERT_TRUE(bob.join("#l").has_join());
  Tmux tmux(100, 30);
  ASSERT_TRUE(tmux.wait_text("$"));
  // A Latin-1 é (0xE9) into a UTF-8 terminal, then a valid line.
  type_bytes_in_ui(tmux, chatd.port(), "LC_ALL=C.UTF-8", "63 61 66 e9");
  tmux.type("next line");
  tmux.keys("Enter");
  // What ncurses makes of the stray byte is its own affair: ncurses 6.4
  // drops it, and as 0xE9 starts a three-byte sequence, sometimes the Enter
  // after it too ("cafnext line" arrives, else "caf" and "next line"). What
  // arrives is UTF-8, on one connection.
  const std::string next = "next line";
  ASSERT_TRUE(bob.wait([&] {
    const auto m = bob.messages("#l");
    return !m.empty() && m.back().text().size() >= next.size() &&
           m.back().text().compare(m.back().text().size() - next.size(), next.size(), next) == 0;
  })) << tmux.screen();
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_MALFORMED_FRAME\"}"), 0);
  EXPECT_EQ(chatd.metric("chatd_connections_accepted_total"), 2);
  for (const auto& m : bob.messages("#l")) std::printf("full screen, 0xE9 typed in C.UTF-8: sent \"%s\"\n", m.text().c_str());
  tmux.type("/quit");
  tmux.keys("Enter");
  ASSERT_TRUE(tmux.wait_text("EXITED=0")) << tmux.screen();
}

}  // namespace
}  // namespace chat::testing
