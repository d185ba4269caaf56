// Issue 15: presence in big rooms (coalesced deltas) and pages of members.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "server/chat/room_shard.hpp"
#include "support/fake_router.hpp"
#include "support/fake_store.hpp"

namespace chat::server {
namespace {

using testing::FakeHistoryStore;
using testing::FakeRouter;

SessionId session(std::uint32_t i) { return make_session_id(i % 2, i + 1); }
std::string nick(std::uint32_t i) { return "user" + std::to_string(1000 + i); }

class RoomPresenceTest : public ::testing::Test {
 protected:
  RoomPresenceTest() { config_.presence_full_below = 3; }

  void join(std::uint32_t i) { shard_.on(msg::Join{"#big", nick(i), session(i), 100 + i}); }
  void leave(std::uint32_t i) { shard_.on(msg::Leave{"#big", nick(i), session(i), 200 + i}); }

  // What reached members since the last call: (Presence frames, deltas).
  struct Seen {
    std::vector<v1::Presence> presences;
    std::vector<v1::PresenceDelta> deltas;
  };
  Seen seen() {
    Seen out;
    for (const auto& [to, d] : router_.sent_of<msg::Deliver>()) {
      if (to != 0) continue;  // every reactor gets the same frame; read one
      const v1::ServerFrame f = FakeRouter::decode(*d.frame);
      if (f.has_presence()) out.presences.push_back(f.presence());
      if (f.has_presence_delta()) out.deltas.push_back(f.presence_delta());
    }
    router_.sent.clear();
    return out;
  }
  v1::ServerFrame who(const std::string& cursor, std::uint32_t limit) {
    msg::RoomQuery q;
    q.kind = msg::RoomQuery::Kind::kWho;
    q.room = "#big";
    q.cursor = cursor;
    q.limit = limit;
    q.session = session(0);
    shard_.on(std::move(q));
    auto replies = router_.replies_to(session(0));
    router_.sent.clear();
    return replies.back();
  }

