// The room limits: --max-rooms (the rooms the server holds, a share per
// reactor shard) and --max-joined (the rooms one connection is in). Each is
// crossed, the typed error checked, the refused connection shown to stay
// usable, and a bystander shown to be unaffected.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "support/frames.hpp"
#include "support/owners.hpp"
#include "support/server_fixture.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

server::Config limits_config(unsigned reactors, std::size_t max_rooms, std::size_t max_joined) {
  auto c = test_config(reactors);
  c.rate_per_sec = 0;
  c.max_rooms = max_rooms;
  c.max_joined = max_joined;
  // These tests fill and churn slots from one connection and one address;
  // the creation budgets (issue 12) have tests of their own.
  c.room_create_per_min = 1'000;
  c.room_create_per_address = 100'000;
  return c;
}

// Reads until every id in `ids` is answered; returns the answers by id.
std::map<std::uint64_t, v1::ServerFrame> answers(RawConnection& conn, const std::set<std::uint64_t>& ids) {
  std::map<std::uint64_t, v1::ServerFrame> out;
  while (out.size() < ids.size()) {
    auto f = conn.read_frame();
    if (!f) break;
    if (ids.contains(f->request_id())) out.emplace(f->request_id(), *f);
  }
  return out;
}

// The rooms `nick` is a member of, as the room owners see it.
std::set<std::string> rooms_of(TestClient& asker, const std::string& nick) {
  auto list = asker.call([](client::Client& c, client::ReplyHandler h) { c.list_rooms(std::move(h)); });
  std::set<std::string> out;
  for (const auto& room : list.list_rooms().rooms()) {
    auto who = asker.call([name = room.name()](client::Client& c, client::ReplyHandler h) { c.who(name, std::move(h)); });
    for (const auto& n : who.who().nicks()) {
      if (n == nick) out.insert(room.name());
    }
  }
  return out;
}

class RoomLimitsTest : public ::testing::Test {
 protected:
  explicit RoomLimitsTest(server::Config config) : server_(std::move(config)) {}

  // A bystander and a speaker in #calm; the speaker talks while the test
  // runs, and the bystander must get every message.
  void start_bystander() {
    bystander_ = std::make_unique<TestClient>(io_, server_.port(), "bystander");
    speaker_ = std::make_unique<TestClient>(io_, server_.port(), "speaker");
    ASSERT_TRUE(bystander_->join("#calm").has_join());
    ASSERT_TRUE(speaker_->join("#calm").has_join());
  }
  void speak() {
    const auto n = ++spoken_;
    ASSERT_TRUE(speaker_->say("#calm", "calm " + std::to_string(n), n).has_message());
  }
  // The bystander got all `expected` messages of #calm, gapless, and no error.
  void expect_bystander_got(std::size_t expected) {
    ASSERT_TRUE(bystander_->wait_messages("#calm", expected));
    const auto seen = bystander_->messages("#calm");
    ASSERT_EQ(seen.size(), expected);
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].seq(), i + 1);
    EXPECT_TRUE(bystander_->errors().empty());
    EXPECT_FALSE(bystander_->disconnected());
  }

  RunningServer server_;
  IoThread io_;
  std::unique_ptr<TestClient> bystander_;
  std::unique_ptr<TestClient> speaker_;
  std::uint64_t spoken_ = 0;
};

class MaxRoomsTest : public RoomLimitsTest {
 protected:
  // One reactor: one shard holding all four rooms, so the count is exact.
  MaxRoomsTest() : RoomLimitsTest(limits_config(1, 4, 100)) {}
};

