// Cluster mode's foundation (issue 11): the say function against a real
// redis-server. Three "nodes" (each a connection of its own on a thread of
// its own, pipelining) say concurrently into four rooms: every room's
// numbers are gapless and given once, every say is published once and in
// seq order, and the stream holds each under <seq>-0. Then exactly-once, a
// room that lost its state getting a new epoch, and the function still
// there after Redis restarts on its data.
#include <gtest/gtest.h>
#include <poll.h>

#include <csignal>

#include <map>
#include <set>
#include <thread>

#include "server/cluster/presence_script.hpp"
#include "server/cluster/redis_conn.hpp"
#include "server/cluster/room_script.hpp"
#include "support/redis_process.hpp"

namespace chat::testing {
namespace {

using namespace std::chrono_literals;
using server::cluster::Published;
using server::cluster::Said;
using server::cluster::Say;
using server::cluster::SayLimits;
namespace keys = server::cluster::keys;
namespace redis = server::redis;

redis::Endpoint endpoint(const RedisProcess& r) { return redis::Endpoint::parse(r.url()); }

std::unique_ptr<redis::Conn> connect(const RedisProcess& r) {
  return std::make_unique<redis::Conn>(endpoint(r), "", 2s);
}

void load(redis::Conn& c) {
  const auto reply = c.command(server::cluster::load_command());
  ASSERT_FALSE(redis::is_error(reply.get())) << redis::text(reply.get());
}

Say say(const std::string& room, const std::string& who, const std::string& text, std::uint64_t cmid = 0) {
  return Say{room, who, who, cmid, text, 1'700'000'000'000, "node:1:1"};
}

std::optional<Said> call(redis::Conn& c, const Say& s, std::uint64_t epoch = 42) {
  const auto reply = c.command(server::cluster::say_command(s, SayLimits{}, epoch));
  EXPECT_FALSE(redis::is_error(reply.get())) << redis::text(reply.get());
  return server::cluster::parse_said(reply.get());
}

// A subscriber to every channel in `rooms`, collecting what is published.
class Listener {
 public:
  Listener(const RedisProcess& r, const std::vector<std::string>& rooms) : conn_(connect(r)) {
    std::vector<std::string> argv = {"SUBSCRIBE"};
    for (const auto& room : rooms) {
      argv.push_back(keys::channel(room));
      channels_[keys::channel(room)] = room;
    }
    conn_->append(argv);
    for (std::size_t i = 0; i < rooms.size(); ++i) conn_->next_reply();  // one confirmation each
  }
  // Reads until `n` messages have come or `timeout` passes.
  std::vector<Published> collect(std::size_t n, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got_.size() < n && std::chrono::steady_clock::now() < deadline) {
      pollfd readable{conn_->fd(), POLLIN, 0};
      if (::poll(&readable, 1, 100) <= 0) continue;
      conn_->read_available();
      while (auto reply = conn_->ready_reply()) {
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || redis::text(reply->element[0]) != "message") {
          continue;
        }
        const std::string room = channels_.at(redis::text(reply->element[1]));
        auto p = server::cluster::parse_published(room, redis::text(reply->element[2]));
        EXPECT_TRUE(p) << redis::text(reply->element[2]);
        if (p) got_.push_back(std::move(*p));
      }
    }
    return got_;
  }

 private:
  std::unique_ptr<redis::Conn> conn_;
  std::map<std::string, std::string> channels_;
  std::vector<Published> got_;
};

class ClusterScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_redis_server()) GTEST_SKIP() << "redis-server is not installed (bash .ci/install-deps)";
    redis_ = std::make_unique<RedisProcess>();
    admin_ = connect(*redis_);
    load(*admin_);
  }
  std::unique_ptr<RedisProcess> redis_;
  std::unique_ptr<redis::Conn> admin_;
};