  Config config_;
  FakeRouter router_;
  FakeHistoryStore store_;
  ReactorMetrics metrics_;
  FanOut fan_out_{router_};
  LocalSequencer sequencer_{router_, store_, fan_out_};
  RoomShard shard_{config_, router_, store_, fan_out_, sequencer_, metrics_};
};

TEST_F(RoomPresenceTest, ASmallRoomAnnouncesEachJoinAndABigOneCoalescesThemIntoOneDelta) {
  join(0);
  join(1);
  join(2);  // the room had 2 members: still announced
  EXPECT_EQ(seen().presences.size(), 3u);
  join(3);
  join(4);
  leave(2);
  Seen quiet = seen();
  EXPECT_TRUE(quiet.presences.empty()) << "a room of 3 or more notes its changes";
  EXPECT_TRUE(quiet.deltas.empty()) << "until the tick";

  shard_.flush_presence(10'000);
  Seen after = seen();
  ASSERT_EQ(after.deltas.size(), 1u);
  const v1::PresenceDelta& d = after.deltas[0];
  EXPECT_EQ(d.room(), "#big");
  EXPECT_EQ(d.member_count(), 4u);
  EXPECT_EQ(d.joined_count(), 2u);
  EXPECT_EQ(d.left_count(), 1u);
  EXPECT_EQ(std::set<std::string>(d.joined().begin(), d.joined().end()), (std::set<std::string>{nick(3), nick(4)}));
  EXPECT_EQ(std::vector<std::string>(d.left().begin(), d.left().end()), (std::vector<std::string>{nick(2)}));
  EXPECT_EQ(router_.sent_of<msg::Deliver>().size(), 0u);
}

TEST_F(RoomPresenceTest, SendsAtMostOneDeltaASecondAndLeavesOutWhoCameAndWent) {
  for (std::uint32_t i = 0; i < 5; ++i) join(i);
  shard_.flush_presence(10'000);
  seen();
  join(5);
  leave(5);  // came and went: nobody needs to hear of it
  join(6);
  shard_.flush_presence(10'500);
  EXPECT_TRUE(seen().deltas.empty()) << "half a second after the last delta";
  shard_.flush_presence(11'000);
  Seen s = seen();
  ASSERT_EQ(s.deltas.size(), 1u);
  EXPECT_EQ(s.deltas[0].joined_count(), 1u);
  EXPECT_EQ(s.deltas[0].joined(0), nick(6));
  EXPECT_EQ(s.deltas[0].left_count(), 0u);
  EXPECT_EQ(s.deltas[0].member_count(), 6u);

  join(7);
  leave(7);
  shard_.flush_presence(20'000);
  EXPECT_TRUE(seen().deltas.empty()) << "no net change, no frame";
}

TEST_F(RoomPresenceTest, ARenameInABigRoomIsTheOldNickLeavingAndTheNewOneJoining) {
  for (std::uint32_t i = 0; i < 4; ++i) join(i);
  shard_.flush_presence(10'000);
  seen();
  shard_.on(msg::Rename{"#big", session(1), nick(1), "zed"});
  shard_.flush_presence(20'000);
  Seen s = seen();
  ASSERT_EQ(s.deltas.size(), 1u);
  EXPECT_EQ(s.deltas[0].joined(0), "zed");
  EXPECT_EQ(s.deltas[0].left(0), nick(1));
  EXPECT_EQ(s.deltas[0].member_count(), 4u);
  EXPECT_EQ(who("", 0).who().nicks(3), "zed") << "the roster follows the rename";
}

TEST_F(RoomPresenceTest, DeltaListsStayUnder2KiBWhateverTheRoomSizeAndTheCountsStayExact) {
  for (std::uint32_t i = 0; i < 3; ++i) join(i);
  seen();
  for (std::uint32_t i = 3; i < 3003; ++i) join(i);
  shard_.flush_presence(10'000);
  Seen s = seen();
  ASSERT_EQ(s.deltas.size(), 1u);
  const v1::PresenceDelta& d = s.deltas[0];
  EXPECT_EQ(d.joined_count(), 3000u);
  EXPECT_EQ(d.member_count(), 3003u);
  std::size_t bytes = 0;
  for (const auto& n : d.joined()) bytes += n.size() + 2;
  EXPECT_LE(bytes, 2048u);
  EXPECT_GT(d.joined_size(), 100) << "the list is not left empty either";
  EXPECT_LT(d.ByteSizeLong(), 2200u);
}

TEST_F(RoomPresenceTest, AChangeNotedBeforeTheRoomShrankGoesOutBeforeTheNextPresence) {
  for (std::uint32_t i = 0; i < 4; ++i) join(i);
  shard_.flush_presence(10'000);
  seen();
  leave(3);  // 4 -> 3 members: noted
  leave(2);  // 3 -> 2: noted as well (the room had 3 when it changed)
  leave(1);  // 2 -> 1: announced, after the noted ones
  std::vector<std::string> order;
  for (const auto& [to, d] : router_.sent_of<msg::Deliver>()) {
    if (to != 0) continue;
    const v1::ServerFrame f = FakeRouter::decode(*d.frame);
    if (f.has_presence_delta()) order.push_back("delta of " + std::to_string(f.presence_delta().left_count()));
    if (f.has_presence()) order.push_back("presence " + f.presence().nick());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"delta of 2", "presence " + nick(1)}));
}

TEST_F(RoomPresenceTest, TheJoinReplyCarriesTheCountAndAFirstPageAndWhoPagesThroughEveryone) {
  config_.presence_full_below = 10;
  for (std::uint32_t i = 0; i < 25; ++i) join(i);
  const auto replies = router_.replies_to(session(24));
  ASSERT_TRUE(replies.back().has_join());
  const v1::JoinReply& j = replies.back().join();
  EXPECT_EQ(j.member_count(), 25u);
  ASSERT_EQ(j.members_size(), 10);
  EXPECT_EQ(j.members(0), nick(0));
  EXPECT_EQ(j.members_next_cursor(), nick(9));

  std::vector<std::string> all(j.members().begin(), j.members().end());
  std::string cursor = j.members_next_cursor();
  int pages = 0;
  while (!cursor.empty() && pages++ < 10) {
    const v1::ServerFrame f = who(cursor, 7);
    EXPECT_EQ(f.who().member_count(), 25u);
    EXPECT_LE(f.who().nicks_size(), 7);
    all.insert(all.end(), f.who().nicks().begin(), f.who().nicks().end());
    cursor = f.who().next_cursor();
  }
  std::vector<std::string> expected;
  for (std::uint32_t i = 0; i < 25; ++i) expected.push_back(nick(i));
  EXPECT_EQ(all, expected) << "every member once, in nick order";
  EXPECT_EQ(pages, 3);  // 15 left after the join page: 7 + 7 + 1
}

TEST_F(RoomPresenceTest, AWhoPageNeverSplitsSessionsThatShareANick) {
  for (std::uint32_t i = 0; i < 3; ++i) join(i);
  shard_.on(msg::Rename{"#big", session(2), nick(2), nick(1)});  // a rename race left two of one nick
  const v1::ServerFrame first = who("", 2);
  ASSERT_EQ(first.who().nicks_size(), 3) << "the page grows to keep the pair together";
  EXPECT_EQ(first.who().next_cursor(), "");
  const v1::ServerFrame none = who(nick(1), 2);
  EXPECT_EQ(none.who().nicks_size(), 0);
  EXPECT_EQ(none.who().member_count(), 3u);
}

TEST_F(RoomPresenceTest, ASmallRoomsJoinReplyStillListsEveryMember) {
  config_.presence_full_below = 200;
  for (std::uint32_t i = 0; i < 150; ++i) join(i);
  const auto replies = router_.replies_to(session(149));
  EXPECT_EQ(replies.back().join().members_size(), 150);
  EXPECT_EQ(replies.back().join().members_next_cursor(), "");
}

}  // namespace
}  // namespace chat::server
