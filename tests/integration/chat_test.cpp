// The chat paths end to end against a real multi-reactor server: fan-out,
// ordering, direct messages, presence, and the room queries.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "support/frames.hpp"
#include "support/owners.hpp"
#include "support/server_fixture.hpp"
#include "support/test_client.hpp"
#include "support/wait.hpp"

namespace chat::testing {
namespace {

TEST(ChatTest, FortyClientsOnFourReactorsSeeEveryMessageOnceInOneOrder) {
  constexpr int kClients = 40;
  constexpr int kRooms = 4;
  constexpr int kPerClient = 20;
  constexpr int kPerRoom = kClients / kRooms * kPerClient;
  RunningServer server(test_config(4));
  IoThread io_a;
  IoThread io_b;
  std::vector<std::unique_ptr<TestClient>> clients;
  auto room_of = [](int i) { return "#room" + std::to_string(i % kRooms); };
  for (int i = 0; i < kClients; ++i) {
    // Round-robin hand-off puts consecutive connections on different reactors.
    clients.push_back(std::make_unique<TestClient>(i % 2 ? io_a : io_b, server.port(), "u" + std::to_string(i)));
    ASSERT_TRUE(clients.back()->join(room_of(i)).has_join());
  }
  EXPECT_EQ(server->metrics().connections_open, static_cast<std::uint64_t>(kClients));

  // Everyone talks at once.
  for (int k = 0; k < kPerClient; ++k) {
    for (int i = 0; i < kClients; ++i) {
      clients[i]->say_async(room_of(i), "u" + std::to_string(i) + ":" + std::to_string(k), k + 1);
    }
  }
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(clients[i]->wait_messages(room_of(i), kPerRoom, 30s)) << "client " << i;
  }

  for (int r = 0; r < kRooms; ++r) {
    const std::string room = "#room" + std::to_string(r);
    const auto reference = clients[r]->messages(room);
    ASSERT_EQ(reference.size(), static_cast<std::size_t>(kPerRoom));
    std::set<std::string> distinct;
    std::map<std::string, int> next_from;  // per sender: messages arrive in the order sent
    for (std::size_t n = 0; n < reference.size(); ++n) {
      EXPECT_EQ(reference[n].seq(), n + 1) << room << " sequence has a gap";
      distinct.insert(reference[n].text());
      const std::string& text = reference[n].text();
      const int k = std::stoi(text.substr(text.find(':') + 1));
      EXPECT_EQ(k, next_from[reference[n].sender()]++) << "per-sender order in " << room;
    }
    EXPECT_EQ(distinct.size(), reference.size()) << "a message arrived twice in " << room;
    for (int i = r; i < kClients; i += kRooms) {
      const auto mine = clients[i]->messages(room);
      ASSERT_EQ(mine.size(), reference.size()) << "client " << i << " got extra messages";
      for (std::size_t n = 0; n < mine.size(); ++n) {
        ASSERT_EQ(mine[n].seq(), reference[n].seq());
        ASSERT_EQ(mine[n].text(), reference[n].text()) << "client " << i << " saw another order";
        // The sender's own copy, and only it, carries the client_msg_id.
        if (mine[n].sender() == "u" + std::to_string(i)) {
          EXPECT_NE(mine[n].client_msg_id(), 0u);
        } else {
          EXPECT_EQ(mine[n].client_msg_id(), 0u);
        }
      }
      EXPECT_EQ(clients[i]->replies().size(), static_cast<std::size_t>(kPerClient));
    }
  }

  // Presence: the first member of each room saw every later joiner arrive.
  for (int r = 0; r < kRooms; ++r) {
    std::set<std::string> joined;
    for (const auto& p : clients[r]->presences()) {
      if (p.kind() == v1::Presence::KIND_JOINED) joined.insert(p.nick());
    }
    for (int i = r; i < kClients; i += kRooms) EXPECT_TRUE(joined.contains("u" + std::to_string(i)));
  }

