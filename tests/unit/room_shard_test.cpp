#include "server/chat/room_shard.hpp"

#include <gtest/gtest.h>

#include "support/fake_router.hpp"
#include "support/fake_store.hpp"

#include <set>
#include <vector>

namespace chat::server {
namespace {

using testing::FakeHistoryStore;
using testing::FakeRouter;

class RoomShardTest : public ::testing::Test {
 protected:
  RoomShardTest() {
    store_.keep = 10;  // a store that holds the newest 10 of each room
    config_.replay_on_join = 3;
    config_.max_history_page = 4;
  }
  void publish(int n) {
    for (int i = 0; i < n; ++i) shard_.on(msg::Publish{"#r", "ann", "m" + std::to_string(i), 0, kAnn, 0});
  }
  msg::RoomQuery history(std::uint64_t before, std::optional<std::uint64_t> after, std::uint32_t limit) {
    msg::RoomQuery q;
    q.kind = msg::RoomQuery::Kind::kHistory;
    q.room = "#r";
    q.before_seq = before;
    q.has_after = after.has_value();
    q.after_seq = after.value_or(0);
    q.limit = limit;
    q.session = kBob;
    return q;
  }
  std::vector<std::uint64_t> seqs_of_last_history_reply() {
    auto replies = router_.replies_to(kBob);
    std::vector<std::uint64_t> seqs;
    for (const auto& m : replies.back().history().messages()) seqs.push_back(m.seq());
    return seqs;
  }

