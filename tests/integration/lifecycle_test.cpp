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
