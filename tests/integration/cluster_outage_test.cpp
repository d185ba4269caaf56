// Cluster mode (issue 11) when Redis goes away: killed under load and
// started again on its data, an answer lost mid-call, or Redis back
// without its data. Nothing acknowledged is lost, nothing is delivered
// twice, and no say is dropped as seen already.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <set>
#include <thread>

#include "support/chatd_process.hpp"
#include "support/cluster_node.hpp"
#include "support/frames.hpp"
#include "support/redis_process.hpp"
#include "support/tcp_proxy.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

using namespace std::chrono_literals;

// Redis goes away under load and comes back with its data (appendfsync
// always, so a kill -9 of it loses nothing it answered): senders get
// STORE_UNAVAILABLE with retry_after meanwhile and send again with the
// same client_msg_id; afterwards every member has every acknowledged say
// once, in one gapless order.
TEST(ClusterOutageTest, RedisStoppedAndStartedAgainLosesNothingAcknowledgedAndDuplicatesNothing) {
  if (!have_redis_server()) GTEST_SKIP() << "redis-server is not installed";
  TempDir dir("redis-outage");
  auto redis = std::make_unique<RedisProcess>(RedisProcess::Options{.persist = true, .dir = dir.str()});
  const std::uint16_t port = redis->port();
  std::vector<std::unique_ptr<ChatdProcess>> nodes;
  for (int i = 0; i < 2; ++i) nodes.push_back(cluster_node(redis->url(), i));
  IoThread io;
  constexpr int kSenders = 4;
  constexpr int kSays = 40;
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<TestClient>(io, nodes[static_cast<std::size_t>(i % 2)]->port(),
                                                   "user" + std::to_string(i)));
    ASSERT_TRUE(clients.back()->join("#ops").has_join());
  }
  std::atomic<int> refused{0};
  std::atomic<bool> outage_seen{false};
  std::vector<std::thread> senders;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back([&, i] {
      TestClient& c = *clients[static_cast<std::size_t>(i)];
      for (int k = 1; k <= kSays; ++k) {
        // Until acknowledged, always under the same client_msg_id.
        for (int attempt = 0; attempt < 200; ++attempt) {
          const auto reply = c.say("#ops", "from " + std::to_string(i) + " #" + std::to_string(k),
                                   static_cast<std::uint64_t>(k));
          if (reply.has_message()) break;
          if (reply.has_error() && reply.error().code() == v1::Error::CODE_STORE_UNAVAILABLE) {
            ++refused;
            outage_seen = true;
            EXPECT_GT(reply.error().retry_after_ms(), 0u);
          }
          std::this_thread::sleep_for(50ms);
        }
        std::this_thread::sleep_for(10ms);
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(redis->stop(SIGKILL, 10s), 128 + SIGKILL);
  std::this_thread::sleep_for(2s);
  redis.reset();
  redis = std::make_unique<RedisProcess>(RedisProcess::Options{.persist = true, .dir = dir.str(), .port = port});
  for (auto& t : senders) t.join();
  EXPECT_TRUE(outage_seen) << "no say was refused while Redis was away";

  constexpr std::size_t kTotal = std::size_t{kSenders} * kSays;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    TestClient& c = *clients[i];
    ASSERT_TRUE(c.wait_messages("#ops", kTotal, 20s)) << "user" << i << " has " << c.messages("#ops").size();
  }
  std::vector<std::string> first;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const auto got = clients[i]->messages("#ops");
    ASSERT_EQ(got.size(), kTotal) << "user" << i << ": once each";
    std::vector<std::string> texts;
    for (std::size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].seq(), k + 1) << "user" << i;
      texts.push_back(got[k].text());
    }
    if (i == 0) {
      first = texts;
    } else {
      EXPECT_EQ(texts, first) << "user" << i;
    }
  }
  std::set<std::string> distinct(first.begin(), first.end());
  EXPECT_EQ(distinct.size(), kTotal) << "no say numbered twice";
  double reconnects = 0;
  double refused_counted = 0;
  for (const auto& n : nodes) {
    reconnects += n->metric("chatd_redis_reconnects_total");
    refused_counted += n->metric("chatd_redis_says_refused_total");
  }
  EXPECT_GE(reconnects, 2) << "each node connected again";
  EXPECT_EQ(refused_counted, refused.load()) << "every refusal counted";
}

