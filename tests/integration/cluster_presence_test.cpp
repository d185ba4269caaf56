// Cluster mode (issue 11): presence crosses nodes. A room's members on
// every node are in its member set in Redis; each node's members hear who
// joins, leaves and is renamed on the others, the join reply and who count
// and list them all (who too on a node with no member of the room), and a
// node that goes away takes its members with it: at once on a clean stop,
// within 30 s of a kill -9.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <memory>
#include <set>

#include "support/chatd_process.hpp"
#include "support/cluster_node.hpp"
#include "support/frames.hpp"
#include "support/redis_process.hpp"
#include "support/test_client.hpp"
#include "support/wait.hpp"

namespace chat::testing {
namespace {

using namespace std::chrono_literals;

class ClusterPresenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_redis_server()) GTEST_SKIP() << "redis-server is not installed (bash .ci/install-deps)";
    redis_ = std::make_unique<RedisProcess>();
    for (int i = 0; i < 3; ++i) nodes_.push_back(cluster_node(redis_->url(), i));
  }
  std::uint16_t port(int node) const { return nodes_[static_cast<std::size_t>(node)]->port(); }
  static v1::ServerFrame who(TestClient& c, const std::string& room) {
    return c.call([room](client::Client& cl, client::ReplyHandler h) { cl.who(room, std::move(h)); });
  }
  static std::set<std::string> nicks(const v1::ServerFrame& who) {
    return {who.who().nicks().begin(), who.who().nicks().end()};
  }
  // Whether `c` has heard `nick` change in `room` as `kind`.
  static bool heard(const TestClient& c, const std::string& nick, v1::Presence::Kind kind) {
    const auto all = c.presences();
    return std::any_of(all.begin(), all.end(),
                       [&](const v1::Presence& p) { return p.nick() == nick && p.kind() == kind; });
  }
  std::unique_ptr<RedisProcess> redis_;
  std::vector<std::unique_ptr<ChatdProcess>> nodes_;
  IoThread io_;
};

TEST_F(ClusterPresenceTest, MembersOnEveryNodeHearEachOtherAndWhoListsThemAll) {
  TestClient ann(io_, port(0), "ann");
  TestClient bob(io_, port(1), "bob");
  TestClient cat(io_, port(1), "cat");
  ASSERT_TRUE(ann.join("#hall").has_join());
  const auto bob_joined = bob.join("#hall");
  ASSERT_TRUE(bob_joined.has_join()) << bob_joined.DebugString();
  // The join reply on node1 names the member on node0.
  EXPECT_EQ(bob_joined.join().member_count(), 2u);
  EXPECT_EQ(std::set<std::string>(bob_joined.join().members().begin(), bob_joined.join().members().end()),
            (std::set<std::string>{"ann", "bob"}));
  ASSERT_TRUE(ann.wait([&] { return heard(ann, "bob", v1::Presence::KIND_JOINED); }));
  ASSERT_TRUE(cat.join("#hall").has_join());
  ASSERT_TRUE(ann.wait([&] { return heard(ann, "cat", v1::Presence::KIND_JOINED); }));
  // A member here hears every join once (its own too, as on one node), in
  // order.
  ann.ping();
  const auto seen = ann.presences();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].nick(), "ann");
  EXPECT_EQ(seen[1].nick(), "bob");
  EXPECT_EQ(seen[1].room(), "#hall");
  EXPECT_EQ(seen[2].nick(), "cat");

  // who, asked on every node: on a member's node, and on node2, where the
  // room has no member.
  TestClient dan(io_, port(2), "dan");
  for (TestClient* asker : {&ann, &bob, &dan}) {
    const auto w = who(*asker, "#hall");
    ASSERT_TRUE(w.has_who()) << w.DebugString();
    EXPECT_EQ(w.who().member_count(), 3u);
    EXPECT_EQ(nicks(w), (std::set<std::string>{"ann", "bob", "cat"}));
  }
  EXPECT_EQ(code_of(who(dan, "#nowhere")), v1::Error::CODE_NO_SUCH_ROOM);

  // A rename and a leave on node1 reach node0.
  const auto renamed = cat.rename("kit");
  ASSERT_TRUE(renamed.has_rename()) << renamed.DebugString();
  ASSERT_TRUE(ann.wait([&] {
    const auto all = ann.presences();
    return std::any_of(all.begin(), all.end(), [](const v1::Presence& p) {
      return p.kind() == v1::Presence::KIND_RENAMED && p.old_nick() == "cat" && p.nick() == "kit";
    });
  }));
  ASSERT_TRUE(bob.leave("#hall").has_leave());
  ASSERT_TRUE(ann.wait([&] { return heard(ann, "bob", v1::Presence::KIND_LEFT); }));
  EXPECT_EQ(nicks(who(dan, "#hall")), (std::set<std::string>{"ann", "kit"}));
  // The last member on a node leaving: the room goes from that node, its
  // members elsewhere stay.
  ASSERT_TRUE(ann.leave("#hall").has_leave());
  ASSERT_TRUE(wait_until([&] { return nicks(who(dan, "#hall")) == std::set<std::string>{"kit"}; }, 5s, 50ms));
  const auto last = who(ann, "#hall");
  EXPECT_EQ(last.who().member_count(), 1u) << last.DebugString();
}

