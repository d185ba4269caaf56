// Cluster mode (issue 11): three chatd nodes share rooms through one real
// redis-server. 40 clients over the nodes in 4 rooms with concurrent
// senders: every member of a room receives every message exactly once, all
// in the same order, seq gapless, and every sender its own copy. A joiner
// on another node gets the room's newest says in its replay and goes on
// from there with nothing missed.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <set>
#include <memory>
#include <thread>

#include "server/cluster/redis_conn.hpp"
#include "server/cluster/room_script.hpp"
#include "support/chatd_process.hpp"
#include "support/frames.hpp"
#include "support/redis_process.hpp"
#include "support/tcp_proxy.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<ChatdProcess> node(const RedisProcess& redis, int i) {
  return std::make_unique<ChatdProcess>(ChatdProcess::Options{
      .args = {"--reactors", "2", "--cluster", redis.url(), "--node-id", "node" + std::to_string(i), "--rate", "0"}});
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_redis_server()) GTEST_SKIP() << "redis-server is not installed (bash .ci/install-deps)";
    redis_ = std::make_unique<RedisProcess>();
    for (int i = 0; i < 3; ++i) nodes_.push_back(node(*redis_, i));
  }
  std::unique_ptr<RedisProcess> redis_;
  std::vector<std::unique_ptr<ChatdProcess>> nodes_;
  IoThread io_;
};

TEST_F(ClusterTest, FortyClientsOnThreeNodesSeeEveryMessageOnceInOneGaplessOrder) {
  constexpr int kClients = 40;
  constexpr int kRooms = 4;
  constexpr int kSendersPerRoom = 3;
  constexpr int kSays = 30;  // each sender's
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    // Client i is on node i % 3 and in room i % 4: every room has members
    // on every node.
    clients.push_back(std::make_unique<TestClient>(io_, nodes_[static_cast<std::size_t>(i % 3)]->port(),
                                                   "user" + std::to_string(i)));
    const auto joined = clients.back()->join("#room" + std::to_string(i % kRooms));
    ASSERT_TRUE(joined.has_join()) << joined.DebugString();
  }
  // The first kSendersPerRoom members of each room say at once, with
  // client_msg_ids, without waiting for each other.
  std::vector<std::thread> senders;
  for (int i = 0; i < kRooms * kSendersPerRoom; ++i) {
    senders.emplace_back([&, i] {
      TestClient& c = *clients[static_cast<std::size_t>(i)];
      for (int k = 0; k < kSays; ++k) {
        c.say_async("#room" + std::to_string(i % kRooms), "from " + std::to_string(i) + " #" + std::to_string(k),
                    static_cast<std::uint64_t>(k + 1));
      }
    });
  }
  for (auto& t : senders) t.join();

  constexpr std::size_t kPerRoom = std::size_t{kSendersPerRoom} * kSays;
  for (int i = 0; i < kClients; ++i) {
    TestClient& c = *clients[static_cast<std::size_t>(i)];
    const std::string room = "#room" + std::to_string(i % kRooms);
    ASSERT_TRUE(c.wait_messages(room, kPerRoom, 20s)) << "user" << i << " has " << c.messages(room).size();
  }
  std::map<std::string, std::vector<std::string>> order;  // room -> texts by seq, from its first member
  for (int i = 0; i < kClients; ++i) {
    TestClient& c = *clients[static_cast<std::size_t>(i)];
    const std::string room = "#room" + std::to_string(i % kRooms);
    const auto got = c.messages(room);
    ASSERT_EQ(got.size(), kPerRoom) << "user" << i << ": exactly once";
    std::vector<std::string> texts;
    for (std::size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].seq(), k + 1) << "user" << i << " in " << room << ": gapless, in order";
      texts.push_back(got[k].text());
    }
    auto [it, first] = order.emplace(room, texts);
    if (!first) {
      EXPECT_EQ(texts, it->second) << "user" << i << " saw " << room << " in another order";
    }
  }
  // The nodes count their round trips to Redis and the rooms they watch.
  const auto page = nodes_[0]->metrics();
  EXPECT_GT(page.at("chatd_redis_roundtrips_total"), 0) << "a node that said nothing to Redis?";
  EXPECT_EQ(page.at("chatd_redis_subscriptions"), 4) << "every room has members on node 0";
  EXPECT_EQ(page.at("chatd_redis_script_errors_total"), 0);
  // Each sender's own copies: one reply per say, with its seq.
  for (int i = 0; i < kRooms * kSendersPerRoom; ++i) {
    TestClient& c = *clients[static_cast<std::size_t>(i)];
    ASSERT_TRUE(c.wait([&] { return c.replies().size() == kSays; }, 10s)) << "sender " << i;
    for (const auto& reply : c.replies()) EXPECT_TRUE(reply.has_message() && reply.message().seq() > 0) << reply.DebugString();
  }
}

