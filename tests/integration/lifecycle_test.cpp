// Starting and stopping: the in-process server and the real chatd binary.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <utility>
#include <vector>

#include "common/version.hpp"
#include "support/chatd_process.hpp"
#include "support/child_process.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

TEST(LifecycleTest, StopTellsEveryClientThenCloses) {
  IoThread io;
  auto server = std::make_unique<server::Server>(test_config(3));
  server->start();
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<TestClient>(io, server->port(), "c" + std::to_string(i)));
    ASSERT_TRUE(clients.back()->join("#r").has_join());
  }
  ASSERT_TRUE(clients[0]->say("#r", "last words", 1).has_message());
  server->stop();
  for (auto& c : clients) {
    EXPECT_TRUE(c->wait([&] { return c->got_shutdown() && c->disconnected(); }));
    EXPECT_TRUE(c->wait_messages("#r", 1)) << "a message sequenced before stop was delivered";
  }
}

TEST(LifecycleTest, EpochIsNewOnEveryStart) {
  IoThread io;
  std::uint64_t first;
  {
    RunningServer server(test_config(1));
    first = TestClient(io, server.port()).welcome().epoch();
  }
  RunningServer server(test_config(1));
  const auto second = TestClient(io, server.port()).welcome().epoch();
  EXPECT_NE(first, 0u);
  EXPECT_NE(first, second);
}

TEST(ChatdProcessTest, StartsAnswersAndExitsZeroOnSigtermWithClientsConnected) {
  ChatdProcess chatd({{"--reactors", "4"}});
  const std::uint16_t port = chatd.port();
  ASSERT_NE(port, 0) << "chatd did not report its port";
  IoThread io;
  TestClient a(io, port, "ann");
  TestClient b(io, port, "bob");
  ASSERT_TRUE(a.join("#x").has_join());
  ASSERT_TRUE(b.join("#x").has_join());
  ASSERT_TRUE(a.say("#x", "hello", 1).has_message());
  ASSERT_TRUE(b.wait_messages("#x", 1));
  const auto status = chatd.stop(SIGTERM, 10s);
  ASSERT_TRUE(status) << "chatd did not exit after SIGTERM";
  EXPECT_EQ(*status, 0);
  EXPECT_TRUE(a.wait([&] { return a.got_shutdown() && a.disconnected(); }));
  EXPECT_TRUE(b.wait([&] { return b.got_shutdown() && b.disconnected(); }));
}

