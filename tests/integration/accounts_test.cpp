// Accounts (issue 13): a registered nick is its owner's. Each row of the
// issue's measured list, now refused: mallory cannot take alice's nick as a
// guest or guess her password, look-alikes of it are refused, and alice gets
// her nick back at once from a session whose link died. Then the session
// cap, throttling, --require-account, and accounts across a restart.
#include <gtest/gtest.h>

#include "support/chatd_process.hpp"
#include "support/frames.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

using v1::Error;

constexpr const char* kPassword = "correct horse battery";

server::Config accounts_config() {
  server::Config c = test_config(3);  // nicks, look-alikes and sessions on different owners
  c.password_cost = "min";            // microseconds a hash: the tests are about who may log in
  c.login_attempts_per_min = 0;       // every client is 127.0.0.1: ThrottleTest turns it on
  return c;
}

class AccountsTest : public ::testing::Test {
 protected:
  explicit AccountsTest(server::Config config = accounts_config()) : server_(std::move(config)) {}
  // alice, registered, and still connected.
  std::unique_ptr<TestClient> registered_alice() {
    auto alice = std::make_unique<TestClient>(io_, server_.port(), "alice");
    const auto reply = register_account(*alice, kPassword);
    EXPECT_TRUE(reply.has_account()) << reply.DebugString();
    EXPECT_EQ(reply.account().action(), v1::AccountReply::ACTION_REGISTERED);
    EXPECT_EQ(reply.account().account(), "alice");
    return alice;
  }

  RunningServer server_;
  IoThread io_;
};

TEST_F(AccountsTest, AGuestCannotTakeARegisteredNickNorGuessItsPassword) {
  auto alice = registered_alice();
  alice->close();
  TestClient mallory(io_, server_.port());
  // The nick is free of sessions now, and still alice's.
  auto as_guest = mallory.hello_when_free("alice");
  EXPECT_EQ(code_of(as_guest), Error::CODE_NICK_REGISTERED) << as_guest.DebugString();
  EXPECT_EQ(code_of(login(mallory, "alice", "wrong password")), Error::CODE_BAD_LOGIN);
  EXPECT_EQ(code_of(login(mallory, "nobody", kPassword)), Error::CODE_BAD_LOGIN);
  // The one with the password logs in, under the account's spelling.
  TestClient back(io_, server_.port());
  const auto ok = login(back, "ALICE", kPassword);
  ASSERT_TRUE(ok.has_hello()) << ok.DebugString();
  EXPECT_EQ(ok.hello().nick(), "alice");
  EXPECT_EQ(ok.hello().account(), "alice");
  // mallory could still be a guest under a nick of her own.
  EXPECT_TRUE(mallory.hello("mallory").has_hello());
}

TEST_F(AccountsTest, TheOwnerRegainsTheNickAtOnceFromASessionWhoseLinkDied) {
  auto stale = registered_alice();  // its link "died": the server has not noticed
  TestClient bob(io_, server_.port(), "bob");
  ASSERT_TRUE(stale->join("#team").has_join());
  ASSERT_TRUE(bob.join("#team").has_join());

  TestClient alice(io_, server_.port());
  const auto reply = login(alice, "alice", kPassword, /*regain=*/true);
  ASSERT_TRUE(reply.has_hello()) << reply.DebugString();
  // The stale session is told why and closed; the room hears it quit.
  ASSERT_TRUE(stale->wait([&] { return stale->disconnected(); }));
  bool told = false;
  for (const auto& e : stale->errors()) told |= e.code() == Error::CODE_REGAINED;
  EXPECT_TRUE(told);
  ASSERT_TRUE(bob.wait([&] {
    for (const auto& p : bob.presences()) {
      if (p.nick() == "alice" && p.kind() == v1::Presence::KIND_QUIT && p.reason() == v1::Presence::REASON_REGAINED) {
        return true;
      }
    }
    return false;
  }));
  // Bob's DM reaches the new session, and only it.
  ASSERT_TRUE(bob.direct("alice", "are you back?").has_direct_ack());
  ASSERT_TRUE(alice.wait([&] { return alice.directs().size() == 1; }));
  EXPECT_EQ(alice.directs()[0].text(), "are you back?");
}

