// Cluster mode (issue 11), a node killed with -9 under load. Its clients,
// `chat --json --host a,b,c`, move to the next node, log in again with
// their nick once the dead node's lease on it has run out (30 s), rejoin
// and fill in what they missed by seq. Every message acknowledged
// anywhere, the movers' own lines too, is shown exactly once and in order
// by every member, those that moved and those that stayed.
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/json_lines.hpp"
#include "support/child_process.hpp"
#include "support/cluster_node.hpp"
#include "support/redis_process.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

using namespace std::chrono_literals;

TEST(ClusterFailoverTest, ANodeKilledUnderLoadLosesNothingItsClientsMoveAndResume) {
  if (!have_redis_server()) GTEST_SKIP() << "redis-server is not installed";
  RedisProcess redis;
  std::vector<std::unique_ptr<ChatdProcess>> nodes;
  std::string hosts;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(cluster_node(redis.url(), i));
    hosts += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(nodes.back()->port());
  }
  // The movers start on node 0, the first of their list.
  std::vector<std::unique_ptr<ChildProcess>> movers;
  for (int i = 0; i < 3; ++i) {
    movers.push_back(std::make_unique<ChildProcess>(std::vector<std::string>{
        CHAT_PATH, "--json", "--host", hosts, "--nick", "mover" + std::to_string(i), "--join", "#fail",
        "--reconnect-min-ms", "50", "--reconnect-max-ms", "1000", "--ping-ms", "500"}));
  }
  for (auto& m : movers) ASSERT_TRUE(m->wait_line("\"type\":\"joined\"")) << m->text();
  IoThread io;
  std::vector<std::unique_ptr<TestClient>> stayers;
  for (int i = 0; i < 4; ++i) {
    stayers.push_back(std::make_unique<TestClient>(io, nodes[1 + i % 2]->port(), "stayer" + std::to_string(i)));
    ASSERT_TRUE(stayers.back()->join("#fail").has_join());
  }

  // Two stayers say 300 each, paced, with client_msg_ids; one mover types
  // a line now and then. Node 0 is killed a third of the way through.
  constexpr int kSays = 300;
  constexpr int kTyped = 20;
  std::vector<std::thread> senders;
  for (int s = 0; s < 2; ++s) {
    senders.emplace_back([&, s] {
      for (int k = 1; k <= kSays; ++k) {
        stayers[static_cast<std::size_t>(s)]->say_async("#fail", "s" + std::to_string(s) + "-" + std::to_string(k),
                                                       static_cast<std::uint64_t>(k));
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  for (int k = 1; k <= kTyped; ++k) {
    movers[0]->write_line("typed " + std::to_string(k));
    if (k == kTyped / 3) {
      ASSERT_EQ(nodes[0]->stop(SIGKILL, 10s), 128 + SIGKILL);
    }
    std::this_thread::sleep_for(80ms);
  }
  for (auto& t : senders) t.join();
  for (int s = 0; s < 2; ++s) {
    TestClient& c = *stayers[static_cast<std::size_t>(s)];
    ASSERT_TRUE(c.wait([&] { return c.replies().size() == kSays; }, 30s));
    for (const auto& r : c.replies()) ASSERT_TRUE(r.has_message()) << r.DebugString();
  }

  // The movers are back (after the dead node's leases ran out) and every
  // typed line went out once: the stayers see 600 + 20 says.
  const std::size_t total = 2 * kSays + kTyped;
  for (auto& s : stayers) {
    ASSERT_TRUE(s->wait_messages("#fail", total, 60s)) << "has " << s->messages("#fail").size();
  }
  ASSERT_TRUE(stayers[0]->ping().has_pong());
  const auto seen = stayers[0]->messages("#fail");
  ASSERT_EQ(seen.size(), total);
  std::map<std::string, int> texts;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].seq(), i + 1) << "gapless";
    ++texts[seen[i].text()];
  }
  for (int k = 1; k <= kTyped; ++k) EXPECT_EQ(texts["typed " + std::to_string(k)], 1) << "typed " << k;
  for (auto& s : stayers) {
    ASSERT_TRUE(s->ping().has_pong());
    const auto got = s->messages("#fail");
    ASSERT_EQ(got.size(), total) << "once each";
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].text(), seen[i].text()) << "one order";
  }
  std::vector<std::uint64_t> want(total);
  for (std::size_t i = 0; i < total; ++i) want[i] = i + 1;
  for (auto& m : movers) {
    ASSERT_TRUE(m->wait([&](const auto& lines) { return has_seqs_through(lines, "#fail", total); }, 60s))
        << "shown " << shown_seqs(m->lines(), "#fail").size() << "\n" << m->text();
    EXPECT_EQ(shown_seqs(m->lines(), "#fail"), want) << "each once, in order\n" << m->text();
    EXPECT_GE(count_type(m->lines(), "joined"), 2) << "it rejoined on another node";
    EXPECT_EQ(count_type(m->lines(), "epoch"), 0) << "the cluster's epoch, on every node";
    EXPECT_EQ(count_type(m->lines(), "gap"), 0);
  }
  for (auto& m : movers) {
    m->close_stdin();
    EXPECT_EQ(m->wait_exit(20s), 0);
  }
}

}  // namespace
}  // namespace chat::testing
