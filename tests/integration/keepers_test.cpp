// Rooms with keepers (issue 13): the founder and its ops kick, ban, unban,
// invite, give roles and set modes; each refusal has its typed error, each
// action is an event to the room, and a bystander in the room is untouched.
// Peers connect from different loopback addresses (127.0.0.x) so that
// address bans can be told apart; private rooms are read by members only;
// settings survive a kill -9 of chatd.
#include <gtest/gtest.h>

#include "support/chatd_process.hpp"
#include "support/frames.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

using v1::Error;
using v1::Moderation;

constexpr const char* kPassword = "correct horse battery";

server::Config keepers_config() {
  server::Config c = test_config(3);  // rooms, nicks and sessions on different owners
  c.password_cost = "min";
  c.login_attempts_per_min = 0;
  return c;
}

// A raw connection that keeps every frame it reads, so a test can ask for a
// reply and still look at the events that came before it.
class Peer {
 public:
  Peer(std::uint16_t port, const std::string& nick, const char* source = "127.0.0.1",
       const std::string& password = {})
      : conn_(port, 0, source) {
    v1::ClientFrame hello;
    hello.mutable_hello()->set_nick(nick);
    hello.mutable_hello()->set_password(password);
    hello_ = ask(std::move(hello));
  }
  const v1::ServerFrame& hello() const { return hello_; }