TEST_F(ClusterTest, AJoinerOnAnotherNodeGetsTheNewestSaysThenEverythingAfter) {
  TestClient ann(io_, nodes_[0]->port(), "ann");
  ASSERT_TRUE(ann.join("#hall").has_join());
  for (int k = 1; k <= 5; ++k) ASSERT_TRUE(ann.say("#hall", "before " + std::to_string(k)).has_message());
  TestClient bob(io_, nodes_[1]->port(), "bob");
  const auto joined = bob.join("#hall");
  ASSERT_TRUE(joined.has_join()) << joined.DebugString();
  EXPECT_EQ(joined.join().last_seq(), 5u);
  ASSERT_EQ(joined.join().recent_size(), 5);
  EXPECT_EQ(joined.join().recent(0).text(), "before 1");
  EXPECT_EQ(joined.join().recent(4).seq(), 5u);
  const auto own = bob.say("#hall", "after");
  ASSERT_TRUE(own.has_message()) << own.DebugString();
  EXPECT_EQ(own.message().seq(), 6u);
  ASSERT_TRUE(ann.wait_messages("#hall", 6));
  EXPECT_EQ(ann.messages("#hall").back().text(), "after");
  // A say sent again with its client_msg_id is not numbered again, on any node.
  const auto once = bob.say("#hall", "named", 77);
  const auto again = bob.say("#hall", "named", 77);
  ASSERT_TRUE(once.has_message() && again.has_message()) << again.DebugString();
  EXPECT_EQ(again.message().seq(), once.message().seq());
  ASSERT_TRUE(ann.wait_messages("#hall", 7));
  EXPECT_TRUE(ann.ping().has_pong());
  EXPECT_EQ(ann.messages("#hall").size(), 7u);
}

// A say whose publication a node never saw (here: one written to the
// stream by hand, and only the say after it published) is read from the
// stream before the next goes out: a gap is repaired, never skipped.
TEST_F(ClusterTest, ASeqJumpOnTheLivePathIsRepairedFromTheStream) {
  TestClient ann(io_, nodes_[0]->port(), "ann");
  ASSERT_TRUE(ann.join("#gap").has_join());
  ASSERT_TRUE(ann.say("#gap", "one").has_message());
  namespace keys = server::cluster::keys;
  server::redis::Conn redis(server::redis::Endpoint::parse(redis_->url()), "", 2s);
  const std::string epoch = server::redis::text(redis.command({"HGET", keys::meta("#gap"), "epoch"}).get());
  for (const char* seq : {"2", "3"}) {
    redis.command({"HINCRBY", keys::meta("#gap"), "seq", "1"});
    redis.command({"XADD", keys::stream("#gap"), std::string(seq) + "-0", "sender", "eve", "identity", "eve", "cmid", "0",
                   "text", std::string("by hand ") + seq, "ts", "1700000000000", "origin", "elsewhere:1:1"});
  }
  // Only 3 is published: 2 was "lost" on the way.
  redis.command({"PUBLISH", keys::channel("#gap"),
                 R"({"seq":3,"epoch":")" + epoch + R"(","origin":"elsewhere:1:1","ts":"1700000000000","cmid":"0",)"
                 R"("sender":"eve","identity":"eve","text":"by hand 3"})"});
  ASSERT_TRUE(ann.wait_messages("#gap", 3)) << ann.messages("#gap").size();
  const auto got = ann.messages("#gap");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].seq(), 2u);
  EXPECT_EQ(got[1].text(), "by hand 2");
  EXPECT_EQ(got[2].seq(), 3u);
  // And the room goes on from there.
  const auto next = ann.say("#gap", "four");
  ASSERT_TRUE(next.has_message()) << next.DebugString();
  EXPECT_EQ(next.message().seq(), 4u);
}

