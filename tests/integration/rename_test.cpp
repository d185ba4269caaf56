// Renaming a logged-in connection in place: the rooms hear of it, the old
// nick is freed, the new one routes direct messages, and a refused rename
// changes nothing.
#include <gtest/gtest.h>

#include "support/frames.hpp"
#include "support/server_fixture.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

class RenameTest : public ::testing::Test {
 protected:
  // Three reactors, so the nicks and rooms below sit on different owners
  // from the sessions that use them.
  RunningServer server_{test_config(3)};
  IoThread io_;

  static std::vector<std::string> who(TestClient& c, const std::string& room) {
    auto reply = c.call([room](client::Client& cl, client::ReplyHandler h) { cl.who(room, std::move(h)); });
    return {reply.who().nicks().begin(), reply.who().nicks().end()};
  }
  static bool saw_rename(const TestClient& c, const std::string& room, const std::string& from,
                         const std::string& to) {
    for (const auto& p : c.presences()) {
      if (p.kind() == v1::Presence::KIND_RENAMED && p.room() == room && p.old_nick() == from &&
          p.nick() == to) {
        return true;
      }
    }
    return false;
  }
};

TEST_F(RenameTest, RoomsHearOfItTheOldNickIsFreedAndTheNewOneRoutes) {
  TestClient ann(io_, server_.port(), "ann");
  TestClient bob(io_, server_.port(), "bob");
  TestClient cat(io_, server_.port(), "cat");
  for (const char* room : {"#a", "#b"}) ASSERT_TRUE(ann.join(room).has_join());
  ASSERT_TRUE(bob.join("#a").has_join());
  ASSERT_TRUE(cat.join("#b").has_join());

  auto reply = ann.rename("anna");
  ASSERT_TRUE(reply.has_rename()) << reply.DebugString();
  EXPECT_EQ(reply.rename().old_nick(), "ann");
  EXPECT_EQ(reply.rename().nick(), "anna");

  ASSERT_TRUE(bob.wait([&] { return saw_rename(bob, "#a", "ann", "anna"); }));
  ASSERT_TRUE(cat.wait([&] { return saw_rename(cat, "#b", "ann", "anna"); }));
  ASSERT_TRUE(ann.wait([&] { return saw_rename(ann, "#a", "ann", "anna") && saw_rename(ann, "#b", "ann", "anna"); }));
  EXPECT_FALSE(saw_rename(bob, "#b", "ann", "anna")) << "bob is not in #b";
  EXPECT_EQ(who(bob, "#a"), (std::vector<std::string>{"anna", "bob"}));
  EXPECT_EQ(who(cat, "#b"), (std::vector<std::string>{"anna", "cat"}));

  auto said = ann.say("#a", "hello as anna", 7);
  ASSERT_TRUE(said.has_message());
  EXPECT_EQ(said.message().sender(), "anna");
  ASSERT_TRUE(bob.wait_messages("#a", 1));
  EXPECT_EQ(bob.messages("#a").back().sender(), "anna");

  ASSERT_TRUE(bob.direct("anna", "found you").has_direct_ack());
  ASSERT_TRUE(ann.wait([&] { return !ann.directs().empty(); }));
  EXPECT_EQ(ann.directs().back().sender(), "bob");
  EXPECT_EQ(bob.direct("ann", "anyone?").error().code(), v1::Error::CODE_NO_SUCH_NICK);

  TestClient dan(io_, server_.port());
  EXPECT_TRUE(dan.hello_when_free("ANN").has_hello()) << "the old nick is free";
  EXPECT_EQ(TestClient(io_, server_.port()).hello("Anna").error().code(), v1::Error::CODE_NICK_TAKEN);

  // The rename holds after the renamer leaves: its rooms see it quit as anna.
  ann.close();
  ASSERT_TRUE(bob.wait([&] {
    for (const auto& p : bob.presences()) {
      if (p.kind() == v1::Presence::KIND_QUIT && p.nick() == "anna") return true;
    }
    return false;
  }));
  EXPECT_EQ(who(bob, "#a"), (std::vector<std::string>{"bob"}));
}