// A say Redis numbered but whose answer the node never got (the link lost
// it mid-call): the node holds it and sends it again under the same
// origin once Redis is back, so its sender is answered once with the
// message, never told to send again a say that was numbered, and has it
// once, as has everyone.
TEST(ClusterOutageTest, ASayWhoseAnswerWasLostIsAnsweredOnceWithTheMessageWhenRedisIsBack) {
  if (!have_redis_server()) GTEST_SKIP() << "redis-server is not installed";
  RedisProcess redis;
  TcpProxy proxy(redis.port());
  ChatdProcess near(ChatdProcess::Options{.args = {"--cluster", "redis://127.0.0.1:" + std::to_string(proxy.port()),
                                                   "--node-id", "near", "--rate", "0"}});
  const auto far = cluster_node(redis.url(), 1);
  IoThread io;
  TestClient ann(io, near.port(), "ann");
  TestClient bob(io, far->port(), "bob");
  ASSERT_TRUE(ann.join("#lost").has_join());
  ASSERT_TRUE(bob.join("#lost").has_join());
  proxy.lose_answers();
  ann.say_async("#lost", "in doubt", 7);
  ASSERT_TRUE(bob.wait_messages("#lost", 1)) << "Redis numbered and published it";
  proxy.cut();
  ASSERT_TRUE(ann.wait([&] { return !ann.replies().empty(); }, 15s));
  const v1::ServerFrame answer = ann.replies()[0];
  ASSERT_TRUE(answer.has_message()) << answer.DebugString();
  EXPECT_EQ(answer.message().seq(), 1u);
  EXPECT_EQ(answer.message().client_msg_id(), 7u);
  const auto after = ann.say("#lost", "after", 8);
  ASSERT_TRUE(after.has_message()) << after.DebugString();
  EXPECT_EQ(after.message().seq(), 2u);
  ASSERT_TRUE(bob.wait_messages("#lost", 2));
  // A reply wakes the test before the client has recorded its message;
  // what came before a ping's answer has been.
  ASSERT_TRUE(ann.ping().has_pong());
  ASSERT_TRUE(bob.ping().has_pong());
  for (const TestClient* c : {&ann, &bob}) {
    const auto got = c->messages("#lost");
    std::string seen;
    for (const auto& g : got) seen += " " + std::to_string(g.seq()) + ":" + g.text();
    ASSERT_EQ(got.size(), 2u) << (c == &ann ? "ann" : "bob") << " once each:" << seen;
    EXPECT_EQ(got[0].text(), "in doubt");
    EXPECT_EQ(got[1].text(), "after");
  }
  EXPECT_EQ(ann.replies().size(), 1u) << "answered once";
  EXPECT_EQ(near.metric("chatd_redis_says_refused_total"), 0) << "nobody was told to send it again";
}