  static constexpr SessionId kAnn = (0ull << kReactorShift) | 1;
  static constexpr SessionId kBob = (1ull << kReactorShift) | 2;
  Config config_;
  FakeRouter router_;
  FakeHistoryStore store_;
  ReactorMetrics metrics_;
  FanOut fan_out_{router_};
  LocalSequencer sequencer_{router_, store_, fan_out_};
  RoomShard shard_{config_, router_, store_, fan_out_, sequencer_, metrics_};
};

TEST_F(RoomShardTest, SequencesGaplesslyAndFansOutOncePerReactor) {
  shard_.on(msg::Join{"#r", "ann", kAnn, 1});
  shard_.on(msg::Join{"#r", "bob", kBob, 2});
  router_.sent.clear();
  publish(3);
  std::vector<std::uint64_t> seqs;
  int delivers = 0;
  for (const auto& [to, m] : router_.sent) {
    const auto& d = std::get<msg::Deliver>(m);
    ++delivers;
    if (to == 0) {
      ASSERT_TRUE(d.sender_frame) << "the sender's reactor gets the sender's own copy";
      seqs.push_back(FakeRouter::decode(*d.frame).message().seq());
    } else {
      EXPECT_FALSE(d.sender_frame);
    }
  }
  EXPECT_EQ(delivers, 6);  // 3 messages x 2 reactors, not x members
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST_F(RoomShardTest, ReplaysTheNewestMessagesToAJoiner) {
  shard_.on(msg::Join{"#r", "ann", kAnn, 1});
  publish(5);
  shard_.on(msg::Join{"#r", "bob", kBob, 7});
  const auto join = router_.replies_to(kBob).back().join();
  ASSERT_EQ(join.recent_size(), 3);
  EXPECT_EQ(join.recent(0).seq(), 3u);
  EXPECT_EQ(join.recent(2).seq(), 5u);
  EXPECT_EQ(join.last_seq(), 5u);
  EXPECT_EQ(join.members_size(), 2);
}

TEST_F(RoomShardTest, PagesHistoryBothWaysAndForgetsTheOldest) {
  shard_.on(msg::Join{"#r", "ann", kAnn, 1});
  publish(15);  // the store keeps 6..15
  shard_.on(history(0, std::nullopt, 0));
  EXPECT_EQ(seqs_of_last_history_reply(), (std::vector<std::uint64_t>{12, 13, 14, 15}));
  EXPECT_EQ(router_.replies_to(kBob).back().history().first_available_seq(), 6u);
  shard_.on(history(12, std::nullopt, 2));
  EXPECT_EQ(seqs_of_last_history_reply(), (std::vector<std::uint64_t>{10, 11}));
  shard_.on(history(0, 0, 100));  // after 0: from the oldest held, capped at the page size
  EXPECT_EQ(seqs_of_last_history_reply(), (std::vector<std::uint64_t>{6, 7, 8, 9}));
  shard_.on(history(0, 13, 0));
  EXPECT_EQ(seqs_of_last_history_reply(), (std::vector<std::uint64_t>{14, 15}));
  shard_.on(history(0, 15, 0));
  EXPECT_TRUE(seqs_of_last_history_reply().empty());
  shard_.on(history(0, 99, 0));  // past the newest
  EXPECT_TRUE(seqs_of_last_history_reply().empty());
  shard_.on(history(0, UINT64_MAX, 0));  // after_seq + 1 must not wrap round to the oldest
  EXPECT_TRUE(seqs_of_last_history_reply().empty());
  shard_.on(history(3, std::nullopt, 0));  // everything before 3 is gone
  EXPECT_TRUE(seqs_of_last_history_reply().empty());
}

TEST_F(RoomShardTest, CutsReplaysAndHistoryPagesToTheReplySizeAndSaysSo) {
  config_.max_reply_bytes = 1000;  // about two of these messages
  config_.max_history_page = 10;
  config_.replay_on_join = 10;
  shard_.on(msg::Join{"#r", "ann", kAnn, 1});
  for (int i = 0; i < 8; ++i) shard_.on(msg::Publish{"#r", "ann", std::string(400, 'x'), 0, kAnn, 0});
  shard_.on(msg::Join{"#r", "bob", kBob, 7});
  const auto join = router_.replies_to(kBob).back().join();
  EXPECT_TRUE(join.recent_truncated());
  ASSERT_EQ(join.recent_size(), 2);
  EXPECT_EQ(join.recent(1).seq(), 8u);  // the newest kept
  // A before page keeps the newest, an after page the oldest; both say so.
  shard_.on(history(0, std::nullopt, 0));
  EXPECT_EQ(seqs_of_last_history_reply(), (std::vector<std::uint64_t>{7, 8}));
  EXPECT_TRUE(router_.replies_to(kBob).back().history().truncated());
  shard_.on(history(0, 0, 0));
  EXPECT_EQ(seqs_of_last_history_reply(), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(router_.replies_to(kBob).back().history().truncated());
  // A page that fits is whole and says nothing; one message always goes.
  shard_.on(history(0, 6, 2));
  EXPECT_EQ(seqs_of_last_history_reply(), (std::vector<std::uint64_t>{7, 8}));
  EXPECT_FALSE(router_.replies_to(kBob).back().history().truncated());
  config_.max_reply_bytes = 10;
  shard_.on(history(0, std::nullopt, 0));
  EXPECT_EQ(seqs_of_last_history_reply(), (std::vector<std::uint64_t>{8}));
}

TEST_F(RoomShardTest, ListsRoomsInNameOrderAfterTheCursorUpToTheLimit) {
  for (const char* room : {"#d", "#b", "#e", "#a", "#c"}) shard_.on(msg::Join{room, "ann", kAnn, 1});
  bool more = false;
  auto names = [](const std::vector<v1::RoomInfo>& rooms) {
    std::vector<std::string> out;
    for (const auto& r : rooms) out.push_back(r.name());
    return out;
  };
  EXPECT_EQ(names(shard_.list("", 2, more)), (std::vector<std::string>{"#a", "#b"}));
  EXPECT_TRUE(more);
  EXPECT_EQ(names(shard_.list("#b", 2, more)), (std::vector<std::string>{"#c", "#d"}));
  EXPECT_TRUE(more);
  EXPECT_EQ(names(shard_.list("#d", 2, more)), (std::vector<std::string>{"#e"}));
  EXPECT_FALSE(more);
  EXPECT_TRUE(shard_.list("#e", 2, more).empty());
  EXPECT_FALSE(more);
}

TEST_F(RoomShardTest, RejectsAPublishFromANonMember) {
  shard_.on(msg::Join{"#r", "ann", kAnn, 1});
  shard_.on(msg::Publish{"#r", "bob", "hi", 0, kBob, 9});
  auto replies = router_.replies_to(kBob);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].error().code(), v1::Error::CODE_NOT_A_MEMBER);
  EXPECT_EQ(replies[0].request_id(), 9u);
}

TEST_F(RoomShardTest, DropsAnEmptyRoomThatNeverSpoke) {
  shard_.on(msg::Join{"#r", "ann", kAnn, 1});
  shard_.on(msg::Leave{"#r", "ann", kAnn, 2});
  EXPECT_EQ(shard_.room_count(), 0u);
  shard_.on(msg::Join{"#r", "ann", kAnn, 3});
  publish(1);
  shard_.on(msg::Leave{"#r", "ann", kAnn, 4});
  EXPECT_EQ(shard_.room_count(), 1u) << "a room with history stays";
}

TEST_F(RoomShardTest, KeepsAnEmptyRoomWithATopic) {
  shard_.on(msg::Join{"#r", "ann", kAnn, 1});
  msg::RoomQuery q;
  q.kind = msg::RoomQuery::Kind::kSetTopic;
  q.room = "#r";
  q.nick = "ann";
  q.topic = "stays";
  q.session = kAnn;
  shard_.on(std::move(q));
  shard_.on(msg::Leave{"#r", "ann", kAnn, 2});
  EXPECT_EQ(shard_.room_count(), 1u);
}

TEST_F(RoomShardTest, RefusesToCreateARoomPastItsShareOfTheCap) {
  config_.max_rooms = 3;  // two shards: ceil(3 / 2) = 2 each
  EXPECT_EQ(shard_.room_cap(), 2u);
  shard_.on(msg::Join{"#a", "ann", kAnn, 1, 1});
  shard_.on(msg::Join{"#b", "ann", kAnn, 2, 2});
  router_.sent.clear();
  shard_.on(msg::Join{"#c", "ann", kAnn, 3, 3});
  EXPECT_EQ(shard_.room_count(), 2u);
  ASSERT_EQ(router_.sent.size(), 1u) << "no presence for a join that did not happen";
  const auto& [to, m] = router_.sent[0];
  EXPECT_EQ(to, 0u) << "to the session's reactor";
  const auto& refused = std::get<msg::JoinRefused>(m);
  EXPECT_EQ(refused.room, "#c");
  EXPECT_EQ(refused.join, 3u) << "so the session can tell which join it answers";
  EXPECT_EQ(refused.code, v1::Error::CODE_TOO_MANY_ROOMS);
  const auto error = FakeRouter::decode(*refused.reply);
  EXPECT_EQ(error.error().code(), v1::Error::CODE_TOO_MANY_ROOMS);
  EXPECT_EQ(error.request_id(), 3u);

  // At the cap a room that exists can still be joined.
  shard_.on(msg::Join{"#a", "bob", kBob, 4, 1});
  EXPECT_TRUE(router_.replies_to(kBob).back().has_join());
  // A message-less room that empties makes space.
  shard_.on(msg::Leave{"#b", "ann", kAnn, 5});
  shard_.on(msg::Join{"#c", "ann", kAnn, 6, 4});
  EXPECT_TRUE(router_.replies_to(kAnn).back().has_join());
  EXPECT_EQ(shard_.room_count(), 2u);
}

TEST_F(RoomShardTest, AtTheCapANewRoomTakesTheSlotOfTheRoomEmptyLongest) {
  config_.max_rooms = 4;  // two shards: two rooms each
  auto speak_and_leave = [&](const std::string& room, std::uint64_t join) {
    shard_.on(msg::Join{room, "ann", kAnn, join, join});
    shard_.on(msg::Publish{room, "ann", "kept", 0, kAnn, 0});
    shard_.on(msg::Leave{room, "ann", kAnn, join});
  };
  speak_and_leave("#old", 1);
  speak_and_leave("#newer", 2);
  ASSERT_EQ(shard_.room_count(), 2u);
  // Rejoining #old takes it off the empty list; leaving puts it at the back.
  shard_.on(msg::Join{"#old", "bob", kBob, 3, 3});
  const std::uint64_t first_life = router_.replies_to(kBob).back().join().incarnation();
  EXPECT_EQ(router_.replies_to(kBob).back().join().last_seq(), 1u);
  shard_.on(msg::Leave{"#old", "bob", kBob, 4});

  router_.sent.clear();
  shard_.on(msg::Join{"#third", "cat", kBob, 5, 5});
  ASSERT_TRUE(router_.replies_to(kBob).back().has_join()) << "a slot was reclaimed";
  EXPECT_EQ(shard_.room_count(), 2u);
  EXPECT_EQ(metrics_.rooms_reclaimed.load(), 1u);
  std::set<std::string> names;
  bool more = true;
  for (const auto& info : shard_.list("", 100, more)) names.insert(info.name());
  EXPECT_FALSE(more);
  EXPECT_EQ(names, (std::set<std::string>{"#old", "#third"})) << "#newer had been empty longest";

  // #old, reclaimed in its turn, comes back as a new room.
  shard_.on(msg::Leave{"#third", "cat", kBob, 6});  // never spoke: deleted
  shard_.on(msg::Publish{"#old", "ann", "x", 0, kAnn, 0});  // not a member: refused, changes nothing
  shard_.on(msg::Join{"#a1", "ann", kAnn, 7, 7});
  shard_.on(msg::Publish{"#a1", "ann", "busy", 0, kAnn, 0});  // #a1 keeps its member
  shard_.on(msg::Join{"#a2", "ann", kAnn, 8, 8});              // takes #old's slot
  EXPECT_EQ(metrics_.rooms_reclaimed.load(), 2u);
  shard_.on(msg::Leave{"#a2", "ann", kAnn, 9});  // never spoke: deleted
  shard_.on(msg::Join{"#old", "bob", kBob, 10, 10});
  const auto again = router_.replies_to(kBob).back().join();
  EXPECT_EQ(again.last_seq(), 0u);
  EXPECT_EQ(again.recent_size(), 0);
  EXPECT_NE(again.incarnation(), first_life);
}

TEST_F(RoomShardTest, NeverReclaimsARoomWithMembers) {
  config_.max_rooms = 4;
  shard_.on(msg::Join{"#a", "ann", kAnn, 1, 1});
  shard_.on(msg::Publish{"#a", "ann", "here", 0, kAnn, 0});
  shard_.on(msg::Join{"#b", "bob", kBob, 2, 2});
  router_.sent.clear();
  shard_.on(msg::Join{"#c", "bob", kBob, 3, 3});
  EXPECT_EQ(router_.replies_to(kBob).back().error().code(), v1::Error::CODE_TOO_MANY_ROOMS);
  EXPECT_EQ(metrics_.rooms_reclaimed.load(), 0u);
  EXPECT_EQ(shard_.room_count(), 2u);
}

TEST_F(RoomShardTest, EchoesTheJoinNumber) {
  shard_.on(msg::Join{"#r", "ann", kAnn, 1, 42});
  const auto& joined = std::get<msg::Joined>(router_.sent.at(0).second);
  EXPECT_EQ(joined.join, 42u);
}

TEST_F(RoomShardTest, StoresEachMessageWithItsSeqAndReplaysFromTheStore) {
  shard_.on(msg::Join{"#r", "ann", kAnn, 1});
  publish(3);
  const auto& stored = store_.messages["#r"];
  ASSERT_EQ(stored.size(), 3u);
  for (std::size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i].seq(), i + 1);
    EXPECT_EQ(stored[i].sender(), "ann");
    EXPECT_EQ(stored[i].text(), "m" + std::to_string(i));
    EXPECT_EQ(stored[i].client_msg_id(), 0u) << "the stored copy is the one every member sees";
  }
  const int reads_before = store_.reads;
  shard_.on(msg::Join{"#r", "bob", kBob, 2});
  EXPECT_EQ(store_.reads, reads_before + 1) << "the join replay is read from the store";
  EXPECT_EQ(router_.replies_to(kBob).back().join().recent_size(), 3);
}