  v1::ServerFrame ask(v1::ClientFrame frame) {
    const std::uint64_t id = ++next_id_;
    frame.set_request_id(id);
    conn_.send_frame(frame);
    auto reply = next([id](const v1::ServerFrame& f) { return f.request_id() == id; });
    if (reply) return *reply;
    v1::ServerFrame none;
    none.mutable_error()->set_message("no reply");
    return none;
  }
  // The first frame seen (or read from now on) that matches, taking it.
  std::optional<v1::ServerFrame> next(const std::function<bool(const v1::ServerFrame&)>& pred,
                                      std::chrono::milliseconds timeout = 5s) {
    for (auto it = seen_.begin(); it != seen_.end(); ++it) {
      if (pred(*it)) {
        v1::ServerFrame f = std::move(*it);
        seen_.erase(it);
        return f;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto f = conn_.read_frame(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!f) return std::nullopt;
      if (pred(*f)) return f;
      seen_.push_back(std::move(*f));
    }
    return std::nullopt;
  }
  std::optional<v1::Moderation> moderation(Moderation::Action action) {
    auto f = next([action](const v1::ServerFrame& frame) { return frame.has_moderation() && frame.moderation().action() == action; });
    if (!f) return std::nullopt;
    return f->moderation();
  }

  v1::ServerFrame join(const std::string& room, const std::string& key = {}) {
    v1::ClientFrame f;
    f.mutable_join()->set_room(room);
    f.mutable_join()->set_key(key);
    return ask(std::move(f));
  }
  v1::ServerFrame say(const std::string& room, const std::string& text) {
    return ask(say_frame(room, text, 0));
  }
  v1::ServerFrame kick(const std::string& room, const std::string& nick, const std::string& reason = {}) {
    v1::ClientFrame f;
    f.mutable_kick()->set_room(room);
    f.mutable_kick()->set_nick(nick);
    f.mutable_kick()->set_reason(reason);
    return ask(std::move(f));
  }
  v1::ServerFrame ban(const std::string& room, const std::string& mask, std::uint32_t duration_s = 0) {
    v1::ClientFrame f;
    f.mutable_ban()->set_room(room);
    f.mutable_ban()->set_mask(mask);
    f.mutable_ban()->set_reason("spam");
    f.mutable_ban()->set_duration_s(duration_s);
    return ask(std::move(f));
  }
  v1::ServerFrame unban(const std::string& room, const std::string& mask) {
    v1::ClientFrame f;
    f.mutable_unban()->set_room(room);
    f.mutable_unban()->set_mask(mask);
    return ask(std::move(f));
  }
  v1::ServerFrame invite(const std::string& room, const std::string& nick) {
    v1::ClientFrame f;
    f.mutable_invite()->set_room(room);
    f.mutable_invite()->set_nick(nick);
    return ask(std::move(f));
  }
  v1::ServerFrame modes(v1::SetModesRequest modes) {
    v1::ClientFrame f;
    *f.mutable_set_modes() = std::move(modes);
    return ask(std::move(f));
  }
  v1::ServerFrame role(const std::string& room, const std::string& nick, v1::Role role) {
    v1::ClientFrame f;
    f.mutable_set_role()->set_room(room);
    f.mutable_set_role()->set_nick(nick);
    f.mutable_set_role()->set_role(role);
    return ask(std::move(f));
  }
  v1::ServerFrame topic(const std::string& room, const std::string& text) { return ask(set_topic_frame(room, text, 0)); }
  v1::ServerFrame who(const std::string& room) { return ask(who_frame(room, 0)); }
  v1::ServerFrame register_account() {
    v1::ClientFrame f;
    f.mutable_register_account()->set_password(kPassword);
    return ask(std::move(f));
  }

 private:
  RawConnection conn_;
  std::uint64_t next_id_ = 0;
  v1::ServerFrame hello_;
  std::vector<v1::ServerFrame> seen_;
};

v1::SetModesRequest modes_of(const std::string& room) {
  v1::SetModesRequest m;
  m.set_room(room);
  return m;
}

bool has_message(Peer& p, const std::string& text) {
  return p.next([&](const v1::ServerFrame& f) { return f.has_message() && f.message().text() == text; }).has_value();
}

class KeepersTest : public ::testing::Test {
 protected:
  explicit KeepersTest(server::Config config = keepers_config()) : server_(std::move(config)) {}
  std::uint16_t port() { return server_.port(); }
  RunningServer server_;
};

TEST_F(KeepersTest, TheFounderKicksAMemberWhoMayComeBackAndTheBystanderIsUntouched) {
  Peer alice(port(), "alice");
  auto founded = alice.join("#team");
  ASSERT_TRUE(founded.has_join()) << founded.DebugString();
  EXPECT_EQ(founded.join().role(), v1::ROLE_FOUNDER);
  Peer bob(port(), "bob", "127.0.0.2");
  Peer carol(port(), "carol", "127.0.0.3");
  auto joined = bob.join("#team");
  ASSERT_TRUE(joined.has_join());
  EXPECT_EQ(joined.join().role(), v1::ROLE_MEMBER);
  ASSERT_TRUE(carol.join("#team").has_join());

  EXPECT_EQ(code_of(bob.kick("#team", "alice")), Error::CODE_NOT_AN_OP);
  EXPECT_EQ(code_of(alice.kick("#team", "nobody")), Error::CODE_NO_SUCH_NICK);
  auto ack = alice.kick("#team", "BOB", "spam");
  ASSERT_TRUE(ack.has_moderation_ack()) << ack.DebugString();
  EXPECT_EQ(ack.moderation_ack().action(), Moderation::ACTION_KICKED);
  EXPECT_EQ(ack.moderation_ack().target(), "bob");
  EXPECT_EQ(ack.moderation_ack().by(), "alice");

  // bob is told (the event is the last the room sends him) and can no longer speak there.
  auto told = bob.moderation(Moderation::ACTION_KICKED);
  ASSERT_TRUE(told);
  EXPECT_EQ(told->reason(), "spam");
  EXPECT_EQ(code_of(bob.say("#team", "still here?")), Error::CODE_NOT_A_MEMBER);

  // carol saw the kick and bob leave, and the room goes on for her.
  EXPECT_TRUE(carol.moderation(Moderation::ACTION_KICKED));
  auto left = carol.next([](const v1::ServerFrame& f) {
    return f.has_presence() && f.presence().nick() == "bob" && f.presence().reason() == v1::Presence::REASON_KICKED;
  });
  EXPECT_TRUE(left);
  ASSERT_TRUE(alice.say("#team", "carry on").has_message());
  EXPECT_TRUE(has_message(carol, "carry on"));
  auto who = carol.who("#team");
  ASSERT_TRUE(who.has_who());
  EXPECT_EQ(who.who().member_count(), 2U);

  // A kick is not a ban.
  EXPECT_TRUE(bob.join("#team").has_join());
}

TEST_F(KeepersTest, ABanByNickKeepsTheSameAddressOutUnderAnotherNickUntilUnbanned) {
  Peer alice(port(), "alice");
  ASSERT_TRUE(alice.join("#team").has_join());
  Peer carol(port(), "carol", "127.0.0.3");
  ASSERT_TRUE(carol.join("#team").has_join());
  {
    Peer bob(port(), "bob", "127.0.0.2");
    ASSERT_TRUE(bob.join("#team").has_join());
    EXPECT_EQ(code_of(alice.ban("#team", "not a mask!")), Error::CODE_INVALID_MASK);
    EXPECT_EQ(code_of(alice.ban("#team", "address:300.1.1.1")), Error::CODE_INVALID_MASK);
    auto ack = alice.ban("#team", "bob");
    ASSERT_TRUE(ack.has_moderation_ack()) << ack.DebugString();
    EXPECT_EQ(ack.moderation_ack().action(), Moderation::ACTION_BANNED);
    ASSERT_EQ(ack.moderation_ack().removed_size(), 1);
    EXPECT_EQ(ack.moderation_ack().removed(0), "bob");
    EXPECT_EQ(ack.moderation_ack().target(), "bob address:127.0.0.2");
    EXPECT_TRUE(bob.moderation(Moderation::ACTION_BANNED));
    EXPECT_EQ(code_of(bob.say("#team", "hello?")), Error::CODE_NOT_A_MEMBER);
    EXPECT_EQ(code_of(bob.join("#team")), Error::CODE_BANNED);
  }
  // Back from the same address under another nick: still out.
  Peer bobby(port(), "bobby", "127.0.0.2");
  EXPECT_EQ(code_of(bobby.join("#team")), Error::CODE_BANNED);
  // Others are not: carol stays, and dave from carol's address joins.
  Peer dave(port(), "dave", "127.0.0.3");
  EXPECT_TRUE(dave.join("#team").has_join());
  ASSERT_TRUE(carol.say("#team", "still fine").has_message());
  EXPECT_TRUE(has_message(alice, "still fine"));

  // The op sees the ban; a member does not.
  auto listed = alice.modes(modes_of("#team"));
  ASSERT_TRUE(listed.has_modes()) << listed.DebugString();
  ASSERT_EQ(listed.modes().bans_size(), 1);
  EXPECT_EQ(listed.modes().bans(0).nick(), "bob");
  EXPECT_EQ(listed.modes().bans(0).set_by(), "alice");
  auto as_member = carol.modes(modes_of("#team"));
  ASSERT_TRUE(as_member.has_modes());
  EXPECT_EQ(as_member.modes().bans_size(), 0);

  EXPECT_EQ(code_of(alice.unban("#team", "nobody")), Error::CODE_INVALID_MASK);
  ASSERT_TRUE(alice.unban("#team", "address:127.0.0.2").has_moderation_ack());
  EXPECT_TRUE(bobby.join("#team").has_join());
}

TEST_F(KeepersTest, AnAccountBanFollowsTheAccountAndABanWithADurationExpires) {
  Peer alice(port(), "alice");
  ASSERT_TRUE(alice.join("#team").has_join());
  {
    Peer bob(port(), "bob", "127.0.0.2");
    ASSERT_TRUE(bob.register_account().has_account());
  }
  ASSERT_TRUE(alice.ban("#team", "account:bob").has_moderation_ack());
  Peer bob(port(), "bob", "127.0.0.4", kPassword);  // another address, the same account
  ASSERT_TRUE(bob.hello().has_hello()) << bob.hello().DebugString();
  EXPECT_EQ(code_of(bob.join("#team")), Error::CODE_BANNED);

  Peer erin(port(), "erin", "127.0.0.5");
  ASSERT_TRUE(alice.ban("#team", "address:127.0.0.0/30", 1).has_moderation_ack());
  Peer frank(port(), "frank", "127.0.0.6");  // outside the block
  EXPECT_TRUE(frank.join("#team").has_join());
  Peer gina(port(), "gina", "127.0.0.2");  // inside it
  EXPECT_EQ(code_of(gina.join("#team")), Error::CODE_BANNED);
  std::this_thread::sleep_for(1100ms);
  EXPECT_TRUE(gina.join("#team").has_join());
}

TEST_F(KeepersTest, InviteOnlyKeyAndLimitRefuseJoinsWithTypedErrorsAndAnInvitePasses) {
  Peer alice(port(), "alice");
  ASSERT_TRUE(alice.join("#team").has_join());
  Peer carol(port(), "carol", "127.0.0.3");
  auto m = modes_of("#team");
  m.set_invite_only(true);
  EXPECT_EQ(code_of(carol.modes(m)), Error::CODE_NOT_A_MEMBER);
  auto set = alice.modes(m);
  ASSERT_TRUE(set.has_moderation_ack()) << set.DebugString();
  EXPECT_TRUE(set.moderation_ack().modes().invite_only());
  EXPECT_EQ(code_of(carol.join("#team")), Error::CODE_INVITE_ONLY);
  ASSERT_TRUE(alice.invite("#team", "carol").has_moderation_ack());
  auto invited = carol.moderation(Moderation::ACTION_INVITED);  // told, though not in the room
  ASSERT_TRUE(invited);
  EXPECT_EQ(invited->room(), "#team");
  EXPECT_EQ(invited->by(), "alice");
  auto joined = carol.join("#team");
  ASSERT_TRUE(joined.has_join());
  EXPECT_TRUE(joined.join().modes().invite_only());
  ASSERT_TRUE(alice.kick("#team", "carol").has_moderation_ack());
  EXPECT_EQ(code_of(carol.join("#team")), Error::CODE_INVITE_ONLY);  // an invite is good for one join

  auto keyed = modes_of("#team");
  keyed.set_invite_only(false);
  keyed.set_key("sesame");
  auto key_set = alice.modes(keyed);
  ASSERT_TRUE(key_set.has_moderation_ack());
  EXPECT_TRUE(key_set.moderation_ack().modes().has_key());
  EXPECT_EQ(code_of(carol.join("#team")), Error::CODE_BAD_KEY);
  EXPECT_EQ(code_of(carol.join("#team", "open")), Error::CODE_BAD_KEY);
  ASSERT_TRUE(carol.join("#team", "sesame").has_join());

  auto limited = modes_of("#team");
  limited.set_member_limit(2);
  ASSERT_TRUE(alice.modes(limited).has_moderation_ack());
  Peer dave(port(), "dave", "127.0.0.4");
  EXPECT_EQ(code_of(dave.join("#team", "sesame")), Error::CODE_ROOM_FULL);
  ASSERT_TRUE(alice.invite("#team", "dave").has_moderation_ack());
  EXPECT_TRUE(dave.join("#team").has_join());  // an invite passes the key and the limit
  // carol, a bystander in the room all along, saw each change.
  EXPECT_TRUE(carol.moderation(Moderation::ACTION_MODES_CHANGED));
  EXPECT_TRUE(carol.moderation(Moderation::ACTION_INVITED));
}

TEST_F(KeepersTest, TopicLockModeratedVoiceAndOpsActWithinTheirRank) {
  Peer alice(port(), "alice");
  ASSERT_TRUE(alice.join("#team").has_join());
  Peer bob(port(), "bob", "127.0.0.2");
  Peer carol(port(), "carol", "127.0.0.3");
  ASSERT_TRUE(bob.join("#team").has_join());
  ASSERT_TRUE(carol.join("#team").has_join());
  auto m = modes_of("#team");
  m.set_topic_lock(true);
  m.set_moderated(true);
  ASSERT_TRUE(alice.modes(m).has_moderation_ack());

  EXPECT_EQ(code_of(bob.topic("#team", "mine now")), Error::CODE_NOT_AN_OP);
  EXPECT_TRUE(alice.topic("#team", "alice's room").has_topic());
  EXPECT_EQ(code_of(bob.say("#team", "can I speak?")), Error::CODE_NOT_VOICED);
  auto voiced = alice.role("#team", "bob", v1::ROLE_VOICED);
  ASSERT_TRUE(voiced.has_moderation_ack()) << voiced.DebugString();
  EXPECT_EQ(voiced.moderation_ack().role(), v1::ROLE_VOICED);
  EXPECT_TRUE(bob.moderation(Moderation::ACTION_ROLE_CHANGED));
  ASSERT_TRUE(bob.say("#team", "now I can").has_message());
  EXPECT_TRUE(has_message(carol, "now I can"));
  EXPECT_EQ(code_of(bob.kick("#team", "carol")), Error::CODE_NOT_AN_OP);  // a voice is no op

  ASSERT_TRUE(alice.role("#team", "carol", v1::ROLE_OP).has_moderation_ack());
  EXPECT_EQ(code_of(carol.role("#team", "bob", v1::ROLE_FOUNDER)), Error::CODE_NOT_AN_OP);
  EXPECT_EQ(code_of(carol.kick("#team", "alice")), Error::CODE_NOT_AN_OP);  // nobody acts on the founder
  EXPECT_EQ(code_of(carol.ban("#team", "alice")), Error::CODE_NOT_AN_OP);
  ASSERT_TRUE(carol.role("#team", "bob", v1::ROLE_OP).has_moderation_ack());  // an op makes ops
  EXPECT_EQ(code_of(carol.role("#team", "bob", v1::ROLE_MEMBER)), Error::CODE_NOT_AN_OP);  // not unmakes them
  ASSERT_TRUE(alice.role("#team", "bob", v1::ROLE_MEMBER).has_moderation_ack());  // the founder does
  EXPECT_EQ(code_of(bob.say("#team", "and now?")), Error::CODE_NOT_VOICED);
  EXPECT_TRUE(carol.kick("#team", "bob").has_moderation_ack());
}

TEST_F(KeepersTest, PrivateRoomsAreReadByMembersOnlyAndSecretOnesAreNotListed) {
  Peer alice(port(), "alice");
  ASSERT_TRUE(alice.join("#team").has_join());
  ASSERT_TRUE(alice.join("#open").has_join());
  ASSERT_TRUE(alice.topic("#team", "the plan").has_topic());
  ASSERT_TRUE(alice.topic("#open", "all welcome").has_topic());
  ASSERT_TRUE(alice.say("#team", "secret plan").has_message());
  auto m = modes_of("#team");
  m.set_secret(true);
  ASSERT_TRUE(alice.modes(m).has_moderation_ack());

  Peer eve(port(), "eve", "127.0.0.6");
  EXPECT_EQ(code_of(eve.who("#team")), Error::CODE_NOT_A_MEMBER);
  EXPECT_EQ(code_of(eve.ask(history_frame("#team", 10, 0))), Error::CODE_NOT_A_MEMBER);
  v1::ClientFrame get_topic;
  get_topic.mutable_get_topic()->set_room("#team");
  EXPECT_EQ(code_of(eve.ask(get_topic)), Error::CODE_NOT_A_MEMBER);
  EXPECT_EQ(code_of(eve.modes(modes_of("#team"))), Error::CODE_NOT_A_MEMBER);
  v1::ClientFrame list;
  list.mutable_list_rooms();
  auto rooms = eve.ask(list);
  ASSERT_TRUE(rooms.has_list_rooms());
  ASSERT_EQ(rooms.list_rooms().rooms_size(), 1);
  EXPECT_EQ(rooms.list_rooms().rooms(0).name(), "#open");
  EXPECT_EQ(rooms.list_rooms().rooms(0).topic(), "all welcome");
  // A public room stays readable from outside.
  EXPECT_TRUE(eve.who("#open").has_who());

  // Invite-only: listed, without its topic, and still not readable.
  m.set_secret(false);
  m.set_invite_only(true);
  ASSERT_TRUE(alice.modes(m).has_moderation_ack());
  rooms = eve.ask(list);
  ASSERT_EQ(rooms.list_rooms().rooms_size(), 2);
  EXPECT_EQ(rooms.list_rooms().rooms(1).name(), "#team");
  EXPECT_EQ(rooms.list_rooms().rooms(1).topic(), "");
  EXPECT_EQ(code_of(eve.ask(history_frame("#team", 10, 0))), Error::CODE_NOT_A_MEMBER);
}

// A guest founds a room while it stays; once the room empties its next
// joiner founds it afresh (as an IRC channel without services). A room an
// account founded keeps its keeper, modes and bans through being empty.
TEST_F(KeepersTest, AnEmptiedGuestRoomIsFoundedAfreshAndAnAccountsRoomIsKept) {
  {
    Peer alice(port(), "alice");
    ASSERT_EQ(alice.join("#guests").join().role(), v1::ROLE_FOUNDER);
    ASSERT_TRUE(alice.say("#guests", "kept for its history").has_message());
    auto invite_only = modes_of("#guests");
    invite_only.set_invite_only(true);
    ASSERT_TRUE(alice.modes(invite_only).has_moderation_ack());
    ASSERT_TRUE(alice.ban("#guests", "bob").has_moderation_ack());
    ASSERT_TRUE(alice.ask(leave_frame("#guests", 0)).has_leave());
  }
  Peer bob(port(), "bob", "127.0.0.2");
  auto refounded = bob.join("#guests");
  ASSERT_TRUE(refounded.has_join()) << refounded.DebugString();
  EXPECT_EQ(refounded.join().role(), v1::ROLE_FOUNDER);
  EXPECT_FALSE(refounded.join().modes().invite_only());
  EXPECT_EQ(refounded.join().last_seq(), 1U) << "the history stays";

  {
    Peer carol(port(), "carol", "127.0.0.3");
    ASSERT_TRUE(carol.register_account().has_account());
    ASSERT_EQ(carol.join("#kept").join().role(), v1::ROLE_FOUNDER);
    auto invite_only = modes_of("#kept");
    invite_only.set_invite_only(true);
    ASSERT_TRUE(carol.modes(invite_only).has_moderation_ack());
    ASSERT_TRUE(carol.ask(leave_frame("#kept", 0)).has_leave());
  }
  EXPECT_EQ(code_of(bob.join("#kept")), Error::CODE_INVITE_ONLY);
  Peer carol(port(), "carol", "127.0.0.3", kPassword);
  ASSERT_TRUE(carol.hello().has_hello()) << carol.hello().DebugString();
  EXPECT_EQ(carol.join("#kept").join().role(), v1::ROLE_FOUNDER);
}

class BanLimitTest : public KeepersTest {
 protected:
  static server::Config config() {
    auto c = keepers_config();
    c.max_bans_per_room = 2;
    return c;
  }
  BanLimitTest() : KeepersTest(config()) {}
};

TEST_F(BanLimitTest, ARoomKeepsItsMostBansAndTheRoomGoesOn) {
  Peer alice(port(), "alice");
  ASSERT_TRUE(alice.join("#team").has_join());
  Peer carol(port(), "carol", "127.0.0.3");
  ASSERT_TRUE(carol.join("#team").has_join());
  ASSERT_TRUE(alice.ban("#team", "spammer1").has_moderation_ack());
  ASSERT_TRUE(alice.ban("#team", "spammer2").has_moderation_ack());
  EXPECT_EQ(code_of(alice.ban("#team", "spammer3")), Error::CODE_TOO_MANY_BANS);
  EXPECT_TRUE(alice.ban("#team", "spammer2", 60).has_moderation_ack());  // the same ban again replaces it
  ASSERT_TRUE(alice.unban("#team", "spammer1").has_moderation_ack());
  EXPECT_TRUE(alice.ban("#team", "spammer3").has_moderation_ack());
  ASSERT_TRUE(carol.say("#team", "unaffected").has_message());
  EXPECT_TRUE(has_message(alice, "unaffected"));
}

class ModerationRateTest : public KeepersTest {
 protected:
  static server::Config config() {
    auto c = keepers_config();
    c.moderation_rate = 3;
    return c;
  }
  ModerationRateTest() : KeepersTest(config()) {}
};

TEST_F(ModerationRateTest, AnOpPastItsBudgetIsToldToWaitAndTheRoomGoesOn) {
  Peer alice(port(), "alice");
  ASSERT_TRUE(alice.join("#team").has_join());
  Peer carol(port(), "carol", "127.0.0.3");
  ASSERT_TRUE(carol.join("#team").has_join());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(alice.invite("#team", "guest" + std::to_string(i)).has_moderation_ack());
  auto refused = alice.invite("#team", "guest3");
  ASSERT_EQ(code_of(refused), Error::CODE_RATE_LIMITED) << refused.DebugString();
  EXPECT_GT(refused.error().retry_after_ms(), 0U);
  ASSERT_TRUE(alice.modes(modes_of("#team")).has_modes()) << "reading the modes costs no budget";
  ASSERT_TRUE(carol.say("#team", "unaffected").has_message());
  EXPECT_TRUE(has_message(alice, "unaffected"));
  EXPECT_EQ(code_of(carol.invite("#team", "x")), Error::CODE_NOT_AN_OP);
}

// The durable store keeps the founder, roles, modes and bans: chatd is
// killed and started again on the same data.
TEST(KeepersStoreTest, FounderRolesModesAndBansSurviveAKill) {
  TempDir data("chatd-keepers");
  const std::vector<std::string> args = {"--reactors", "2", "--password-cost", "min", "--login-attempts", "0"};
  {
    ChatdProcess chatd({.args = args, .data_dir = data.str()});
    Peer alice(chatd.port(), "alice");
    ASSERT_TRUE(alice.register_account().has_account());
    ASSERT_EQ(alice.join("#team").join().role(), v1::ROLE_FOUNDER);
    Peer bob(chatd.port(), "bob", "127.0.0.2");
    ASSERT_TRUE(bob.register_account().has_account());
    ASSERT_TRUE(bob.join("#team").has_join());
    ASSERT_TRUE(alice.role("#team", "bob", v1::ROLE_OP).has_moderation_ack());
    ASSERT_TRUE(alice.ban("#team", "mallory").has_moderation_ack());
    auto m = modes_of("#team");
    m.set_invite_only(true);
    m.set_topic_lock(true);
    ASSERT_TRUE(alice.modes(m).has_moderation_ack());
    // The room's owner hands the store its writes in order, and a say is
    // answered once it is durable: so is every change before it.
    ASSERT_TRUE(alice.say("#team", "checkpoint").has_message());
    chatd.stop(SIGKILL, 5s);
  }
  ChatdProcess chatd({.args = args, .data_dir = data.str()});
  Peer alice(chatd.port(), "alice", "127.0.0.1", kPassword);
  ASSERT_TRUE(alice.hello().has_hello());
  auto back = alice.join("#team");
  ASSERT_TRUE(back.has_join()) << back.DebugString();
  EXPECT_EQ(back.join().role(), v1::ROLE_FOUNDER);
  EXPECT_TRUE(back.join().modes().invite_only());
  EXPECT_TRUE(back.join().modes().topic_lock());
  Peer bob(chatd.port(), "bob", "127.0.0.2", kPassword);
  auto op = bob.join("#team");  // an op passes invite-only
  ASSERT_TRUE(op.has_join()) << op.DebugString();
  EXPECT_EQ(op.join().role(), v1::ROLE_OP);
  Peer mallory(chatd.port(), "mallory", "127.0.0.7");
  EXPECT_EQ(code_of(mallory.join("#team")), Error::CODE_BANNED);
  Peer carol(chatd.port(), "carol", "127.0.0.3");
  EXPECT_EQ(code_of(carol.join("#team")), Error::CODE_INVITE_ONLY);
  auto listed = alice.modes(modes_of("#team"));
  ASSERT_TRUE(listed.has_modes());
  EXPECT_EQ(listed.modes().founder(), "alice");
  ASSERT_EQ(listed.modes().ops_size(), 1);
  EXPECT_EQ(listed.modes().ops(0), "bob");
}

}  // namespace
}  // namespace chat::testing