TEST_F(MaxRoomsTest, CreatingOneRoomTooManyIsRefusedAndEverythingElseCarriesOn) {
  start_bystander();  // #calm: room 1
  TestClient creator(io_, server_.port(), "creator");
  EXPECT_EQ(creator.welcome().limits().max_rooms(), 4u);
  EXPECT_EQ(creator.welcome().limits().max_joined(), 100u);
  for (const char* room : {"#one", "#two", "#three"}) {
    ASSERT_TRUE(creator.join(room).has_join()) << room;
    speak();
  }
  EXPECT_EQ(server_->metrics().rooms, 4u);

  auto refused = creator.join("#four");
  EXPECT_EQ(code_of(refused), v1::Error::CODE_TOO_MANY_ROOMS) << refused.DebugString();
  EXPECT_EQ(refused.error().request_id(), refused.request_id());
  speak();
  EXPECT_EQ(code_of(creator.join("#four")), v1::Error::CODE_TOO_MANY_ROOMS) << "and again";
  EXPECT_EQ(server_->metrics().rooms, 4u);
  EXPECT_EQ(server_->metrics().errors_of(v1::Error::CODE_TOO_MANY_ROOMS), 2u);

  // The refused join left nothing behind: the connection is not in #four.
  EXPECT_EQ(code_of(creator.say("#four", "anyone?", 1)), v1::Error::CODE_NOT_A_MEMBER);
  EXPECT_EQ(code_of(creator.leave("#four")), v1::Error::CODE_NOT_A_MEMBER);
  // Joining a room that exists still works at the cap, and so does talking.
  ASSERT_TRUE(creator.join("#calm").has_join());
  auto own = creator.say("#calm", "made it", 2);
  ASSERT_TRUE(own.has_message()) << own.DebugString();
  speak();
  EXPECT_TRUE(creator.ping().has_pong());
  EXPECT_FALSE(creator.disconnected());

  // Once a message-less room empties it is gone, and #four fits.
  ASSERT_TRUE(creator.leave("#one").has_leave());
  ASSERT_TRUE(creator.join("#four").has_join());
  speak();
  expect_bystander_got(spoken_ + 1);  // the speaker's messages and the creator's
}

class ShardedMaxRoomsTest : public RoomLimitsTest {
 protected:
  ShardedMaxRoomsTest() : RoomLimitsTest(limits_config(2, 4, 100)) {}
};

TEST_F(ShardedMaxRoomsTest, EachReactorHoldsItsShareOfTheCap) {
  start_bystander();
  // Four rooms over two reactors: each shard holds at most two. Fill the
  // shard that does not own #calm with two rooms; a third room there is
  // refused though the server holds only three in all.
  const std::uint32_t shard = (room_owner("#calm", 2) + 1) % 2;
  std::vector<std::string> names;
  for (int i = 0; names.size() < 3; ++i) {
    const std::string name = "#s" + std::to_string(i);
    if (room_owner(name, 2) == shard) names.push_back(name);
  }
  TestClient creator(io_, server_.port(), "creator");
  ASSERT_TRUE(creator.join(names[0]).has_join());
  ASSERT_TRUE(creator.join(names[1]).has_join());
  speak();
  EXPECT_EQ(code_of(creator.join(names[2])), v1::Error::CODE_TOO_MANY_ROOMS);
  EXPECT_EQ(server_->metrics().rooms, 3u);
  // The other shard has room for one more besides #calm.
  std::string other;
  for (int i = 0; other.empty(); ++i) {
    const std::string name = "#o" + std::to_string(i);
    if (room_owner(name, 2) != shard) other = name;
  }
  ASSERT_TRUE(creator.join(other).has_join());
  speak();
  EXPECT_EQ(server_->metrics().rooms, 4u);
  expect_bystander_got(spoken_);
}

TEST_F(ShardedMaxRoomsTest, AtTheCapTheRoomEmptyLongestMakesWayAndComesBackNew) {
  start_bystander();
  // Join, say something, leave, over and over: each room keeps its history
  // while there is space, and at the cap the room that has been empty
  // longest on that shard gives up its slot. #calm, which has members, stays.
  TestClient filler(io_, server_.port(), "filler");
  std::uint64_t first_life = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string room = "#h" + std::to_string(i);
    auto join = filler.join(room);
    ASSERT_TRUE(join.has_join()) << room << ": " << join.DebugString();
    if (i == 0) first_life = join.join().incarnation();
    ASSERT_TRUE(filler.say(room, "history of " + room, i + 1).has_message());
    ASSERT_TRUE(filler.leave(room).has_leave());
    if (i % 8 == 0) speak();
  }
  EXPECT_EQ(server_->metrics().rooms, 4u) << "#calm and three more fill both shards' two";
  EXPECT_EQ(server_->metrics().rooms_reclaimed, 37u);
  EXPECT_EQ(server_->metrics().errors_of(v1::Error::CODE_TOO_MANY_ROOMS), 0u);

  // The newest room of each shard is still there with its history...
  TestClient late(io_, server_.port(), "late");
  auto kept = late.join("#h39");
  ASSERT_TRUE(kept.has_join()) << kept.DebugString();
  ASSERT_EQ(kept.join().recent_size(), 1);
  EXPECT_EQ(kept.join().recent(0).text(), "history of #h39");
  EXPECT_EQ(kept.join().last_seq(), 1u);
  // ...and the first one, reclaimed long ago, comes back new: no history, a
  // new incarnation, so a client that was in it knows not to compare seqs.
  auto reborn = late.join("#h0");
  ASSERT_TRUE(reborn.has_join()) << reborn.DebugString();
  EXPECT_EQ(reborn.join().recent_size(), 0);
  EXPECT_EQ(reborn.join().last_seq(), 0u);
  EXPECT_NE(reborn.join().incarnation(), first_life);
  expect_bystander_got(spoken_);
}

