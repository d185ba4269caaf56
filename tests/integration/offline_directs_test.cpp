// Direct messages to an offline account (issue 13): kept, acked `stored`,
// and delivered once, in the order they were sent, right after the
// account's next hello reply and before any DM sent after it. The mailbox's
// cap with a bystander, what has no mailbox (a guest, a look-alike), and
// kept DMs across a kill -9 of chatd.
#include <gtest/gtest.h>

#include <thread>

#include "support/chatd_process.hpp"
#include "support/frames.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

using v1::Error;

constexpr const char* kPassword = "correct horse battery";

server::Config offline_config(std::size_t max_stored = 100) {
  server::Config c = test_config(3);  // the sender, the nick and the account's session on different reactors
  c.password_cost = "min";
  c.login_attempts_per_min = 0;
  c.max_stored_directs = max_stored;
  return c;
}

bool stored_ack(const v1::ServerFrame& f) { return f.has_direct_ack() && f.direct_ack().stored(); }

std::vector<std::string> texts(const std::vector<v1::DirectMessage>& directs) {
  std::vector<std::string> out;
  for (const auto& d : directs) out.push_back(d.sender() + ": " + d.text());
  return out;
}

class OfflineDirectsTest : public ::testing::Test {
 protected:
  explicit OfflineDirectsTest(server::Config config = offline_config()) : server_(std::move(config)) {}

  // Registers `nick` and logs it out.
  void register_and_leave(const std::string& nick) {
    TestClient c(io_, server_.port(), nick);
    ASSERT_TRUE(register_account(c, kPassword).has_account());
  }
  // Once the account's last session has gone (its release reaches the
  // nick's owner after the close), a DM to it is kept: sends `text` until
  // one is acked stored, and returns whether one was.
  bool first_stored(TestClient& from, const std::string& to, const std::string& text) {
    for (int i = 0; i < 100; ++i, std::this_thread::sleep_for(10ms)) {
      const auto ack = from.direct(to, text);
      if (stored_ack(ack)) return true;
      if (!ack.has_error() || ack.error().code() != Error::CODE_NO_SUCH_NICK) {
        ADD_FAILURE() << "neither kept nor refused as gone: " << ack.DebugString();
        return false;
      }
    }
    return false;
  }

  RunningServer server_;
  IoThread io_;
};

TEST_F(OfflineDirectsTest, AreKeptAndDeliveredOnceInOrderAtTheNextLoginBeforeLiveOnes) {
  register_and_leave("alice");
  TestClient bob(io_, server_.port(), "bob");
  TestClient carol(io_, server_.port(), "carol");
  ASSERT_TRUE(first_stored(bob, "alice", "are you there?"));
  for (const char* text : {"one", "two"}) {
    const auto ack = bob.direct("ALICE", text);
    ASSERT_TRUE(stored_ack(ack)) << ack.DebugString();
    EXPECT_EQ(ack.direct_ack().nick(), "alice") << "the account's spelling";
    EXPECT_GT(ack.direct_ack().timestamp_ms(), 0);
  }
  ASSERT_TRUE(stored_ack(carol.direct("alice", "from carol")));
  ASSERT_TRUE(stored_ack(bob.direct("alice", "three")));
  EXPECT_EQ(server_->metrics().directs_stored, 5u);

  TestClient alice(io_, server_.port());
  const auto hello = login(alice, "alice", kPassword);
  ASSERT_TRUE(hello.has_hello()) << hello.DebugString();
  // Sent the moment the login is answered: bob's next DM is live, and comes
  // after every kept one.
  const auto live = bob.direct("alice", "welcome back");
  ASSERT_TRUE(live.has_direct_ack()) << live.DebugString();
  EXPECT_FALSE(live.direct_ack().stored());
  ASSERT_TRUE(alice.wait([&] { return alice.directs().size() >= 6; }));
  const auto got = alice.directs();
  EXPECT_EQ(texts(got), (std::vector<std::string>{"bob: are you there?", "bob: one", "bob: two", "carol: from carol",
                                                  "bob: three", "bob: welcome back"}));
  for (std::size_t i = 0; i < 5; ++i) EXPECT_TRUE(got[i].stored()) << i;
  EXPECT_FALSE(got[5].stored());
  for (std::size_t i = 1; i < got.size(); ++i) EXPECT_LE(got[i - 1].timestamp_ms(), got[i].timestamp_ms()) << i;

  // Once: the next login has only what was sent since.
  alice.close();
  ASSERT_TRUE(first_stored(bob, "alice", "later"));
  TestClient again(io_, server_.port());
  ASSERT_TRUE(login(again, "alice", kPassword).has_hello());
  ASSERT_TRUE(again.wait([&] { return !again.directs().empty(); }));
  EXPECT_TRUE(again.ping().has_pong());
  EXPECT_EQ(texts(again.directs()), std::vector<std::string>{"bob: later"});
}