TEST_F(RenameTest, ARefusedRenameChangesNothing) {
  TestClient ann(io_, server_.port(), "ann");
  TestClient bob(io_, server_.port(), "bob");
  ASSERT_TRUE(ann.join("#a").has_join());
  ASSERT_TRUE(bob.join("#a").has_join());

  EXPECT_EQ(bob.rename("ANN").error().code(), v1::Error::CODE_NICK_TAKEN);
  EXPECT_EQ(bob.rename("1bob").error().code(), v1::Error::CODE_INVALID_NICK);
  EXPECT_EQ(bob.rename("").error().code(), v1::Error::CODE_INVALID_NICK);
  EXPECT_EQ(TestClient(io_, server_.port()).rename("early").error().code(), v1::Error::CODE_NOT_LOGGED_IN);

  auto said = bob.say("#a", "still bob", 1);
  ASSERT_TRUE(said.has_message());
  EXPECT_EQ(said.message().sender(), "bob");
  EXPECT_EQ(who(ann, "#a"), (std::vector<std::string>{"ann", "bob"}));
  for (const auto& p : ann.presences()) EXPECT_NE(p.kind(), v1::Presence::KIND_RENAMED);
  EXPECT_EQ(TestClient(io_, server_.port()).hello("Bob").error().code(), v1::Error::CODE_NICK_TAKEN);

  // Renaming to the nick it has is a no-op that succeeds.
  auto same = bob.rename("bob");
  ASSERT_TRUE(same.has_rename());
  EXPECT_EQ(same.rename().old_nick(), "bob");
  EXPECT_EQ(same.rename().nick(), "bob");
}

TEST_F(RenameTest, ACaseOnlyChangeRespellsTheNickAndKeepsIt) {
  TestClient ann(io_, server_.port(), "ann");
  TestClient bob(io_, server_.port(), "bob");
  ASSERT_TRUE(ann.join("#a").has_join());
  ASSERT_TRUE(bob.join("#a").has_join());

  auto reply = ann.rename("Ann");
  ASSERT_TRUE(reply.has_rename()) << reply.DebugString();
  EXPECT_EQ(reply.rename().nick(), "Ann");
  ASSERT_TRUE(bob.wait([&] { return saw_rename(bob, "#a", "ann", "Ann"); }));
  // Still held: the owner respelled the entry rather than freeing it.
  EXPECT_EQ(TestClient(io_, server_.port()).hello("ANN").error().code(), v1::Error::CODE_NICK_TAKEN);
  ASSERT_TRUE(bob.direct("ann", "case does not matter").has_direct_ack());
  ASSERT_TRUE(ann.wait([&] { return !ann.directs().empty(); }));
  EXPECT_EQ(who(bob, "#a"), (std::vector<std::string>{"Ann", "bob"}));
}

// A rename and a say sent back to back: the say waits for the nick's owner,
// so it goes out under the new nick.
TEST_F(RenameTest, ASayPipelinedBehindARenameGoesOutUnderTheNewNick) {
  TestClient bob(io_, server_.port(), "bob");
  ASSERT_TRUE(bob.join("#a").has_join());
  RawConnection raw(server_.port());
  ASSERT_TRUE(raw.read_frame());  // welcome
  raw.send_bytes(encode_frames(
      {hello_frame("old", 1), join_frame("#a", 2), rename_frame("new", 3), say_frame("#a", "who am i", 4)}));
  // The renamer hears its reply before its rooms' RENAMED, wherever they live.
  bool replied = false;
  bool presence_after_reply = false;
  auto own = raw.read_until([&](const v1::ServerFrame& s) {
    if (s.has_rename()) replied = true;
    if (s.has_presence() && s.presence().kind() == v1::Presence::KIND_RENAMED) presence_after_reply = replied;
    return s.request_id() == 4;
  });
  ASSERT_TRUE(own);
  EXPECT_TRUE(replied);
  EXPECT_TRUE(presence_after_reply);
  ASSERT_TRUE(own->has_message()) << own->DebugString();
  EXPECT_EQ(own->message().sender(), "new");
  ASSERT_TRUE(bob.wait_messages("#a", 1));
  EXPECT_EQ(bob.messages("#a").back().sender(), "new");
  EXPECT_TRUE(saw_rename(bob, "#a", "old", "new"));
}

// A connection that goes away while its rename is on the way to the nick's
// owner leaves neither nick taken.
TEST_F(RenameTest, ClosingWhileARenameIsInFlightFreesBothNicks) {
  for (int round = 0; round < 20; ++round) {
    const std::string from = "from" + std::to_string(round);
    const std::string to = "to" + std::to_string(round);
    {
      RawConnection raw(server_.port());
      ASSERT_TRUE(raw.read_frame());
      ASSERT_TRUE(login(raw, from).has_hello());
      raw.send_frame(rename_frame(to, 2));
    }  // closed at once, the rename's answer still on its way
    TestClient c(io_, server_.port());
    ASSERT_TRUE(c.hello_when_free(to).has_hello()) << to;
    TestClient d(io_, server_.port());
    ASSERT_TRUE(d.hello_when_free(from).has_hello()) << from;
  }
}

}  // namespace
}  // namespace chat::testing