TEST_F(AccountsTest, LookAlikesOfARegisteredNickAreRefused) {
  TestClient early(io_, server_.port(), "a1ice");  // a guest that looked alike before alice registered
  auto alice = registered_alice();
  for (const char* alike : {"ALICE", "aIice", "AL1CE", "a1ice", "allce"}) {
    TestClient guest(io_, server_.port());
    EXPECT_EQ(code_of(guest.hello(alike)), Error::CODE_NICK_REGISTERED) << alike;
  }
  TestClient alicia(io_, server_.port());
  EXPECT_TRUE(alicia.hello("alicia").has_hello());
  // The early look-alike keeps its guest nick but cannot register it.
  const auto refused = register_account(early, kPassword);
  EXPECT_EQ(code_of(refused), Error::CODE_ACCOUNT_EXISTS) << refused.DebugString();
  // Nor can a guest rename into alice's nick, or an account rename at all.
  EXPECT_EQ(code_of(alicia.rename("Alice")), Error::CODE_NICK_REGISTERED);
  EXPECT_EQ(code_of(alice->rename("alice2")), Error::CODE_ACCOUNT_NICK);
}

TEST_F(AccountsTest, PasswordsOfTheWrongLengthAreRefusedBeforeAnyHash) {
  TestClient guest(io_, server_.port(), "dave");
  EXPECT_EQ(code_of(register_account(guest, "short")), Error::CODE_INVALID_PASSWORD);
  EXPECT_EQ(code_of(register_account(guest, std::string(257, 'x'))), Error::CODE_INVALID_PASSWORD);
  TestClient other(io_, server_.port());
  EXPECT_EQ(code_of(login(other, "dave", std::string(257, 'x'))), Error::CODE_INVALID_PASSWORD);
  EXPECT_TRUE(register_account(guest, std::string(256, 'x')).has_account());
}

TEST_F(AccountsTest, ChangePasswordAndDropNeedTheAccountsPassword) {
  auto alice = registered_alice();
  auto change = [&](TestClient& c, const std::string& old_pw, const std::string& new_pw) {
    return c.call([=](client::Client& cl, client::ReplyHandler h) { cl.change_password(old_pw, new_pw, std::move(h)); });
  };
  EXPECT_EQ(code_of(change(*alice, "not the password", "a new password")), Error::CODE_BAD_LOGIN);
  const auto changed = change(*alice, kPassword, "a new password");
  ASSERT_TRUE(changed.has_account()) << changed.DebugString();
  EXPECT_EQ(changed.account().action(), v1::AccountReply::ACTION_PASSWORD_CHANGED);
  {
    TestClient again(io_, server_.port());
    EXPECT_EQ(code_of(login(again, "alice", kPassword)), Error::CODE_BAD_LOGIN);
  }
  {
    TestClient again(io_, server_.port());
    EXPECT_TRUE(login(again, "alice", "a new password").has_hello());
  }
  TestClient guest(io_, server_.port(), "gus");
  EXPECT_EQ(code_of(change(guest, "a new password", "whatever123")), Error::CODE_NOT_REGISTERED);

  auto drop = [&](const std::string& pw) {
    return alice->call([=](client::Client& cl, client::ReplyHandler h) { cl.drop_account(pw, std::move(h)); });
  };
  EXPECT_EQ(code_of(drop(kPassword)), Error::CODE_BAD_LOGIN);
  const auto dropped = drop("a new password");
  ASSERT_TRUE(dropped.has_account()) << dropped.DebugString();
  EXPECT_EQ(dropped.account().action(), v1::AccountReply::ACTION_DROPPED);
  alice->close();
  // A guest may take it now.
  TestClient next(io_, server_.port());
  EXPECT_TRUE(next.hello_when_free("alice").has_hello());
}

class AccountSessionsTest : public AccountsTest {
 protected:
  static server::Config config() {
    auto c = accounts_config();
    c.max_sessions_per_account = 2;
    return c;
  }
  AccountSessionsTest() : AccountsTest(config()) {}
};