TEST_F(ClusterScriptTest, ConcurrentNodesGetGaplessNumbersAndEverySayIsPublishedOnceInOrder) {
  const std::vector<std::string> rooms = {"#a", "#b", "#c", "#d"};
  Listener listener(*redis_, rooms);
  constexpr int kNodes = 3;
  constexpr int kBatches = 20;
  constexpr int kPerBatch = 25;  // pipelined, as the cluster link sends them
  std::vector<std::map<std::string, std::vector<std::uint64_t>>> given(kNodes);  // node -> room -> seqs
  std::vector<std::thread> nodes;
  for (int n = 0; n < kNodes; ++n) {
    nodes.emplace_back([&, n] {
      auto conn = connect(*redis_);
      for (int b = 0; b < kBatches; ++b) {
        std::vector<std::string> batch_rooms;
        for (int i = 0; i < kPerBatch; ++i) {
          const std::string& room = rooms[static_cast<std::size_t>(n + b + i) % rooms.size()];
          batch_rooms.push_back(room);
          const std::string text = "node " + std::to_string(n) + " say " + std::to_string(b * kPerBatch + i);
          conn->append(server::cluster::say_command(say(room, "n" + std::to_string(n), text), SayLimits{}, 7));
        }
        for (const std::string& room : batch_rooms) {
          const auto said = server::cluster::parse_said(conn->next_reply().get());
          if (said && said->fresh) given[static_cast<std::size_t>(n)][room].push_back(said->seq);
        }
      }
    });
  }
  for (auto& t : nodes) t.join();

  constexpr std::size_t kTotal = std::size_t{kNodes} * kBatches * kPerBatch;
  std::map<std::string, std::set<std::uint64_t>> all;
  std::size_t count = 0;
  for (const auto& node : given) {
    for (const auto& [room, seqs] : node) {
      // Each node's own says get rising numbers.
      for (std::size_t i = 1; i < seqs.size(); ++i) EXPECT_LT(seqs[i - 1], seqs[i]) << room;
      for (std::uint64_t s : seqs) EXPECT_TRUE(all[room].insert(s).second) << room << " seq " << s << " given twice";
      count += seqs.size();
    }
  }
  ASSERT_EQ(count, kTotal) << "every say answered with a fresh seq";
  for (const auto& [room, seqs] : all) {
    EXPECT_EQ(*seqs.begin(), 1u) << room;
    EXPECT_EQ(*seqs.rbegin(), seqs.size()) << room << ": a gap";
  }

  const auto published = listener.collect(kTotal, 10s);
  ASSERT_EQ(published.size(), kTotal);
  std::map<std::string, std::uint64_t> last;
  for (const Published& p : published) {
    EXPECT_EQ(p.seq, last[p.say.room] + 1) << p.say.room << ": published out of order or twice";
    last[p.say.room] = p.seq;
    EXPECT_EQ(p.epoch, 7u);
    EXPECT_EQ(p.say.origin, "node:1:1");
  }

  // The stream holds every say under its seq.
  for (const auto& room : rooms) {
    const auto range = admin_->command({"XRANGE", keys::stream(room), "-", "+"});
    ASSERT_EQ(range->type, REDIS_REPLY_ARRAY);
    ASSERT_EQ(range->elements, all[room].size()) << room;
    for (std::size_t i = 0; i < range->elements; ++i) {
      EXPECT_EQ(redis::text(range->element[i]->element[0]), std::to_string(i + 1) + "-0") << room;
    }
  }
}