TEST_F(ShardedMaxRoomsTest, RoomsInUseAreNeverReclaimed) {
  start_bystander();
  // Both shards full of rooms that have members: nothing can be reclaimed,
  // so a new room is refused, and the rooms and their members are untouched.
  TestClient holder(io_, server_.port(), "holder");
  std::vector<std::string> held;
  for (int i = 0; server_->metrics().rooms < 4 && i < 100; ++i) {
    const std::string room = "#in" + std::to_string(i);
    auto join = holder.join(room);
    if (!join.has_join()) {
      ASSERT_EQ(code_of(join), v1::Error::CODE_TOO_MANY_ROOMS) << join.DebugString();
      continue;
    }
    ASSERT_TRUE(holder.say(room, "mine", i + 1).has_message());
    held.push_back(room);
  }
  ASSERT_EQ(held.size(), 3u);
  const auto refusals = server_->metrics().errors_of(v1::Error::CODE_TOO_MANY_ROOMS);
  TestClient creator(io_, server_.port(), "creator");
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(code_of(creator.join("#new" + std::to_string(i))), v1::Error::CODE_TOO_MANY_ROOMS);
  }
  speak();
  EXPECT_EQ(server_->metrics().errors_of(v1::Error::CODE_TOO_MANY_ROOMS), refusals + 6);
  EXPECT_EQ(server_->metrics().rooms_reclaimed, 0u);
  for (const auto& room : held) {
    auto page = creator.call([room](client::Client& c, client::ReplyHandler h) { c.history(room, 0, std::nullopt, 10, std::move(h)); });
    ASSERT_TRUE(page.has_history()) << room;
    EXPECT_EQ(page.history().last_seq(), 1u) << room;
  }
  EXPECT_EQ(rooms_of(*bystander_, "holder"), std::set<std::string>(held.begin(), held.end()));
  expect_bystander_got(spoken_);
}