TEST_F(AccountSessionsTest, SessionsOfOneAccountShareItsNickAndDirectMessagesUpToTheCap) {
  auto first = registered_alice();
  TestClient second(io_, server_.port());
  const auto joined = login(second, "alice", kPassword);
  ASSERT_TRUE(joined.has_hello()) << joined.DebugString();
  TestClient third(io_, server_.port());
  EXPECT_EQ(code_of(login(third, "alice", kPassword)), Error::CODE_TOO_MANY_SESSIONS);

  // Each session has its own rooms; both get the account's DMs, the sender
  // one ack.
  ASSERT_TRUE(second.join("#two").has_join());
  TestClient bob(io_, server_.port(), "bob");
  const auto ack = bob.direct("alice", "to both");
  ASSERT_TRUE(ack.has_direct_ack()) << ack.DebugString();
  ASSERT_TRUE(first->wait([&] { return first->directs().size() == 1; }));
  ASSERT_TRUE(second.wait([&] { return second.directs().size() == 1; }));

  // One closing leaves the other holding the nick. (A DM sent while the
  // close is on its way to the nick's owner may still be acked by the
  // closing one: NO_SUCH_NICK, and then it goes to the other.)
  first->close();
  TestClient guest(io_, server_.port());
  EXPECT_EQ(code_of(guest.hello("alice")), Error::CODE_NICK_REGISTERED);
  auto acked = [&] { return bob.direct("alice", "still there?").has_direct_ack(); };
  bool ok = acked();
  for (int i = 0; i < 50 && !ok; ++i, std::this_thread::sleep_for(20ms)) ok = acked();
  ASSERT_TRUE(ok);
  ASSERT_TRUE(second.wait([&] { return second.directs().size() >= 2; }));
  // And a third may log in in its place.
  bool in = false;
  for (int i = 0; i < 50 && !in; ++i, std::this_thread::sleep_for(20ms)) in = login(third, "alice", kPassword).has_hello();
  EXPECT_TRUE(in);
}

class ThrottleTest : public AccountsTest {
 protected:
  static server::Config config() {
    auto c = accounts_config();
    c.login_attempts_per_min = 3;
    return c;
  }
  ThrottleTest() : AccountsTest(config()) {}
};

v1::ServerFrame raw_login(RawConnection& conn, const std::string& nick, const std::string& password,
                          std::uint64_t rid) {
  v1::ClientFrame f;
  f.set_request_id(rid);
  f.mutable_hello()->set_nick(nick);
  f.mutable_hello()->set_password(password);
  conn.send_frame(f);
  auto reply = conn.read_until([rid](const v1::ServerFrame& s) { return s.request_id() == rid; });
  return reply ? *reply : v1::ServerFrame();
}

TEST_F(ThrottleTest, GuessingIsCutAtThreeAMinutePerAccountAndPerAddress) {
  auto alice = registered_alice();
  {
    TestClient carol(io_, server_.port(), "carol");
    ASSERT_TRUE(register_account(carol, kPassword).has_account());
  }
  // mallory at 127.0.0.4 guesses alice's password: three tries, then none.
  // (The registrations above counted against 127.0.0.1.)
  RawConnection mallory(server_.port(), 0, "127.0.0.4");
  ASSERT_TRUE(mallory.read_frame());  // welcome
  std::uint64_t rid = 1;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(code_of(raw_login(mallory, "alice", "guess" + std::to_string(i) + "xyz", rid++)), Error::CODE_BAD_LOGIN);
  const auto cut = raw_login(mallory, "alice", "guess3xyz", rid++);
  ASSERT_EQ(code_of(cut), Error::CODE_RATE_LIMITED) << cut.DebugString();
  EXPECT_GT(cut.error().retry_after_ms(), 0u);
  // The address is spent for every account...
  EXPECT_EQ(code_of(raw_login(mallory, "carol", kPassword, rid++)), Error::CODE_RATE_LIMITED);
  // ...and alice's account for every address; carol, from another address,
  // logs in as usual.
  RawConnection elsewhere(server_.port(), 0, "127.0.0.2");
  ASSERT_TRUE(elsewhere.read_frame());
  EXPECT_EQ(code_of(raw_login(elsewhere, "alice", "guess4xyz", 1)), Error::CODE_RATE_LIMITED);
  RawConnection carol(server_.port(), 0, "127.0.0.3");
  ASSERT_TRUE(carol.read_frame());
  const auto ok = raw_login(carol, "carol", kPassword, 1);
  EXPECT_TRUE(ok.has_hello()) << ok.DebugString();
  // The logged-in alice was never disturbed.
  EXPECT_TRUE(alice->ping().has_pong());
  // A throttled attempt cost no hash: two registrations, three wrong
  // guesses and carol's login made six.
  const auto m = server_->metrics();
  EXPECT_EQ(m.logins_failed, 3u);
  EXPECT_EQ(m.logins_throttled, 3u);
  EXPECT_EQ(m.logins_ok, 1u);
  EXPECT_EQ(m.accounts_registered, 2u);
  EXPECT_EQ(m.password_hashes, 6u);
}