  // Direct messages cross reactors.
  for (int i = 1; i < kClients; ++i) {
    auto ack = clients[0]->direct("U" + std::to_string(i), "psst " + std::to_string(i));
    ASSERT_TRUE(ack.has_direct_ack()) << ack.DebugString();
    EXPECT_EQ(ack.direct_ack().nick(), "u" + std::to_string(i));
  }
  for (int i = 1; i < kClients; ++i) {
    ASSERT_TRUE(clients[i]->wait([&] { return !clients[i]->directs().empty(); }, 10s));
    const auto d = clients[i]->directs();
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].sender(), "u0");
    EXPECT_EQ(d[0].text(), "psst " + std::to_string(i));
  }

  // Leaving and quitting are announced with their reason.
  ASSERT_TRUE(clients[1]->leave("#room1").has_leave());
  clients[2]->close();
  auto eventually = [&](TestClient& c, const std::string& nick, v1::Presence::Kind kind, v1::Presence::Reason reason) {
    return c.wait([&] {
      for (const auto& p : c.presences()) {
        if (p.nick() == nick && p.kind() == kind && p.reason() == reason) return true;
      }
      return false;
    });
  };
  EXPECT_TRUE(eventually(*clients[5], "u1", v1::Presence::KIND_LEFT, v1::Presence::REASON_UNSPECIFIED));
  EXPECT_TRUE(eventually(*clients[6], "u2", v1::Presence::KIND_QUIT, v1::Presence::REASON_CLIENT_QUIT));
}

class RoomQueryTest : public ::testing::Test {
 protected:
  RunningServer server_{test_config(3)};
  IoThread io_;
};

TEST_F(RoomQueryTest, ListsRoomsAcrossReactorsWithCounts) {
  TestClient a(io_, server_.port(), "ann");
  TestClient b(io_, server_.port(), "bob");
  for (const char* room : {"#alpha", "#beta", "#gamma", "#delta"}) ASSERT_TRUE(a.join(room).has_join());
  ASSERT_TRUE(b.join("#beta").has_join());
  auto reply = a.call([](client::Client& c, client::ReplyHandler h) { c.list_rooms(std::move(h)); });
  ASSERT_TRUE(reply.has_list_rooms()) << reply.DebugString();
  std::map<std::string, std::uint32_t> counts;
  for (const auto& room : reply.list_rooms().rooms()) counts[room.name()] = room.member_count();
  EXPECT_EQ(counts, (std::map<std::string, std::uint32_t>{{"#alpha", 1}, {"#beta", 2}, {"#delta", 1}, {"#gamma", 1}}));
}

TEST_F(RoomQueryTest, WhoTopicAndHistory) {
  TestClient a(io_, server_.port(), "ann");
  TestClient b(io_, server_.port(), "bob");
  ASSERT_TRUE(a.join("#Lobby").has_join());
  ASSERT_TRUE(b.join("#lobby").has_join());
  auto who = a.call([](client::Client& c, client::ReplyHandler h) { c.who("#lobby", std::move(h)); });
  ASSERT_TRUE(who.has_who());
  EXPECT_EQ(std::vector<std::string>(who.who().nicks().begin(), who.who().nicks().end()),
            (std::vector<std::string>{"ann", "bob"}));

  auto topic = a.call([](client::Client& c, client::ReplyHandler h) { c.set_topic("#lobby", "welcome all", std::move(h)); });
  ASSERT_TRUE(topic.has_topic());
  EXPECT_EQ(topic.topic().set_by(), "ann");
  auto got = b.call([](client::Client& c, client::ReplyHandler h) { c.get_topic("#lobby", std::move(h)); });
  EXPECT_EQ(got.topic().topic(), "welcome all");

  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.say("#lobby", "m" + std::to_string(i), i + 1).has_message());
  auto page = b.call([](client::Client& c, client::ReplyHandler h) { c.history("#lobby", 0, 2, 10, std::move(h)); });
  ASSERT_TRUE(page.has_history());
  ASSERT_EQ(page.history().messages_size(), 3);
  EXPECT_EQ(page.history().messages(0).seq(), 3u);
  EXPECT_EQ(page.history().messages(0).text(), "m2");
  EXPECT_EQ(page.history().last_seq(), 5u);

  // A late joiner gets the recent messages and the room's last seq.
  TestClient c(io_, server_.port(), "cat");
  auto join = c.join("#lobby");
  ASSERT_TRUE(join.has_join());
  EXPECT_EQ(join.join().recent_size(), 5);
  EXPECT_EQ(join.join().last_seq(), 5u);
  EXPECT_EQ(join.join().topic(), "welcome all");

  auto missing = a.call([](client::Client& c2, client::ReplyHandler h) { c2.who("#nowhere", std::move(h)); });
  EXPECT_EQ(missing.error().code(), v1::Error::CODE_NO_SUCH_ROOM);
}