TEST_F(ClusterScriptTest, ANamedSayAgainIsNotSequencedAgainAndIsNotPublishedTwice) {
  Listener listener(*redis_, {"#x"});
  const auto first = call(*admin_, say("#x", "ann", "once", 99));
  ASSERT_TRUE(first && first->fresh);
  auto again = say("#x", "ann", "once", 99);
  again.timestamp_ms = 1'800'000'000'000;  // sent again later
  const auto second = call(*admin_, again);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->fresh);
  EXPECT_EQ(second->seq, first->seq);
  EXPECT_EQ(second->timestamp_ms, first->timestamp_ms) << "the original's";
  EXPECT_EQ(second->origin, "node:1:1") << "the original's: a node sending its own say again knows it";
  // Another identity with the same id is another say; so is an unnamed one.
  EXPECT_TRUE(call(*admin_, say("#x", "bob", "mine", 99))->fresh);
  EXPECT_TRUE(call(*admin_, say("#x", "ann", "unnamed"))->fresh);
  EXPECT_TRUE(call(*admin_, say("#x", "ann", "unnamed"))->fresh);
  EXPECT_EQ(listener.collect(4, 5s).size(), 4u);
  EXPECT_EQ(listener.collect(5, 300ms).size(), 4u) << "the repeat was published";
  const auto ttl = admin_->command({"TTL", keys::said("#x", "ann", 99)});
  EXPECT_GT(ttl->integer, 500) << "remembered for about the dedupe window";
}

TEST_F(ClusterScriptTest, ARoomThatLostItsStateStartsANewEpochAtSeqOne) {
  EXPECT_EQ(call(*admin_, say("#y", "ann", "one"), 1111)->epoch, 1111u);
  EXPECT_EQ(call(*admin_, say("#y", "ann", "two"), 2222)->epoch, 1111u) << "the room's epoch stays";
  // Its meta hash is gone (a Redis that came back without it): a new
  // incarnation, numbered from 1, and nothing of the old stream left.
  admin_->command({"DEL", keys::meta("#y")});
  const auto fresh = call(*admin_, say("#y", "ann", "three"), 3333);
  EXPECT_EQ(fresh->epoch, 3333u);
  EXPECT_EQ(fresh->seq, 1u);
  EXPECT_EQ(admin_->command({"XLEN", keys::stream("#y")})->integer, 1);
}

TEST_F(ClusterScriptTest, BadArgumentsAreRefusedBeforeAnyWrite) {
  auto argv = server::cluster::say_command(say("#z", "ann", "x"), SayLimits{}, 1);
  argv[argv.size() - 5] = "many";  // the entries kept
  const auto reply = admin_->command(argv);
  EXPECT_TRUE(redis::is_error(reply.get()));
  EXPECT_EQ(admin_->command({"EXISTS", keys::meta("#z")})->integer, 0);
}

// Presence (presence_script.hpp): chat_member publishes a change only if
// it changed the member set, and chat_alive forgets a node whose liveness
// ran out, publishing each of its members as gone.
TEST_F(ClusterScriptTest, AMemberChangeIsPublishedOnceAndADeadNodesMembersAreForgotten) {
  namespace c = server::cluster;
  const auto joined = [](const std::string& nick, const std::string& id) {
    return c::MemberChange{1, 0, nick, {}, id};  // KIND_JOINED
  };
  // Raw messages on the room's channel.
  auto sub = connect(*redis_);
  sub->append({"SUBSCRIBE", keys::channel("#p")});
  sub->next_reply();
  auto next_change = [&]() -> std::optional<c::MemberChange> {
    auto reply = sub->ready_reply();  // one read may bring several
    if (!reply) {
      pollfd readable{sub->fd(), POLLIN, 0};
      if (::poll(&readable, 1, 500) <= 0) return std::nullopt;
      reply = sub->next_reply();
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return std::nullopt;
    return c::parse_change(redis::text(reply->element[2]));
  };
  auto next_nick = [&] {
    const auto change = next_change();
    return change ? change->nick : std::string("(nothing)");
  };
  ASSERT_EQ(admin_->command(c::alive_command("n1", c::Beat::kStart))->integer, 0);
  ASSERT_EQ(admin_->command(c::alive_command("n2", c::Beat::kStart))->integer, 0);
  EXPECT_EQ(admin_->command(c::member_command("#p", joined("ann", "n1:7")))->integer, 1);
  EXPECT_EQ(admin_->command(c::member_command("#p", joined("ann", "n1:7")))->integer, 0) << "known already";
  EXPECT_EQ(admin_->command(c::member_command("#p", joined("bob", "n2:9")))->integer, 1);
  auto first = next_change();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->nick, "ann");
  EXPECT_EQ(first->id, "n1:7");
  EXPECT_EQ(next_nick(), "bob") << "the repeat was not published";
  const auto all = c::parse_members(admin_->command(c::members_command("#p")).get());
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].nick, "ann");
  EXPECT_EQ((*all)[1].id, "n2:9");
  EXPECT_EQ(admin_->command({"ZCARD", keys::kRooms})->integer, 1);
  // A bad operation writes nothing.
  auto bad = c::member_command("#q", joined("cat", "n1:1"));
  bad[7] = "?";
  EXPECT_TRUE(redis::is_error(admin_->command(bad).get()));
  EXPECT_EQ(admin_->command({"EXISTS", keys::members("#q")})->integer, 0);

  // n2 stops beating: its liveness runs out, and n1's next beat forgets it.
  admin_->command({"DEL", keys::alive("n2")});
  EXPECT_EQ(admin_->command(c::alive_command("n1", c::Beat::kBeat))->integer, 1);
  const auto gone = next_change();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->nick, "bob");
  EXPECT_EQ(gone->kind, 3) << "KIND_QUIT";
  EXPECT_EQ(admin_->command({"ZCARD", keys::members("#p")})->integer, 1);
  EXPECT_EQ(admin_->command({"SISMEMBER", keys::kNodes, "n2"})->integer, 0);
  // n1 stops cleanly: its members go at once, and so does the room.
  admin_->command(c::alive_command("n1", c::Beat::kStop));
  EXPECT_EQ(next_nick(), "ann");
  EXPECT_EQ(admin_->command({"EXISTS", keys::members("#p")})->integer, 0);
  EXPECT_EQ(admin_->command({"ZCARD", keys::kRooms})->integer, 0);
}