TEST_F(ThrottleTest, RightPasswordsAreNotCounted) {
  auto alice = registered_alice();
  for (int i = 0; i < 6; ++i) {
    TestClient again(io_, server_.port());
    EXPECT_TRUE(login(again, "alice", kPassword).has_hello()) << "login " << i;
  }
}

class RequireAccountTest : public AccountsTest {
 protected:
  static server::Config config() {
    auto c = accounts_config();
    c.require_account = true;
    return c;
  }
  RequireAccountTest() : AccountsTest(config()) {}
};

TEST_F(RequireAccountTest, AGuestMayRegisterAndNothingElse) {
  TestClient guest(io_, server_.port(), "newbie");
  EXPECT_TRUE(guest.welcome().limits().accounts_required());
  EXPECT_EQ(code_of(guest.join("#lobby")), Error::CODE_ACCOUNT_REQUIRED);
  EXPECT_EQ(code_of(guest.direct("newbie", "hi")), Error::CODE_ACCOUNT_REQUIRED);
  ASSERT_TRUE(register_account(guest, kPassword).has_account());
  EXPECT_TRUE(guest.join("#lobby").has_join());
  TestClient again(io_, server_.port());
  EXPECT_TRUE(login(again, "newbie", kPassword).has_hello());
  EXPECT_TRUE(again.join("#lobby").has_join());
}

// The durable store keeps accounts: chatd is stopped (and killed) and started
// again on the same data.
TEST(AccountsStoreTest, AccountsAndPasswordsSurviveARestartAndAKill) {
  TempDir data("chatd-accounts");
  const std::vector<std::string> args = {"--reactors", "2", "--password-cost", "min"};
  IoThread io;
  {
    ChatdProcess chatd({.args = args, .data_dir = data.str()});
    TestClient alice(io, chatd.port(), "alice");
    ASSERT_TRUE(register_account(alice, kPassword).has_account());
    TestClient bob(io, chatd.port(), "bob");
    ASSERT_TRUE(register_account(bob, kPassword).has_account());
    auto changed = bob.call([](client::Client& cl, client::ReplyHandler h) {
      cl.change_password(kPassword, "bob's new password", std::move(h));
    });
    ASSERT_TRUE(changed.has_account()) << changed.DebugString();
    chatd.stop(SIGKILL, 5s);
  }
  ChatdProcess chatd({.args = args, .data_dir = data.str()});
  TestClient guest(io, chatd.port());
  EXPECT_EQ(code_of(guest.hello("alice")), Error::CODE_NICK_REGISTERED);
  EXPECT_EQ(code_of(guest.hello("a1ice")), Error::CODE_NICK_REGISTERED);
  EXPECT_EQ(code_of(login(guest, "alice", "wrong password")), Error::CODE_BAD_LOGIN);
  TestClient alice(io, chatd.port());
  EXPECT_TRUE(login(alice, "alice", kPassword).has_hello());
  TestClient bob(io, chatd.port());
  EXPECT_TRUE(login(bob, "bob", "bob's new password").has_hello());
}

}  // namespace
}  // namespace chat::testing