TEST_F(ClusterTest, ANickHeldOnOneNodeIsRefusedOnAnotherUntilItIsLetGo) {
  auto ann = std::make_unique<TestClient>(io_, nodes_[0]->port(), "ann");
  TestClient other(io_, nodes_[1]->port());
  EXPECT_EQ(code_of(other.hello("ann")), v1::Error::CODE_NICK_TAKEN);
  EXPECT_EQ(code_of(other.hello("ANN")), v1::Error::CODE_NICK_TAKEN) << "unique ignoring case";
  ann->close();
  // Once its session here has let it go, the lease is given up.
  EXPECT_TRUE(other.hello_when_free("ann").has_hello());
  TestClient third(io_, nodes_[2]->port());
  EXPECT_EQ(code_of(third.hello("ann")), v1::Error::CODE_NICK_TAKEN);
}

TEST_F(ClusterTest, AStoppedNodesNicksAreFreeAtOnceAKilledNodesWithinThirtySeconds) {
  TestClient yan(io_, nodes_[1]->port(), "yan");
  TestClient zed(io_, nodes_[2]->port(), "zed");
  TestClient probe(io_, nodes_[0]->port());
  EXPECT_EQ(code_of(probe.hello("yan")), v1::Error::CODE_NICK_TAKEN);
  EXPECT_EQ(code_of(probe.hello("zed")), v1::Error::CODE_NICK_TAKEN);
  // A clean stop gives its nicks back.
  ASSERT_EQ(nodes_[1]->stop(SIGTERM, 20s), 0);
  EXPECT_TRUE(probe.hello_when_free("yan", 3s).has_hello());
  // A kill -9 cannot: its leases run out.
  ASSERT_EQ(nodes_[2]->stop(SIGKILL, 10s), 128 + SIGKILL);
  // A connection may send only a few frames before it has logged in: a
  // new one for each try.
  const auto started = std::chrono::steady_clock::now();
  v1::ServerFrame freed;
  while (std::chrono::steady_clock::now() - started < 35s) {
    TestClient later(io_, nodes_[0]->port());
    freed = later.hello("zed");
    if (freed.has_hello()) break;
    EXPECT_EQ(code_of(freed), v1::Error::CODE_NICK_TAKEN) << freed.DebugString();
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_TRUE(freed.has_hello()) << freed.DebugString();
  EXPECT_LE(std::chrono::steady_clock::now() - started, 31s);
}

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
  for (int i = 0; i < 2; ++i) nodes.push_back(node(*redis, i));
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
  const auto far = node(redis, 1);
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
  for (const TestClient* c : {&ann, &bob}) {
    const auto got = c->messages("#lost");
    ASSERT_EQ(got.size(), 2u) << "once each";
    EXPECT_EQ(got[0].text(), "in doubt");
    EXPECT_EQ(got[1].text(), "after");
  }
  EXPECT_EQ(ann.replies().size(), 1u) << "answered once";
  EXPECT_EQ(near.metric("chatd_redis_says_refused_total"), 0) << "nobody was told to send it again";
}

}  // namespace
}  // namespace chat::testing