TEST_F(RoomShardTest, LoadsItsRoomsFromTheStoreAndContinuesTheirNumbering) {
  FakeHistoryStore store;
  store.preloaded.push_back(StoredRoom{"#kept", 7, "still here", "ann", 41});
  RoomShard shard(config_, router_, store, fan_out_, sequencer_, metrics_);
  EXPECT_EQ(shard.room_count(), 1u);
  EXPECT_EQ(metrics_.rooms.load(), 1u);
  shard.on(msg::Join{"#kept", "bob", kBob, 1});
  const auto join = router_.replies_to(kBob).back().join();
  EXPECT_EQ(join.last_seq(), 41u);
  EXPECT_EQ(join.topic(), "still here");
  EXPECT_EQ(join.incarnation(), 7u);
  EXPECT_TRUE(store.created.empty()) << "a loaded room is not created again";
}

TEST_F(RoomShardTest, NewRoomsTakeTheirIncarnationFromTheStoreAndTopicsGoToIt) {
  shard_.on(msg::Join{"#r", "ann", kAnn, 1});
  EXPECT_EQ(router_.replies_to(kAnn).back().join().incarnation(), 100u);
  EXPECT_EQ(store_.created, (std::vector<std::string>{"#r"}));
  msg::RoomQuery q;
  q.kind = msg::RoomQuery::Kind::kSetTopic;
  q.room = "#r";
  q.nick = "ann";
  q.topic = "kept";
  q.session = kAnn;
  shard_.on(std::move(q));
  EXPECT_EQ(store_.topics["#r"], (std::pair<std::string, std::string>{"kept", "ann"}));
}