TEST_F(OfflineDirectsTest, AGuestOrALookAlikeHasNoMailbox) {
  register_and_leave("alice");
  {
    TestClient gone(io_, server_.port(), "dave");
  }
  TestClient bob(io_, server_.port(), "bob");
  ASSERT_TRUE(first_stored(bob, "alice", "kept"));
  std::this_thread::sleep_for(50ms);  // dave's release reaches its owner
  EXPECT_EQ(code_of(bob.direct("dave", "not kept")), Error::CODE_NO_SUCH_NICK);
  EXPECT_EQ(code_of(bob.direct("a1ice", "not kept")), Error::CODE_NO_SUCH_NICK);
  EXPECT_EQ(code_of(bob.direct("nobody", "not kept")), Error::CODE_NO_SUCH_NICK);
  EXPECT_EQ(server_->metrics().directs_stored, 1u);
}

class MailboxCapTest : public OfflineDirectsTest {
 protected:
  MailboxCapTest() : OfflineDirectsTest(offline_config(3)) {}
};

TEST_F(MailboxCapTest, PastTheCapASenderGetsMailboxFullAndABystanderIsUnaffected) {
  register_and_leave("alice");
  TestClient bob(io_, server_.port(), "bob");
  TestClient dave(io_, server_.port(), "dave");  // the bystander, online
  TestClient eve(io_, server_.port(), "eve");
  EXPECT_EQ(eve.welcome().limits().max_stored_directs(), 3u);
  ASSERT_TRUE(first_stored(bob, "alice", "1"));
  ASSERT_TRUE(stored_ack(bob.direct("alice", "2")));
  ASSERT_TRUE(stored_ack(bob.direct("alice", "3")));
  const auto full = bob.direct("alice", "4");
  ASSERT_EQ(code_of(full), Error::CODE_MAILBOX_FULL) << full.DebugString();
  EXPECT_NE(full.error().message().find("alice"), std::string::npos) << full.error().message();
  EXPECT_EQ(code_of(eve.direct("alice", "me too")), Error::CODE_MAILBOX_FULL) << "the cap is the account's";
  // Everyone else's DMs go on.
  const auto to_dave = eve.direct("dave", "hello dave");
  ASSERT_TRUE(to_dave.has_direct_ack()) << to_dave.DebugString();
  ASSERT_TRUE(dave.wait([&] { return dave.directs().size() == 1; }));
  EXPECT_TRUE(bob.ping().has_pong());

  TestClient alice(io_, server_.port());
  ASSERT_TRUE(login(alice, "alice", kPassword).has_hello());
  ASSERT_TRUE(alice.wait([&] { return alice.directs().size() >= 3; }));
  EXPECT_EQ(texts(alice.directs()), (std::vector<std::string>{"bob: 1", "bob: 2", "bob: 3"}));
  // Delivered, the mailbox is empty again.
  alice.close();
  EXPECT_TRUE(first_stored(bob, "alice", "5"));
}

// Kept DMs are as durable as the rooms: chatd is killed (SIGKILL) right
// after the acks, and the next login after the restart has every one.
TEST(OfflineDirectsStoreTest, KeptDirectMessagesSurviveAKill) {
  TempDir data("chatd-offline-dms");
  const std::vector<std::string> args = {"--reactors", "2", "--password-cost", "min"};
  IoThread io;
  constexpr int kSent = 20;
  {
    ChatdProcess chatd({.args = args, .data_dir = data.str()});
    {
      TestClient alice(io, chatd.port(), "alice");
      ASSERT_TRUE(register_account(alice, kPassword).has_account());
    }
    TestClient bob(io, chatd.port(), "bob");
    int acked = 0;
    for (int i = 0; i < 200 && acked == 0; ++i, std::this_thread::sleep_for(10ms)) {
      acked = stored_ack(bob.direct("alice", "dm 0")) ? 1 : 0;
    }
    ASSERT_EQ(acked, 1);
    for (int i = 1; i < kSent; ++i) ASSERT_TRUE(stored_ack(bob.direct("alice", "dm " + std::to_string(i)))) << i;
    chatd.stop(SIGKILL, 5s);
  }
  ChatdProcess chatd({.args = args, .data_dir = data.str()});
  TestClient alice(io, chatd.port());
  ASSERT_TRUE(login(alice, "alice", kPassword).has_hello());
  ASSERT_TRUE(alice.wait([&] { return alice.directs().size() >= kSent; }));
  std::vector<std::string> want;
  for (int i = 0; i < kSent; ++i) want.push_back("bob: dm " + std::to_string(i));
  EXPECT_EQ(texts(alice.directs()), want);
}

}  // namespace
}  // namespace chat::testing