TEST_F(ClusterPresenceTest, EveryNodeListsTheRoomsOfAllWithTheirMembersButNoneAPrivateOne) {
  TestClient ann(io_, port(0), "ann");
  TestClient bob(io_, port(1), "bob");
  TestClient cat(io_, port(2), "cat");
  ASSERT_TRUE(ann.join("#alpha").has_join());
  ASSERT_TRUE(bob.join("#alpha").has_join());
  ASSERT_TRUE(bob.join("#beta").has_join());
  ASSERT_TRUE(ann.join("#vault").has_join());
  // ann founded #vault on node0 and makes it secret.
  v1::SetModesRequest secret;
  secret.set_secret(true);
  const auto set = ann.call([&](client::Client& c, client::ReplyHandler h) { c.set_modes("#vault", secret, std::move(h)); });
  ASSERT_FALSE(set.has_error()) << set.DebugString();
  auto list = [](TestClient& c) {
    return c.call([](client::Client& cl, client::ReplyHandler h) { cl.list_rooms(std::move(h)); });
  };
  auto counts = [&](TestClient& asker) {
    const auto rooms = list(asker);
    std::map<std::string, std::uint32_t> out;
    for (const auto& r : rooms.list_rooms().rooms()) out[r.name()] = r.member_count();
    return out;
  };
  // cat's node holds no room; #beta is on node1 only; #vault is secret.
  // A join reaches Redis just after its reply: the lists agree soon after.
  const std::map<std::string, std::uint32_t> expected{{"#alpha", 2}, {"#beta", 1}};
  for (TestClient* asker : {&ann, &bob, &cat}) {
    EXPECT_TRUE(wait_until([&] { return counts(*asker) == expected; }, 5s, 50ms)) << list(*asker).DebugString();
  }
  ASSERT_TRUE(list(cat).has_list_rooms());
  // Nor does another node answer who for it.
  EXPECT_TRUE(wait_until([&] { return code_of(who(cat, "#vault")) == v1::Error::CODE_NOT_A_MEMBER; }, 5s, 50ms))
      << who(cat, "#vault").DebugString();
  EXPECT_TRUE(who(cat, "#beta").has_who());
}

TEST_F(ClusterPresenceTest, ANodeThatStopsTakesItsMembersAtOnceOneKilledWithinThirtySeconds) {
  TestClient ann(io_, port(0), "ann");
  TestClient yan(io_, port(1), "yan");
  TestClient zed(io_, port(2), "zed");
  for (TestClient* c : {&ann, &yan, &zed}) ASSERT_TRUE(c->join("#hall").has_join());
  ASSERT_TRUE(ann.wait([&] { return nicks(who(ann, "#hall")).size() == 3; }));

  // A clean stop: its members quit at once.
  ASSERT_EQ(nodes_[1]->stop(SIGTERM, 20s), 0);
  ASSERT_TRUE(ann.wait([&] { return heard(ann, "yan", v1::Presence::KIND_QUIT); }, 5s));
  EXPECT_EQ(nicks(who(ann, "#hall")), (std::set<std::string>{"ann", "zed"}));

  // A kill -9 cannot tell anyone: the others forget its members when its
  // liveness runs out.
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_EQ(nodes_[2]->stop(SIGKILL, 10s), 128 + SIGKILL);
  ASSERT_TRUE(ann.wait([&] { return heard(ann, "zed", v1::Presence::KIND_QUIT); }, 35s));
  EXPECT_LE(std::chrono::steady_clock::now() - killed, 31s);
  const auto w = who(ann, "#hall");
  EXPECT_EQ(w.who().member_count(), 1u);
  EXPECT_EQ(nicks(w), (std::set<std::string>{"ann"}));
  // Heard once each.
  const auto all = ann.presences();
  EXPECT_EQ(std::count_if(all.begin(), all.end(), [](const v1::Presence& p) { return p.nick() == "zed"; }), 2)
      << "zed's join and its quit";
}

}  // namespace
}  // namespace chat::testing