TEST_F(RoomShardTest, AReclaimedSlotIsDroppedFromTheStore) {
  config_.max_rooms = 2;  // one room per shard
  shard_.on(msg::Join{"#old", "ann", kAnn, 1, 1});
  shard_.on(msg::Publish{"#old", "ann", "kept", 0, kAnn, 0});
  shard_.on(msg::Leave{"#old", "ann", kAnn, 2});
  EXPECT_TRUE(store_.dropped.empty()) << "an empty room with history is kept";
  shard_.on(msg::Join{"#new", "ann", kAnn, 3, 3});
  EXPECT_EQ(store_.dropped, (std::vector<std::string>{"#old"}));
  EXPECT_EQ(store_.first_seq("#old"), 0u);
}

TEST_F(RoomShardTest, ARoomTheStoreKeptComesBackAsItWasWhenJoinedAgain) {
  store_.evicted["#kept"] = StoredRoom{"#kept", 9, "old topic", "ann", 12, {}};
  shard_.on(msg::Join{"#kept", "bob", kBob, 1, 1});
  const auto join = router_.replies_to(kBob).back().join();
  EXPECT_EQ(join.last_seq(), 12u);
  EXPECT_EQ(join.incarnation(), 9u);
  EXPECT_EQ(join.topic(), "old topic");
  EXPECT_TRUE(store_.created.empty());
}