// Presence through an outage: members who leave or join while Redis is
// away (a leave, and a join of a room already watched, go on locally) are
// told to the other nodes once it is back, from each room's member set set
// right by the node that holds them, also for a room that node no longer
// watches.
TEST(ClusterOutageTest, MembersWhoCameAndWentWhileRedisWasAwayAreToldOnceItIsBack) {
  if (!have_redis_server()) GTEST_SKIP() << "redis-server is not installed";
  TempDir dir("redis-presence");
  auto redis = std::make_unique<RedisProcess>(RedisProcess::Options{.persist = true, .dir = dir.str()});
  const std::uint16_t port = redis->port();
  auto node0 = cluster_node(redis->url(), 0);
  auto node1 = cluster_node(redis->url(), 1);
  IoThread io;
  TestClient ann(io, node0->port(), "ann");
  TestClient dan(io, node0->port(), "dan");
  TestClient bob(io, node1->port(), "bob");
  TestClient cat(io, node1->port(), "cat");
  TestClient eve(io, node1->port(), "eve");
  TestClient fay(io, node1->port(), "fay");
  for (TestClient* c : {&ann, &bob, &cat}) ASSERT_TRUE(c->join("#a").has_join());
  for (TestClient* c : {&dan, &eve}) ASSERT_TRUE(c->join("#b").has_join());
  auto who = [](TestClient& c, const std::string& room) {
    const auto w = c.call([room](client::Client& cl, client::ReplyHandler h) { cl.who(room, std::move(h)); });
    return std::set<std::string>(w.who().nicks().begin(), w.who().nicks().end());
  };
  ASSERT_TRUE(ann.wait([&] { return who(ann, "#a").size() == 3 && who(dan, "#b").size() == 2; }));

  ASSERT_EQ(redis->stop(SIGKILL, 10s), 128 + SIGKILL);
  ASSERT_TRUE(bob.leave("#a").has_leave());
  ASSERT_TRUE(eve.leave("#b").has_leave());  // #b's last member on node1
  const auto joined = fay.join("#a");
  ASSERT_TRUE(joined.has_join()) << "a watched room takes joins without Redis: " << joined.DebugString();
  std::this_thread::sleep_for(1s);  // the nodes find Redis gone
  redis.reset();
  redis = std::make_unique<RedisProcess>(RedisProcess::Options{.persist = true, .dir = dir.str(), .port = port});

  auto heard = [](const TestClient& c, const std::string& nick, bool joining) {
    for (const auto& p : c.presences()) {
      if (p.nick() != nick) continue;
      if (joining == (p.kind() == v1::Presence::KIND_JOINED)) return true;
    }
    return false;
  };
  EXPECT_TRUE(ann.wait([&] { return heard(ann, "bob", false) && heard(ann, "fay", true); }, 20s));
  EXPECT_TRUE(dan.wait([&] { return heard(dan, "eve", false); }, 20s));
  EXPECT_GE(node1->metric("chatd_redis_reconnects_total"), 1) << "node1 lost Redis and connected again";
  EXPECT_EQ(who(ann, "#a"), (std::set<std::string>{"ann", "cat", "fay"}));
  EXPECT_EQ(who(dan, "#b"), (std::set<std::string>{"dan"}));
  ann.ping();
  std::size_t fay_joins = 0;
  for (const auto& p : ann.presences()) fay_joins += p.nick() == "fay" ? 1 : 0;
  EXPECT_EQ(fay_joins, 1u) << "told once";
}

// Redis restarted without its data (no AOF): the rooms' state is gone.
// A watched room gets a new epoch, so its numbering starts again at 1 and
// the says after the restart reach every member; none is dropped as "seen
// already" under the old numbering. A joiner gets the new incarnation.
TEST(ClusterOutageTest, ARedisThatCameBackEmptyStartsTheRoomsOverUnderANewIncarnation) {
  if (!have_redis_server()) GTEST_SKIP() << "redis-server is not installed";
  auto redis = std::make_unique<RedisProcess>();
  const std::uint16_t port = redis->port();
  const auto a = cluster_node(redis->url(), 0);
  const auto b = cluster_node(redis->url(), 1);
  IoThread io;
  TestClient ann(io, a->port(), "ann");
  TestClient bob(io, b->port(), "bob");
  const auto first = ann.join("#again");
  ASSERT_TRUE(bob.join("#again").has_join());
  for (std::uint64_t k = 1; k <= 3; ++k) ASSERT_TRUE(ann.say("#again", "before " + std::to_string(k), k).has_message());
  ASSERT_TRUE(bob.wait_messages("#again", 3));
  ASSERT_EQ(redis->stop(SIGKILL, 10s), 128 + SIGKILL);
  redis.reset();
  redis = std::make_unique<RedisProcess>(RedisProcess::Options{.port = port});  // a fresh dir: empty
  ASSERT_TRUE(a->wait_metric("chatd_redis_reconnects_total", 1, 15s));
  ASSERT_TRUE(b->wait_metric("chatd_redis_reconnects_total", 1, 15s));
  v1::ServerFrame after;
  for (int attempt = 0; attempt < 100 && !after.has_message(); ++attempt) {
    after = bob.say("#again", "after", 10);
    if (!after.has_message()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(after.has_message()) << after.DebugString();
  EXPECT_EQ(after.message().seq(), 1u) << "numbered from 1 again";
  for (TestClient* c : {&ann, &bob}) {
    ASSERT_TRUE(c->wait_messages("#again", 4)) << "the say after the restart reached every member";
    EXPECT_EQ(c->messages("#again").back().text(), "after");
  }
  TestClient cat(io, a->port(), "cat");
  const auto joined = cat.join("#again");
  ASSERT_TRUE(joined.has_join());
  EXPECT_NE(joined.join().incarnation(), first.join().incarnation());
  EXPECT_EQ(joined.join().last_seq(), 1u);
}

}  // namespace
}  // namespace chat::testing