// FUNCTION LOAD persists with the data, unlike a script cache: a Redis
// restarted on its files still has the function.
TEST(ClusterScriptRestartTest, TheFunctionSurvivesARedisRestartOnItsData) {
  if (!have_redis_server()) GTEST_SKIP() << "redis-server is not installed";
  TempDir dir("redis-persist");
  std::uint16_t port = 0;
  {
    RedisProcess first({.persist = true, .dir = dir.str()});
    port = first.port();
    auto c = connect(first);
    load(*c);
    ASSERT_TRUE(call(*c, say("#r", "ann", "before")));
    ASSERT_EQ(first.stop(SIGTERM, 10s), 0);
  }
  RedisProcess again({.persist = true, .dir = dir.str(), .port = port});
  auto c = connect(again);
  const auto said = call(*c, say("#r", "ann", "after"));
  ASSERT_TRUE(said);
  EXPECT_EQ(said->seq, 2u) << "the room's numbering came back with the data";
}

TEST(ClusterScriptParseTest, EndpointsAndPublishedSaysAreCheckedNotTrusted) {
  EXPECT_EQ(redis::Endpoint::parse("redis://10.0.0.5:6380").str(), "10.0.0.5:6380");
  EXPECT_EQ(redis::Endpoint::parse("localhost:6379").host, "localhost");
  for (const char* bad : {"redis://", "redis://host", "host:", "host:0", "host:70000", "host:12x"}) {
    EXPECT_THROW(redis::Endpoint::parse(bad), std::invalid_argument) << bad;
  }
  const auto ok = server::cluster::parse_published(
      "#a", R"({"seq":3,"epoch":"9007199254740993","origin":"n:1:2","ts":"5","cmid":"18446744073709551615",)"
            R"("sender":"ann","identity":"ann","text":"hi"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->epoch, 9007199254740993u) << "past 2^53, exact";
  EXPECT_EQ(ok->say.client_msg_id, 18446744073709551615u);
  for (const char* bad : {"", "[]", "{}", R"({"seq":-1})", R"({"seq":"3","epoch":"1"})", "{\"seq\":"}) {
    EXPECT_FALSE(server::cluster::parse_published("#a", bad)) << bad;
  }
}

}  // namespace
}  // namespace chat::testing