TEST(ChatdProcessTest, ExitsZeroOnSigint) {
  ChatdProcess chatd({{"--reactors", "2"}});
  ASSERT_NE(chatd.port(), 0);
  const auto status = chatd.stop(SIGINT, 10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
}

// A connect to 127.0.0.1:port: true if the server took it (and said Welcome).
bool welcomed_at(std::uint16_t port) {
  try {
    RawConnection probe(port);
    const auto first = probe.read_frame(2s);
    return first && first->has_welcome();
  } catch (const std::runtime_error&) {
    return false;  // refused
  }
}

// SIGINT with clients connected: chatd stops accepting at once, delivers
// what it has sequenced to the clients that read, tells them it is going,
// and exits 0. A client that does not read holds the shutdown open for the
// grace period, which is the window in which to try to connect.
TEST(ChatdProcessTest, OnSigintStopsAcceptingTellsReadersFlushesAndExitsZero) {
  ChatdProcess chatd({{"--reactors", "2", "--rate", "0", "--outbox-cap-bytes", std::to_string(256 << 20),
                       "--shutdown-grace-ms", "4000"}});
  const std::uint16_t port = chatd.port();
  ASSERT_NE(port, 0);
  IoThread io;
  TestClient ann(io, port, "ann");
  TestClient bob(io, port, "bob");
  ASSERT_TRUE(ann.join("#x").has_join());
  ASSERT_TRUE(bob.join("#x").has_join());
  RawConnection staller(port, 4096);
  ASSERT_TRUE(staller.read_frame());  // welcome
  ASSERT_TRUE(login_and_join(staller, "staller", "#x").has_join());

  // 24 MB for the staller, which reads no more: more than the kernel's
  // buffers on both ends hold, so the rest waits in chatd's outbox.
  constexpr int kMessages = 6000;
  const std::string text(4000, 'z');
  for (int i = 1; i <= kMessages; ++i) ann.say_async("#x", text, static_cast<std::uint64_t>(i));
  ASSERT_TRUE(bob.wait_messages("#x", kMessages, 60s));
  ASSERT_TRUE(welcomed_at(port)) << "accepting before the signal";

  ASSERT_FALSE(chatd.stop(SIGINT, 300ms)) << "the staller's outbox should hold the shutdown open";
  EXPECT_FALSE(welcomed_at(port)) << "a connection was accepted after SIGINT";
  EXPECT_TRUE(ann.wait([&] { return ann.got_shutdown() && ann.disconnected(); }));
  EXPECT_TRUE(bob.wait([&] { return bob.got_shutdown() && bob.disconnected(); }));
  EXPECT_EQ(bob.messages("#x").size(), static_cast<std::size_t>(kMessages));
  const auto status = chatd.stop(0, 20s);
  ASSERT_TRUE(status) << "chatd did not exit after its grace period";
  EXPECT_EQ(*status, 0);
}

TEST(ChatdProcessTest, ServesMetrics) {
  ChatdProcess chatd({{"--reactors", "2"}});
  ASSERT_NE(chatd.metrics_port(), 0);
  IoThread io;
  TestClient a(io, chatd.port(), "ann");
  ASSERT_TRUE(a.join("#m").has_join());
  EXPECT_EQ(a.join("#m").error().code(), v1::Error::CODE_ALREADY_A_MEMBER);
  // Errors a room's or a nick's owner raises count too, wherever it runs.
  EXPECT_EQ(a.direct("nobody", "hi").error().code(), v1::Error::CODE_NO_SUCH_NICK);
  const auto who = a.call([](client::Client& c, client::ReplyHandler h) { c.who("#nowhere", std::move(h)); });
  EXPECT_EQ(who.error().code(), v1::Error::CODE_NO_SUCH_ROOM);
  const auto m = chatd.metrics();
  EXPECT_EQ(m.at("chatd_connections_open"), 1);
  EXPECT_EQ(m.at("chatd_connections_accepted_total"), 1);
  EXPECT_EQ(m.at("chatd_frames_in_total"), 5);
  EXPECT_EQ(m.at("chatd_errors_total{code=\"CODE_ALREADY_A_MEMBER\"}"), 1);
  EXPECT_EQ(m.at("chatd_errors_total{code=\"CODE_NO_SUCH_NICK\"}"), 1);
  EXPECT_EQ(m.at("chatd_errors_total{code=\"CODE_NO_SUCH_ROOM\"}"), 1);
}

TEST(ChatdProcessTest, HelpListsEveryFlag) {
  ChildProcess chatd({CHATD_PATH, "--help"});
  chatd.close_stdin();
  EXPECT_EQ(chatd.wait_exit(60s), 0);
  const std::string help = chatd.text();
  for (const char* flag : {"--bind", "--port", "--reactors", "--log-level", "--metrics", "--history", "--replay",
                           "--max-history-page", "--max-frame-bytes", "--max-body-bytes", "--max-nick-bytes",
                           "--max-room-bytes", "--max-topic-bytes", "--rate", "--burst", "--outbox-cap-bytes",
                           "--idle-timeout-ms", "--shutdown-grace-ms", "--max-rooms", "--max-joined", "--rate-bytes",
                           "--rate-bytes-burst", "--rename-rate", "--topic-rate", "--moderation-rate"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

// Runs chatd with `args`, its stderr merged into the stdout we read.
ChildProcess chatd_with(const std::string& args) {
  return ChildProcess({"/bin/sh", "-c", std::string(CHATD_PATH) + " " + args + " 2>&1"});
}

TEST(ChatdProcessTest, EveryBadFlagNamesTheFlagAndExitsTwo) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--port not-a-port", "--port"},
      {"--port 70000", "--port"},
      {"--reactors 5000", "--reactors"},
      {"--log-level loud", "--log-level"},
      {"--no-such-flag", "--no-such-flag"},
      {"--port", "--port"},  // a value missing
      {"--bind no.such.host.invalid", "--bind"},
      {"--metrics 9100", "--metrics"},
      {"--metrics 127.0.0.1:99999", "--metrics"},
      {"--metrics ::1:9100", "--metrics"},
      {"--metrics no.such.host.invalid:9100", "--metrics"},
      {"--max-body-bytes 65000", "--max-body-bytes"},
      {"--rate 0.5", "--rate"},
      {"--max-rooms 0", "--max-rooms"},
  };
  for (const auto& [args, flag] : cases) {
    ChildProcess chatd = chatd_with(args);
    chatd.close_stdin();
    EXPECT_EQ(chatd.wait_exit(60s), 2) << args << ": " << chatd.text();
    EXPECT_NE(chatd.text().find(flag), std::string::npos) << args << ": " << chatd.text();
  }
  // The environment's CHATD_* names the flag it stands for.
  ChildProcess env({"/bin/sh", "-c", "CHATD_REACTORS=lots " + std::string(CHATD_PATH) + " 2>&1"});
  env.close_stdin();
  EXPECT_EQ(env.wait_exit(60s), 2) << env.text();
  EXPECT_NE(env.text().find("--reactors"), std::string::npos) << env.text();
}

TEST(ChatdProcessTest, VersionPrintsTheProjectVersionOnBothBinaries) {
  for (const auto& [path, name] : {std::pair{CHATD_PATH, "chatd"}, std::pair{CHAT_PATH, "chat"}}) {
    ChildProcess p({path, "--version"});
    p.close_stdin();
    EXPECT_EQ(p.wait_exit(60s), 0) << name;
    EXPECT_EQ(p.text(), std::string(name) + " " + std::string(common::kVersion) + "\n");
  }
}

TEST(ChatdProcessTest, ABusyPortNamesTheAddressAndTheListener) {
  ChatdProcess first({});
  const std::string port = std::to_string(first.port());
  const std::string metrics_port = std::to_string(first.metrics_port());
  ChildProcess chat_busy = chatd_with("--bind 127.0.0.1 --port " + port);
  chat_busy.close_stdin();
  EXPECT_EQ(chat_busy.wait_exit(60s), 1);
  EXPECT_NE(chat_busy.text().find("cannot listen on 127.0.0.1:" + port + " for the chat listener (--bind, --port)"),
            std::string::npos)
      << chat_busy.text();
  ChildProcess metrics_busy = chatd_with("--bind 127.0.0.1 --port 0 --metrics 127.0.0.1:" + metrics_port);
  metrics_busy.close_stdin();
  EXPECT_EQ(metrics_busy.wait_exit(60s), 1);
  EXPECT_NE(metrics_busy.text().find("cannot listen on 127.0.0.1:" + metrics_port +
                                     " for the metrics listener (--metrics)"),
            std::string::npos)
      << metrics_busy.text();
}

TEST(ChatdProcessTest, BindsAHostNameAndABracketedIPv6MetricsAddress) {
  // Its own data directory: ctest -j runs the next test beside it, and two
  // chatds never share one (the second refuses to start).
  const testing::TempDir data;
  ChildProcess chatd({CHATD_PATH, "--bind", "localhost", "--port", "0", "--metrics", "[::1]:0", "--data-dir", data.str()});
  const auto chat_line = chatd.wait_for_line([](const std::string& l) { return l.find("listening on") != l.npos; });
  const auto metrics_line = chatd.wait_for_line([](const std::string& l) { return l.find("metrics on") != l.npos; });
  ASSERT_TRUE(chat_line && metrics_line) << chatd.text();
  // localhost: its IPv4 address first.
  EXPECT_NE(chat_line->find("listening on 127.0.0.1:"), std::string::npos) << *chat_line;
  const std::string marker = "metrics on http://[::1]:";
  const auto at = metrics_line->find(marker);
  ASSERT_NE(at, std::string::npos) << *metrics_line;
  const auto port = static_cast<std::uint16_t>(std::stoi(metrics_line->substr(at + marker.size())));
  EXPECT_EQ(http_request("::1", port, "GET", "/healthz").status, 200);
  chatd.signal(SIGTERM);
  EXPECT_EQ(chatd.wait_exit(20s), 0);
}

TEST(ChatdProcessTest, MetricsColonPortMeansEveryAddress) {
  const testing::TempDir data;
  ChildProcess chatd({CHATD_PATH, "--bind", "127.0.0.1", "--port", "0", "--metrics", ":0", "--data-dir", data.str()});
  const auto line = chatd.wait_for_line([](const std::string& l) { return l.find("metrics on") != l.npos; });
  ASSERT_TRUE(line) << chatd.text();
  const std::string marker = "metrics on http://0.0.0.0:";
  const auto at = line->find(marker);
  ASSERT_NE(at, std::string::npos) << *line;
  const auto port = static_cast<std::uint16_t>(std::stoi(line->substr(at + marker.size())));
  EXPECT_EQ(http_request("127.0.0.1", port, "GET", "/healthz").status, 200);
  chatd.signal(SIGTERM);
  EXPECT_EQ(chatd.wait_exit(20s), 0);
}

// The peer address in a "connect A:P (session R.S)" line.
std::string peer_in(const std::string& line, const std::string& prefix) {
  const auto at = line.find(prefix);
  if (at == std::string::npos) return "";
  const auto start = at + prefix.size();
  return line.substr(start, line.find(' ', start) - start);
}

TEST(ChatdProcessTest, LogsConnectLoginJoinLeaveAndDisconnectWithTheReasonAndPeer) {
  ChatdProcess chatd({{"--reactors", "2"}});
  IoThread io;
  {
    TestClient ann(io, chatd.port(), "ann");
    ASSERT_TRUE(ann.join("#logs").has_join());
    ASSERT_TRUE(ann.say("#logs", "not logged at info").has_message());
    ASSERT_TRUE(ann.leave("#logs").has_leave());
    ann.close();
  }
  ASSERT_TRUE(chatd.wait_line("] disconnect 127.0.0.1:")) << "no disconnect line";
  std::string connect, login, join, leave, disconnect;
  for (const auto& line : chatd.lines()) {
    if (line.find("[info] connect ") != line.npos) connect = line;
    if (line.find("[info] login ann from ") != line.npos) login = line;
    if (line.find("[info] join #logs ann (session ") != line.npos) join = line;
    if (line.find("[info] leave #logs ann (session ") != line.npos) leave = line;
    if (line.find("[info] disconnect ") != line.npos) disconnect = line;
    EXPECT_EQ(line.find("not logged at info"), line.npos) << "a say was logged: " << line;
  }
  ASSERT_FALSE(connect.empty() || login.empty() || join.empty() || leave.empty() || disconnect.empty())
      << ::testing::PrintToString(chatd.lines());
  const std::string peer = peer_in(connect, "connect ");
  EXPECT_EQ(peer.rfind("127.0.0.1:", 0), 0u) << connect;
  EXPECT_EQ(peer_in(login, "from "), peer) << login;
  EXPECT_EQ(peer_in(disconnect, "disconnect "), peer) << disconnect;
  EXPECT_NE(disconnect.find(" ann (session "), disconnect.npos) << disconnect;
  EXPECT_NE(disconnect.find("): client_quit, closed by peer"), disconnect.npos) << disconnect;

  // A protocol error: the reason and the error code.
  RawConnection raw(chatd.port());
  raw.send_bytes(std::string("\x05garbage", 8));
  EXPECT_TRUE(raw.wait_closed());
  EXPECT_TRUE(chatd.wait_line("): protocol_error, CODE_MALFORMED_FRAME")) << ::testing::PrintToString(chatd.lines());
}

}  // namespace
}  // namespace chat::testing