class MaxJoinedTest : public RoomLimitsTest {
 protected:
  MaxJoinedTest() : RoomLimitsTest(limits_config(2, 10'000, 3)) {}
};

TEST_F(MaxJoinedTest, TheFourthJoinIsRefusedUntilALeave) {
  start_bystander();
  TestClient joiner(io_, server_.port(), "joiner");
  EXPECT_EQ(joiner.welcome().limits().max_joined(), 3u);
  for (const char* room : {"#a", "#b", "#c"}) ASSERT_TRUE(joiner.join(room).has_join()) << room;
  speak();
  auto refused = joiner.join("#d");
  EXPECT_EQ(code_of(refused), v1::Error::CODE_TOO_MANY_JOINED) << refused.DebugString();
  EXPECT_EQ(code_of(joiner.join("#calm")), v1::Error::CODE_TOO_MANY_JOINED) << "existing rooms count too";
  EXPECT_EQ(server_->metrics().errors_of(v1::Error::CODE_TOO_MANY_JOINED), 2u);
  EXPECT_EQ(code_of(joiner.join("#a")), v1::Error::CODE_ALREADY_A_MEMBER) << "a repeat says what it is";
  // Still usable.
  EXPECT_TRUE(joiner.say("#a", "still here", 1).has_message());
  speak();
  ASSERT_TRUE(joiner.leave("#b").has_leave());
  ASSERT_TRUE(joiner.join("#d").has_join());
  EXPECT_TRUE(joiner.say("#d", "moved in", 2).has_message());
  EXPECT_EQ(code_of(joiner.join("#e")), v1::Error::CODE_TOO_MANY_JOINED);
  speak();
  EXPECT_EQ(rooms_of(*bystander_, "joiner"), (std::set<std::string>{"#a", "#c", "#d"}));
  expect_bystander_got(spoken_);
}

TEST_F(MaxJoinedTest, PipelinedJoinsNeverPassTheCap) {
  start_bystander();
  // A logged-in raw connection, for pipelining.
  auto conn = std::make_unique<RawConnection>(server_.port());
  ASSERT_TRUE(conn->read_frame());  // welcome
  ASSERT_TRUE(login(*conn, "piper").has_hello());
  // Ten joins in one write: the session counts the joins still in flight.
  std::string burst;
  std::set<std::uint64_t> ids;
  for (int i = 0; i < 10; ++i) {
    burst += common::encode_frame(join_frame("#p" + std::to_string(i), 100 + i));
    ids.insert(100 + i);
  }
  conn->send_bytes(burst);
  speak();
  auto got = answers(*conn, ids);
  ASSERT_EQ(got.size(), ids.size());
  int joined = 0;
  for (const auto& [id, f] : got) {
    if (f.has_join()) {
      ++joined;
      EXPECT_LT(id, 103u) << "the first three are the ones let through";
    } else {
      EXPECT_EQ(code_of(f), v1::Error::CODE_TOO_MANY_JOINED) << f.DebugString();
    }
  }
  EXPECT_EQ(joined, 3);
  EXPECT_EQ(rooms_of(*bystander_, "piper").size(), 3u);

  // Leaves and joins interleaved in one write: a leave frees its slot at once.
  conn->send_bytes(encode_frames({leave_frame("#p0", 200), join_frame("#q0", 201), join_frame("#q1", 202),
                                  leave_frame("#p1", 203), leave_frame("#p2", 204), join_frame("#q2", 205),
                                  join_frame("#q3", 206), join_frame("#q4", 207)}));
  got = answers(*conn, {200, 201, 202, 203, 204, 205, 206, 207});
  ASSERT_EQ(got.size(), 8u);
  for (std::uint64_t id : {200, 203, 204}) EXPECT_TRUE(got[id].has_leave()) << id;
  for (std::uint64_t id : {201, 205, 206}) EXPECT_TRUE(got[id].has_join()) << id;
  for (std::uint64_t id : {202, 207}) EXPECT_EQ(code_of(got[id]), v1::Error::CODE_TOO_MANY_JOINED) << id;
  speak();
  EXPECT_EQ(rooms_of(*bystander_, "piper"), (std::set<std::string>{"#q0", "#q2", "#q3"}));
  expect_bystander_got(spoken_);
}

class BothLimitsTest : public RoomLimitsTest {
 protected:
  BothLimitsTest() : RoomLimitsTest(limits_config(2, 4, 3)) {}
};

TEST_F(BothLimitsTest, AJoinRefusedForTooManyRoomsDoesNotHoldAJoinedSlot) {
  start_bystander();
  // Fill both shards (two rooms each, #calm among them) with rooms that a
  // holder stays in, so none can be reclaimed.
  TestClient holder(io_, server_.port(), "holder");
  std::vector<std::string> kept;
  for (int i = 0; server_->metrics().rooms < 4 && i < 100; ++i) {
    const std::string room = "#f" + std::to_string(i);
    auto join = holder.join(room);
    if (!join.has_join()) {
      ASSERT_EQ(code_of(join), v1::Error::CODE_TOO_MANY_ROOMS) << join.DebugString();
      continue;
    }
    kept.push_back(room);
  }
  ASSERT_EQ(kept.size(), 3u);
  TestClient creator(io_, server_.port(), "creator");
  // Five refusals in a row: none of them holds one of the three slots...
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(code_of(creator.join("#new" + std::to_string(i))), v1::Error::CODE_TOO_MANY_ROOMS);
  }
  // ...so the connection may still join three rooms that exist, and no more.
  ASSERT_TRUE(creator.join("#calm").has_join());
  ASSERT_TRUE(creator.join(kept[0]).has_join());
  ASSERT_TRUE(creator.join(kept[1]).has_join());
  EXPECT_EQ(code_of(creator.join(kept[2])), v1::Error::CODE_TOO_MANY_JOINED);
  speak();
  expect_bystander_got(spoken_);
}

}  // namespace
}  // namespace chat::testing