TEST_F(RoomQueryTest, NickIsFreedWhenItsHolderLeaves) {
  {
    TestClient a(io_, server_.port(), "Zed");
  }
  TestClient b(io_, server_.port());
  const auto reply = b.hello_when_free("zed");
  EXPECT_TRUE(reply.has_hello()) << reply.DebugString();
}

// A join and a leave sent back to back: the owner answers the join after the
// session has already left, and the late answer must not make it a member
// again on its own reactor (it would get the room's messages, and its
// reactor would keep a pointer to it after it has gone).
TEST(MembershipTest, AJoinAnsweredAfterALeaveDoesNotReaddTheLeaver) {
  RunningServer server(test_config(2));
  IoThread io;
  // Round-robin hand-off from reactor 0: the 1st and 3rd connections share
  // reactor 0; pick a room that reactor 1 owns, so the join is answered
  // through a mailbox rather than by a direct call.
  std::string room;
  for (int i = 0; room.empty(); ++i) {
    const std::string name = "#r" + std::to_string(i);
    if (room_owner(name, 2) == 1) room = name;
  }
  auto leaver = std::make_unique<RawConnection>(server.port());
  ASSERT_TRUE(leaver->read_frame());  // welcome
  ASSERT_TRUE(login(*leaver, "leaver").has_hello());
  RawConnection filler(server.port());  // reactor 1
  ASSERT_TRUE(filler.read_frame());
  TestClient stayer(io, server.port(), "stayer");  // reactor 0, beside the leaver
  ASSERT_TRUE(stayer.join(room).has_join());

  leaver->send_bytes(encode_frames({join_frame(room, 2), leave_frame(room, 3)}));
  // The leave reply follows the join reply on the same owner -> reactor channel.
  ASSERT_TRUE(leaver->read_until([](const v1::ServerFrame& f) { return f.request_id() == 3; }));

  ASSERT_TRUE(stayer.say(room, "after the leave", 1).has_message());
  leaver->send_frame(ping_frame(4, 4));
  bool got_message = false;
  ASSERT_TRUE(leaver->read_until([&](const v1::ServerFrame& f) {
    got_message = got_message || f.has_message();
    return f.has_pong();
  }));
  EXPECT_FALSE(got_message) << "a member that left still gets the room's messages";

  // The leaver goes away; the room keeps talking on the reactor it was on.
  leaver.reset();
  ASSERT_TRUE(wait_until([&] { return server->metrics().connections_open == 2; }, 5s))
      << server->metrics().connections_open << " connections open";
  // Its socket was closed before it was counted closed, so its last handlers
  // (the cancelled reads and timers) are queued on reactor 0 already; a round
  // trip through reactor 0 runs them before the room talks on.
  ASSERT_TRUE(stayer.ping().has_pong());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stayer.say(room, "still here", 10 + i).has_message());
  ASSERT_TRUE(stayer.wait_messages(room, 4));
}

}  // namespace
}  // namespace chat::testing