// A sequencer that only records: the shard hands it each member's say and
// nothing else, so a cluster sequencer can take the local one's place.
class RecordingSequencer : public Sequencer {
 public:
  void publish(RoomState& room, msg::Publish&& m) override { says.emplace_back(room.name, m.text); }
  void on_durable(RoomState&, std::uint64_t) override {}
  void on_store_health(const msg::StoreHealth&) override {}
  void remember(const std::string&, const std::vector<RecentSend>&) override {}
  std::vector<std::pair<std::string, std::string>> says;
};

TEST_F(RoomShardTest, HandsEachSayFromAMemberToItsSequencer) {
  RecordingSequencer recorder;
  RoomShard shard(config_, router_, store_, fan_out_, recorder, metrics_);
  shard.on(msg::Join{"#r", "ann", kAnn, 1});
  shard.on(msg::Publish{"#r", "ann", "hello", 0, kAnn, 2});
  shard.on(msg::Publish{"#r", "bob", "not a member", 0, kBob, 3});
  EXPECT_EQ(recorder.says, (std::vector<std::pair<std::string, std::string>>{{"#r", "hello"}}));
  EXPECT_EQ(router_.replies_to(kBob).back().error().code(), v1::Error::CODE_NOT_A_MEMBER);
  EXPECT_TRUE(store_.messages["#r"].empty()) << "storing is the sequencer's job";
}

}  // namespace
}  // namespace chat::server
