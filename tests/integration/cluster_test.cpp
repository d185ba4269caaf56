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
#include <optional>
#include <thread>

#include "server/cluster/redis_conn.hpp"
#include "server/cluster/room_script.hpp"
#include "support/chatd_process.hpp"
#include "support/cluster_node.hpp"
#include "support/frames.hpp"
#include "support/redis_process.hpp"
#include "support/test_client.hpp"
#include "support/wait.hpp"

namespace chat::testing {
namespace {

using namespace std::chrono_literals;

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_redis_server()) GTEST_SKIP() << "redis-server is not installed (bash .ci/install-deps)";
    redis_ = std::make_unique<RedisProcess>();
    for (int i = 0; i < 3; ++i) nodes_.push_back(cluster_node(redis_->url(), i));
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
  // Presence crossed the nodes: each member heard all 10 of its room join
  // (the members on the other two nodes too), and who on any node names
  // them all.
  for (int i = 0; i < kClients; ++i) {
    TestClient& c = *clients[static_cast<std::size_t>(i)];
    std::set<std::string> later;  // its own join and those after it
    for (int j = i; j < kClients; j += kRooms) later.insert("user" + std::to_string(j));
    auto joined = [&] {
      std::set<std::string> heard;
      for (const auto& p : c.presences()) {
        if (p.kind() == v1::Presence::KIND_JOINED) heard.insert(p.nick());
      }
      return heard;
    };
    EXPECT_TRUE(c.wait([&] { return joined() == later; })) << "user" << i << " heard " << joined().size();
  }
  for (int r = 0; r < kRooms; ++r) {
    const auto who = clients[static_cast<std::size_t>(r)]->call(
        [r](client::Client& c, client::ReplyHandler h) { c.who("#room" + std::to_string(r), std::move(h)); });
    ASSERT_TRUE(who.has_who()) << who.DebugString();
    EXPECT_EQ(who.who().member_count(), static_cast<std::uint32_t>(kClients / kRooms));
    EXPECT_EQ(who.who().nicks_size(), kClients / kRooms);
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

// A node new to a room has only what it read at the first join there (the
// replay) and what came after; older pages come from the room's stream in
// Redis, so a client that moves to it loses nothing it had not seen.
TEST_F(ClusterTest, ANodeNewToARoomPagesItsWholeHistoryFromRedis) {
  TestClient ann(io_, nodes_[0]->port(), "ann");
  ASSERT_TRUE(ann.join("#old").has_join());
  constexpr int kSays = 150;  // past the 50 of a replay
  for (int k = 1; k <= kSays; ++k) {
    ASSERT_TRUE(ann.say("#old", "old " + std::to_string(k), static_cast<std::uint64_t>(k)).has_message());
  }
  TestClient bob(io_, nodes_[1]->port(), "bob");
  const auto joined = bob.join("#old");
  ASSERT_TRUE(joined.has_join()) << joined.DebugString();
  ASSERT_EQ(joined.join().last_seq(), static_cast<std::uint64_t>(kSays));
  auto history = [&](TestClient& c, std::uint64_t before, std::optional<std::uint64_t> after, std::uint32_t limit) {
    return c.call([=](client::Client& cl, client::ReplyHandler h) { cl.history("#old", before, after, limit, std::move(h)); });
  };
  // Forward from the first, a page at a time, as a client resuming by seq.
  std::vector<std::uint64_t> seqs;
  std::uint64_t after = 0;
  while (seqs.size() < static_cast<std::size_t>(kSays)) {
    const auto page = history(bob, 0, after, 40);
    ASSERT_TRUE(page.has_history()) << page.DebugString();
    EXPECT_EQ(page.history().first_available_seq(), 1u);
    EXPECT_EQ(page.history().last_seq(), static_cast<std::uint64_t>(kSays));
    ASSERT_GT(page.history().messages_size(), 0) << "after " << after;
    for (const auto& m : page.history().messages()) {
      seqs.push_back(m.seq());
      EXPECT_EQ(m.text(), "old " + std::to_string(m.seq()));
      EXPECT_EQ(m.client_msg_id(), 0u) << "ann's, not bob's";
    }
    after = seqs.back();
  }
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1) << "once each, in order";
  // Backward from before seq 30, the newest 20 of what is before it; the
  // sender's own page names its client_msg_ids.
  const auto back = history(bob, 30, std::nullopt, 20);
  ASSERT_EQ(back.history().messages_size(), 20) << back.DebugString();
  EXPECT_EQ(back.history().messages(0).seq(), 10u);
  EXPECT_EQ(back.history().messages(19).seq(), 29u);
  // ann moves to node2, new to the room: her own says from Redis name
  // their client_msg_ids to her (a guest speaks for her nick).
  ann.close();
  TestClient moved(io_, nodes_[2]->port());
  ASSERT_TRUE(moved.hello_when_free("ann").has_hello());
  ASSERT_TRUE(moved.join("#old").has_join());
  const auto own = history(moved, 0, 0, 5);
  ASSERT_EQ(own.history().messages_size(), 5) << own.DebugString();
  EXPECT_EQ(own.history().messages(4).client_msg_id(), 5u) << "ann's own";
}

// A room's topic is one on every node: set on one, told to the members on
// the others, in the join reply and get_topic on a node that joins later,
// and in the room list of a node where the room has no member.
TEST_F(ClusterTest, ATopicSetOnOneNodeIsTheRoomsTopicOnEvery) {
  TestClient ann(io_, nodes_[0]->port(), "ann");
  TestClient bob(io_, nodes_[1]->port(), "bob");
  ASSERT_TRUE(ann.join("#hall").has_join());
  ASSERT_TRUE(bob.join("#hall").has_join());
  const auto set = ann.call([](client::Client& c, client::ReplyHandler h) { c.set_topic("#hall", "one topic", std::move(h)); });
  ASSERT_TRUE(set.has_topic()) << set.DebugString();
  ASSERT_TRUE(bob.wait([&] { return !bob.topics().empty(); }));
  EXPECT_EQ(bob.topics()[0].topic(), "one topic");
  EXPECT_EQ(bob.topics()[0].set_by(), "ann");
  EXPECT_EQ(bob.topics().size(), 1u);
  TestClient cat(io_, nodes_[2]->port(), "cat");
  const auto listed = cat.call([](client::Client& c, client::ReplyHandler h) { c.list_rooms(std::move(h)); });
  ASSERT_EQ(listed.list_rooms().rooms_size(), 1) << listed.DebugString();
  EXPECT_EQ(listed.list_rooms().rooms(0).topic(), "one topic");
  const auto joined = cat.join("#hall");
  EXPECT_EQ(joined.join().topic(), "one topic") << joined.DebugString();
  const auto got = cat.call([](client::Client& c, client::ReplyHandler h) { c.get_topic("#hall", std::move(h)); });
  EXPECT_EQ(got.topic().set_by(), "ann") << got.DebugString();
  // Set again from node1: node0 follows.
  ASSERT_TRUE(bob.call([](client::Client& c, client::ReplyHandler h) { c.set_topic("#hall", "two", std::move(h)); })
                  .has_topic());
  ASSERT_TRUE(ann.wait([&] {
    const auto t = ann.topics();
    return !t.empty() && t.back().topic() == "two";
  }));
  EXPECT_EQ(ann.topics().size(), 2u) << "its own, then bob's";
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

// Every node names the same epoch in its Welcome and the same incarnation
// for a room, said in or not: a client moving to another node keeps its
// seqs.
TEST_F(ClusterTest, EveryNodeNamesTheSameEpochAndARoomTheSameIncarnation) {
  std::vector<std::unique_ptr<TestClient>> clients;
  std::set<std::uint64_t> epochs, incarnations;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    clients.push_back(std::make_unique<TestClient>(io_, nodes_[i]->port(), "inc" + std::to_string(i)));
    epochs.insert(clients.back()->welcome().epoch());
    const auto joined = clients.back()->join("#quiet");
    ASSERT_TRUE(joined.has_join()) << joined.DebugString();
    incarnations.insert(joined.join().incarnation());
  }
  EXPECT_EQ(epochs.size(), 1u);
  EXPECT_EQ(incarnations.size(), 1u) << "a room never said in";
  ASSERT_TRUE(clients[0]->say("#quiet", "first", 1).has_message());
  TestClient later(io_, nodes_[2]->port(), "late");
  const auto joined = later.join("#quiet");
  EXPECT_EQ(joined.join().incarnation(), *incarnations.begin()) << "its first say kept it";
}

// A direct message to a nick held on another node goes to that node and is
// delivered as a local one; the sender hears that node's ack, or its
// refusal, and NO_SUCH_NICK when no node holds the nick. DMs from one
// sender arrive in the order sent.
TEST_F(ClusterTest, ADirectMessageReachesANickOnAnotherNodeAndItsSenderHearsTheAck) {
  TestClient ann(io_, nodes_[0]->port(), "ann");
  TestClient bob(io_, nodes_[1]->port(), "bob");
  const auto ack = ann.direct("bob", "hello from node0");
  ASSERT_TRUE(ack.has_direct_ack()) << ack.DebugString();
  EXPECT_EQ(ack.direct_ack().nick(), "bob");
  ASSERT_TRUE(bob.wait([&] { return bob.directs().size() == 1; }));
  EXPECT_EQ(bob.directs()[0].sender(), "ann");
  EXPECT_EQ(bob.directs()[0].text(), "hello from node0");
  const auto back = bob.direct("ANN", "and back");
  ASSERT_TRUE(back.has_direct_ack()) << back.DebugString();
  ASSERT_TRUE(ann.wait([&] { return ann.directs().size() == 1; }));
  EXPECT_EQ(ann.directs()[0].text(), "and back");
  EXPECT_EQ(code_of(ann.direct("nobody", "?")), v1::Error::CODE_NO_SUCH_NICK);
  // In order, each acked once.
  constexpr int kMany = 30;
  for (int i = 0; i < kMany; ++i) ASSERT_TRUE(ann.direct("bob", "n" + std::to_string(i)).has_direct_ack()) << i;
  ASSERT_TRUE(bob.wait([&] { return bob.directs().size() == 1 + kMany; }));
  for (int i = 0; i < kMany; ++i) EXPECT_EQ(bob.directs()[1 + static_cast<std::size_t>(i)].text(), "n" + std::to_string(i));
  // Gone from its node: refused, not lost silently.
  bob.close();
  TestClient probe(io_, nodes_[2]->port(), "probe");
  ASSERT_TRUE(wait_until([&] { return code_of(probe.direct("bob", "still there?")) == v1::Error::CODE_NO_SUCH_NICK; },
                         5s, 50ms));
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

}  // namespace
}  // namespace chat::testing
