// Starting and stopping: the in-process server and the real chatd binary.
#include <gtest/gtest.h>
#include <signal.h>

#include "support/chatd_process.hpp"
#include "support/child_process.hpp"
#include "support/server_fixture.hpp"
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
                           "--idle-timeout-ms", "--shutdown-grace-ms", "--max-rooms", "--max-joined"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace chat::testing
