// How the terminal client prints events in line mode: the plain line and
// the JSON object of every event kind, and the timestamps on them.
#include "client/chat/format.hpp"
#include "client/chat/moderation.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <nlohmann/json.hpp>
#include <optional>

namespace chat::term {
namespace {

using nlohmann::json;

// Local time is what a person wants to read; the tests pin the zone to UTC
// so that the expected clock is known, and put the caller's zone back.
class ChatFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* tz = ::getenv("TZ")) saved_tz_ = tz;
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  void TearDown() override {
    if (saved_tz_) {
      ::setenv("TZ", saved_tz_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

  // 2024-05-06 14:09:45.678 UTC
  static constexpr std::int64_t kTs = 1715004585678;

  static json parsed(const UiEvent& e) {
    const std::string line = json_line(e);
    EXPECT_EQ(line.find('\n'), std::string::npos) << "one line per event";
    return json::parse(line);
  }

 private:
  std::optional<std::string> saved_tz_;
};

TEST_F(ChatFormatTest, ClockIsLocalHoursMinutesSeconds) {
  EXPECT_EQ(format_clock(kTs), "14:09:45");
  EXPECT_EQ(format_clock(0), "00:00:00");
  EXPECT_EQ(format_clock(86'399'999), "23:59:59");  // milliseconds are cut, not rounded
  ::setenv("TZ", "UTC-2", 1);                       // POSIX: two hours east
  ::tzset();
  EXPECT_EQ(format_clock(kTs), "16:09:45");
}

TEST_F(ChatFormatTest, PlainLinesCarryTheEventsTime) {
  const MessageEvent m{kTs, "#general", "scripty", "hello from a script", 7};
  EXPECT_EQ(plain_bodies(m), std::vector<std::string>{"#general <scripty> hello from a script"});
  EXPECT_EQ(plain_lines(m), std::vector<std::string>{"[14:09:45] #general <scripty> hello from a script"});
  EXPECT_EQ(event_time(m), kTs);
  // Status-only events have no time and print nothing.
  EXPECT_EQ(event_time(StatusEvent{}), 0);
  EXPECT_TRUE(plain_lines(StatusEvent{}).empty());
  EXPECT_TRUE(plain_lines(QuitEvent{}).empty());
}

TEST_F(ChatFormatTest, Messages) {
  MessageEvent m{kTs, "#general", "alice", "hi all", 42};
  EXPECT_EQ(plain_lines(m), std::vector<std::string>{"[14:09:45] #general <alice> hi all"});
  json j = parsed(m);
  EXPECT_EQ(j["type"], "message");
  EXPECT_EQ(j["room"], "#general");
  EXPECT_EQ(j["nick"], "alice");
  EXPECT_EQ(j["text"], "hi all");
  EXPECT_EQ(j["seq"], 42);
  EXPECT_EQ(j["action"], false);
  EXPECT_EQ(j["own"], false);
  EXPECT_EQ(j["history"], false);
  EXPECT_EQ(j["ts"], kTs);

  m.action = true;
  m.own = true;
  m.history = true;
  m.text = "waves";
  EXPECT_EQ(plain_lines(m), std::vector<std::string>{"[14:09:45] #general * alice waves"});
  j = parsed(m);
  EXPECT_EQ(j["action"], true);
  EXPECT_EQ(j["own"], true);
  EXPECT_EQ(j["history"], true);
  EXPECT_EQ(j["text"], "waves");
}

TEST_F(ChatFormatTest, DirectMessagesBothWays) {
  DirectEvent in{kTs, "bob", "psst", false};
  EXPECT_EQ(plain_lines(in), std::vector<std::string>{"[14:09:45] *bob* psst"});
  DirectEvent out{kTs, "bob", "hi", true};
  EXPECT_EQ(plain_lines(out), std::vector<std::string>{"[14:09:45] -> *bob* hi"});
  const json j = parsed(out);
  EXPECT_EQ(j, (json{{"type", "direct"}, {"peer", "bob"}, {"text", "hi"}, {"outgoing", true}, {"stored", false},
                     {"ts", kTs}}));
}

TEST_F(ChatFormatTest, DirectMessagesKeptForAnOfflineAccountSaySo) {
  DirectEvent kept{kTs, "bob", "psst", false, true};
  EXPECT_EQ(plain_lines(kept),
            std::vector<std::string>{"[14:09:45] *bob* psst (sent while you were away, at 14:09:45)"});
  DirectEvent out{kTs, "alice", "call me", true, true};
  EXPECT_EQ(plain_lines(out), std::vector<std::string>{"[14:09:45] -> *alice* call me (kept: alice is offline)"});
  EXPECT_EQ(parsed(kept)["stored"], true);
}

TEST_F(ChatFormatTest, Presence) {
  PresenceEvent joined{kTs, "#general", "bob", "joined", ""};
  EXPECT_EQ(plain_lines(joined), std::vector<std::string>{"[14:09:45] * bob joined #general"});
  PresenceEvent quit{kTs, "#general", "bob", "quit", "slow consumer"};
  EXPECT_EQ(plain_lines(quit), std::vector<std::string>{"[14:09:45] * bob quit #general (slow consumer)"});
  EXPECT_EQ(parsed(quit), (json{{"type", "presence"},
                                {"room", "#general"},
                                {"nick", "bob"},
                                {"what", "quit"},
                                {"reason", "slow consumer"},
                                {"ts", kTs}}));
  PresenceEvent renamed{kTs, "#general", "anna", "renamed", "", "ann"};
  EXPECT_EQ(plain_lines(renamed), std::vector<std::string>{"[14:09:45] * ann is now known as anna in #general"});
  EXPECT_EQ(parsed(renamed), (json{{"type", "presence"},
                                   {"room", "#general"},
                                   {"nick", "anna"},
                                   {"what", "renamed"},
                                   {"reason", ""},
                                   {"old_nick", "ann"},
                                   {"ts", kTs}}));
}

TEST_F(ChatFormatTest, TopicsSetShownAndMissing) {
  TopicEvent changed{kTs, "#general", "welcome", "alice", true};
  EXPECT_EQ(plain_lines(changed), std::vector<std::string>{"[14:09:45] -- alice set the topic of #general: welcome"});
  TopicEvent shown{kTs, "#general", "welcome", "alice", false};
  EXPECT_EQ(plain_lines(shown), std::vector<std::string>{"[14:09:45] -- topic of #general: welcome (set by alice)"});
  TopicEvent anonymous{kTs, "#general", "welcome", "", false};
  EXPECT_EQ(plain_lines(anonymous), std::vector<std::string>{"[14:09:45] -- topic of #general: welcome"});
  TopicEvent none{kTs, "#general", "", "", false};
  EXPECT_EQ(plain_lines(none), std::vector<std::string>{"[14:09:45] -- #general has no topic"});
  EXPECT_EQ(parsed(changed), (json{{"type", "topic"},
                                   {"room", "#general"},
                                   {"topic", "welcome"},
                                   {"set_by", "alice"},
                                   {"changed", true},
                                   {"ts", kTs}}));
}

TEST_F(ChatFormatTest, JoinedShowsMembersAndTheTopicOnce) {
  JoinedEvent j{kTs, "#general", "welcome", {"alice", "scripty"}, false};
  EXPECT_EQ(plain_lines(j), (std::vector<std::string>{"[14:09:45] -- joined #general (2 members: alice, scripty)",
                                                      "[14:09:45] -- topic of #general: welcome"}));
  j.rejoined = true;  // after a reconnect the topic is not news
  EXPECT_EQ(plain_lines(j),
            std::vector<std::string>{"[14:09:45] -- rejoined #general (2 members: alice, scripty)"});
  JoinedEvent bare{kTs, "#new", "", {"alice"}, false};
  EXPECT_EQ(plain_lines(bare), std::vector<std::string>{"[14:09:45] -- joined #new (1 members: alice)"});
  EXPECT_EQ(parsed(j), (json{{"type", "joined"},
                             {"room", "#general"},
                             {"topic", "welcome"},
                             {"members", {"alice", "scripty"}},
                             {"rejoined", true},
                             {"member_count", 2},
                             {"ts", kTs}}));
}

TEST_F(ChatFormatTest, ABigRoomsJoinSaysHowManyMoreThereAreAndItsDeltasCountEveryone) {
  JoinedEvent big{kTs, "#big", "", {"alice", "bob"}, false, 5002};
  EXPECT_EQ(plain_lines(big),
            std::vector<std::string>{"[14:09:45] -- joined #big (5002 members: alice, bob, and 5000 more: /who to page)"});
  PresenceDeltaEvent d{kTs, "#big", {"carol", "dave"}, {"erin"}, 3, 1, 5004};
  EXPECT_EQ(plain_lines(d),
            std::vector<std::string>{"[14:09:45] * #big: 3 (carol, dave, ...) joined, 1 (erin) left; 5004 members"});
  PresenceDeltaEvent gone{kTs, "#big", {}, {"erin"}, 0, 1, 5003};
  EXPECT_EQ(plain_lines(gone), std::vector<std::string>{"[14:09:45] * #big: 1 (erin) left; 5003 members"});
  EXPECT_EQ(parsed(d), (json{{"type", "presence_delta"},
                             {"room", "#big"},
                             {"joined", {"carol", "dave"}},
                             {"left", {"erin"}},
                             {"joined_count", 3},
                             {"left_count", 1},
                             {"member_count", 5004},
                             {"ts", kTs}}));
  const WhoEvent page{kTs, "#big", {"alice", "bob"}, 5004, "bob"};
  EXPECT_EQ(plain_lines(page), (std::vector<std::string>{"[14:09:45] -- #big (5004): alice bob",
                                                         "[14:09:45] -- more: /who #big bob"}));
  EXPECT_EQ(parsed(page)["next_cursor"], "bob");
}

TEST_F(ChatFormatTest, PartedAndWho) {
  const PartedEvent p{kTs, "#general"};
  EXPECT_EQ(plain_lines(p), std::vector<std::string>{"[14:09:45] -- left #general"});
  EXPECT_EQ(parsed(p), (json{{"type", "parted"}, {"room", "#general"}, {"ts", kTs}}));
  const WhoEvent w{kTs, "#general", {"alice", "scripty"}};
  EXPECT_EQ(plain_lines(w), std::vector<std::string>{"[14:09:45] -- #general (2): alice scripty"});
  EXPECT_EQ(parsed(w), (json{{"type", "who"}, {"room", "#general"}, {"nicks", {"alice", "scripty"}}, {"member_count", 2}, {"ts", kTs}}));
}

TEST_F(ChatFormatTest, RoomListOneLinePerRoom) {
  RoomListEvent l;
  l.ts_ms = kTs;
  l.rooms.push_back({"#general", "welcome", 2, 17});
  l.rooms.push_back({"#quiet", "", 1, 0});
  EXPECT_EQ(plain_lines(l), (std::vector<std::string>{"[14:09:45] -- 2 rooms",
                                                      "[14:09:45] --   #general 2 members: welcome",
                                                      "[14:09:45] --   #quiet 1 members"}));
  const json j = parsed(l);
  EXPECT_EQ(j["type"], "rooms");
  ASSERT_EQ(j["rooms"].size(), 2u);
  EXPECT_EQ(j["rooms"][0], (json{{"name", "#general"}, {"members", 2}, {"topic", "welcome"}, {"last_seq", 17}}));
  EXPECT_EQ(j["rooms"][1]["name"], "#quiet");
  RoomListEvent empty;
  empty.ts_ms = kTs;
  EXPECT_EQ(plain_lines(empty), std::vector<std::string>{"[14:09:45] -- 0 rooms"});
}

TEST_F(ChatFormatTest, ModerationSaysWhoDidWhatToWhomAndWhy) {
  auto line = [](const ModerationEvent& e) { return plain_bodies(e).front(); };
  ModerationEvent kick{kTs, "#r", "kicked", "alice", "bob", "spam"};
  EXPECT_EQ(plain_lines(kick), std::vector<std::string>{"[14:09:45] * bob was kicked from #r by alice (spam)"});
  kick.you = true;
  EXPECT_EQ(line(kick), "* you were kicked from #r by alice (spam)");
  kick.reason = "";
  EXPECT_EQ(line(kick), "* you were kicked from #r by alice");

  ModerationEvent ban{kTs, "#r", "banned", "alice", "account:bob", "flooding"};
  EXPECT_EQ(line(ban), "* alice banned account:bob from #r until unbanned (flooding)");
  ban.expires_at_ms = kTs + 2 * 3600 * 1000;
  ban.removed = {"bob", "bob2"};
  EXPECT_EQ(line(ban), "* alice banned account:bob from #r for 2h (flooding); removed bob, bob2");
  ban.you = true;
  ban.expires_at_ms = kTs + 90 * 60 * 1000;
  EXPECT_EQ(line(ban), "* you were banned from #r by alice for 1h30m (flooding)");

  EXPECT_EQ(line(ModerationEvent{kTs, "#r", "unbanned", "alice", "bob"}), "* alice lifted the ban on bob in #r");

  ModerationEvent invite{kTs, "#x", "invited", "alice", "carol"};
  EXPECT_EQ(line(invite), "* alice invited carol to #x");
  invite.you = true;
  invite.elsewhere = true;
  EXPECT_EQ(line(invite), "* you were invited to #x by alice (/join #x)");

  ModerationEvent modes{kTs, "#r", "modes", "alice", ""};
  modes.modes = "+i +k";
  EXPECT_EQ(line(modes), "* alice set the modes of #r: +i +k") << "the modes before were not known";
  modes.changes = "+k -t";
  EXPECT_EQ(line(modes), "* alice set +k -t in #r");
  modes.changes = "";
  modes.modes = "";
  EXPECT_EQ(line(modes), "* alice set the modes of #r: none");

  ModerationEvent role{kTs, "#r", "role", "alice", "bob"};
  role.role = "op";
  EXPECT_EQ(line(role), "* bob is now an op in #r (by alice)");
  role.role = "voiced";
  EXPECT_EQ(line(role), "* bob is now voiced in #r (by alice)");
  role.role = "member";
  role.you = true;
  EXPECT_EQ(line(role), "* you are now a plain member in #r (by alice)");
}

TEST_F(ChatFormatTest, ModerationAsJson) {
  ModerationEvent ban{kTs, "#r", "banned", "alice", "bob", "spam"};
  ban.expires_at_ms = kTs + 600000;
  ban.removed = {"bob"};
  EXPECT_EQ(parsed(ban), (json{{"type", "moderation"},
                               {"room", "#r"},
                               {"what", "banned"},
                               {"by", "alice"},
                               {"target", "bob"},
                               {"reason", "spam"},
                               {"modes", ""},
                               {"changes", ""},
                               {"role", ""},
                               {"expires_at_ms", kTs + 600000},
                               {"removed", {"bob"}},
                               {"you", false},
                               {"elsewhere", false},
                               {"ts", kTs}}));
}

TEST_F(ChatFormatTest, ModesListTheModesFounderOpsAndBans) {
  ModesEvent e{kTs, "#r", "+i +l 20", "alice", {}, {"bob", "carol"}};
  e.bans.push_back({"bob", "alice", "spam", kTs - 1000, kTs + 600000});
  e.bans.push_back({"account:eve address:10.0.0.0/8", "", "", kTs - 1000, 0});
  EXPECT_EQ(plain_bodies(e), (std::vector<std::string>{"-- modes of #r: +i +l 20", "-- founder of #r: alice",
                                                       "-- ops of #r: bob, carol", "-- 2 bans on #r:",
                                                       "--   bob (by alice, 10m left): spam",
                                                       "--   account:eve address:10.0.0.0/8 (until unbanned)"}));
  const ModesEvent none{kTs, "#q", "", "", {}, {}};
  EXPECT_EQ(plain_bodies(none), std::vector<std::string>{"-- #q has no modes"});
  const json j = parsed(e);
  EXPECT_EQ(j["type"], "modes");
  EXPECT_EQ(j["modes"], "+i +l 20");
  EXPECT_EQ(j["founder"], "alice");
  EXPECT_EQ(j["ops"], (json{"bob", "carol"}));
  ASSERT_EQ(j["bans"].size(), 2u);
  EXPECT_EQ(j["bans"][0], (json{{"mask", "bob"}, {"set_by", "alice"}, {"reason", "spam"},
                                {"set_at_ms", kTs - 1000}, {"expires_at_ms", kTs + 600000}}));
}

TEST_F(ChatFormatTest, ModesAndBansInWords) {
  v1::RoomModes none;
  EXPECT_EQ(mode_string(none), "");
  v1::RoomModes all;
  all.set_invite_only(true);
  all.set_has_key(true);
  all.set_topic_lock(true);
  all.set_moderated(true);
  all.set_member_limit(20);
  all.set_secret(true);
  EXPECT_EQ(mode_string(all), "+i +k +t +m +l 20 +s");
  EXPECT_EQ(mode_changes(none, all), "+i +k +t +m +l 20 +s");
  EXPECT_EQ(mode_changes(all, none), "-i -k -t -m -l -s");
  EXPECT_EQ(mode_changes(all, all), "");
  v1::RoomModes fewer = all;
  fewer.set_topic_lock(false);
  fewer.set_member_limit(5);
  EXPECT_EQ(mode_changes(all, fewer), "-t +l 5");

  v1::Ban ban;
  ban.set_nick("bob");
  EXPECT_EQ(ban_mask(ban), "bob");
  ban.set_account("bob");
  ban.set_address("10.1.0.0/16");
  EXPECT_EQ(ban_mask(ban), "bob account:bob address:10.1.0.0/16");
  EXPECT_EQ(role_name(v1::ROLE_OP), "op");
  EXPECT_EQ(role_name(v1::ROLE_VOICED), "voiced");
  EXPECT_EQ(role_name(v1::ROLE_MEMBER), "member");
  EXPECT_EQ(role_name(v1::ROLE_FOUNDER), "founder");

  ModeChange change;
  change.invite_only = false;
  change.key = "";
  const v1::SetModesRequest r = modes_request(change);
  EXPECT_TRUE(r.has_invite_only());
  EXPECT_FALSE(r.invite_only());
  EXPECT_TRUE(r.has_key());
  EXPECT_EQ(r.key(), "");
  EXPECT_FALSE(r.has_topic_lock() || r.has_moderated() || r.has_member_limit() || r.has_secret());
}

TEST_F(ChatFormatTest, ErrorsAndInfo) {
  const ErrorEvent e{kTs, "NO_SUCH_NICK", "no one is called nobody"};
  EXPECT_EQ(plain_lines(e), std::vector<std::string>{"[14:09:45] ! NO_SUCH_NICK no one is called nobody"});
  EXPECT_EQ(parsed(e),
            (json{{"type", "error"}, {"code", "NO_SUCH_NICK"}, {"message", "no one is called nobody"}, {"ts", kTs}}));
  const InfoEvent i{kTs, "server restarted; history starts over", ""};
  EXPECT_EQ(plain_lines(i), std::vector<std::string>{"[14:09:45] -- server restarted; history starts over"});
  EXPECT_EQ(parsed(i),
            (json{{"type", "info"}, {"text", "server restarted; history starts over"}, {"room", ""}, {"ts", kTs}}));
}

TEST_F(ChatFormatTest, GapsSayHowManyAreUnavailable) {
  const GapEvent many{kTs, "#p", 7, 1, 7};
  EXPECT_EQ(plain_lines(many), std::vector<std::string>{"[14:09:45] -- 7 messages unavailable in #p"});
  const GapEvent one{kTs, "#p", 1, 4, 4};
  EXPECT_EQ(plain_lines(one), std::vector<std::string>{"[14:09:45] -- 1 message unavailable in #p"});
  EXPECT_EQ(parsed(many),
            (json{{"type", "gap"}, {"room", "#p"}, {"count", 7}, {"first_seq", 1}, {"last_seq", 7}, {"ts", kTs}}));
}

TEST_F(ChatFormatTest, EpochIsJsonOnly) {
  // The core adds a readable InfoEvent beside it.
  const EpochEvent e{kTs, 11, 22};
  EXPECT_TRUE(plain_lines(e).empty());
  EXPECT_EQ(parsed(e), (json{{"type", "epoch"}, {"old", 11}, {"new", 22}, {"ts", kTs}}));
}

TEST_F(ChatFormatTest, ConnectionStates) {
  EXPECT_EQ(plain_lines(ConnectionEvent{kTs, ConnState::kConnecting, "127.0.0.1:7777", 0}),
            std::vector<std::string>{"[14:09:45] -- connecting to 127.0.0.1:7777"});
  EXPECT_TRUE(plain_lines(ConnectionEvent{kTs, ConnState::kLoggingIn, "alice", 0}).empty());
  EXPECT_EQ(plain_lines(ConnectionEvent{kTs, ConnState::kOnline, "alice", 0}),
            std::vector<std::string>{"[14:09:45] -- connected as alice"});
  EXPECT_EQ(plain_lines(ConnectionEvent{kTs, ConnState::kWaiting, "connection closed", 1234}),
            std::vector<std::string>{"[14:09:45] -- connection closed; reconnecting in 1.2s"});
  EXPECT_EQ(plain_lines(ConnectionEvent{kTs, ConnState::kClosed, "", 0}),
            std::vector<std::string>{"[14:09:45] -- closed"});
  EXPECT_EQ(parsed(ConnectionEvent{kTs, ConnState::kWaiting, "connection closed", 1234}),
            (json{{"type", "connection"},
                  {"state", "reconnecting"},
                  {"detail", "connection closed"},
                  {"retry_in_ms", 1234},
                  {"ts", kTs}}));
  // Even the silent state has its JSON line: a script may want every state.
  EXPECT_EQ(parsed(ConnectionEvent{kTs, ConnState::kLoggingIn, "alice", 0})["state"], "logging in");
}

TEST_F(ChatFormatTest, SwitchHelpStatusAndQuit) {
  EXPECT_EQ(plain_lines(SwitchEvent{kTs, "#side"}), std::vector<std::string>{"[14:09:45] -- now talking in #side"});
  EXPECT_EQ(plain_lines(SwitchEvent{kTs, ""}), std::vector<std::string>{"[14:09:45] -- no current room"});
  EXPECT_EQ(parsed(SwitchEvent{kTs, "#side"}), (json{{"type", "switch"}, {"room", "#side"}, {"ts", kTs}}));
  const HelpEvent h{kTs, {"/join ROOM   join", "/quit   leave"}};
  EXPECT_EQ(plain_lines(h), (std::vector<std::string>{"[14:09:45] /join ROOM   join", "[14:09:45] /quit   leave"}));
  EXPECT_EQ(parsed(h), (json{{"type", "help"}, {"lines", {"/join ROOM   join", "/quit   leave"}}, {"ts", kTs}}));
  // Nothing to say for a status change; quit is a JSON line without a time.
  EXPECT_EQ(json_line(StatusEvent{}), "");
  EXPECT_EQ(parsed(QuitEvent{}), (json{{"type", "quit"}}));
}

TEST_F(ChatFormatTest, JsonHasNoTimeWhenTheEventHasNone) {
  const json j = parsed(InfoEvent{0, "x", ""});
  EXPECT_FALSE(j.contains("ts"));
}

TEST_F(ChatFormatTest, JsonSurvivesInvalidUtf8FromAPeer) {
  // A peer's bytes are not trusted: bad UTF-8 is replaced, not fatal.
  const MessageEvent m{kTs, "#general", "bob", std::string("bad \xff\xfe bytes"), 1};
  std::string line;
  ASSERT_NO_THROW(line = json_line(m));
  const json j = json::parse(line);
  EXPECT_EQ(j["text"], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
  // Quotes and newlines are escaped, so one event stays one line.
  const MessageEvent q{kTs, "#general", "bob", "say \"hi\"\nnext", 2};
  EXPECT_EQ(json::parse(json_line(q))["text"], "say \"hi\"\nnext");
}

TEST_F(ChatFormatTest, PlainLinesKeepPeersFromBreakingLinesOrDrivingTheTerminal) {
  // A newline in a message would let a peer fake a second event; an escape
  // sequence would reach the reader's terminal.
  const MessageEvent m{kTs, "#general", "mallory", "hi\n[14:09:46] -- connected as admin\x1b[2J\r\x7f!", 1};
  EXPECT_EQ(plain_lines(m),
            std::vector<std::string>{"[14:09:45] #general <mallory> hi [14:09:46] -- connected as admin [2J  !"});
  const TopicEvent t{kTs, "#general", "line\tone\nline two", "mallory", true};
  EXPECT_EQ(plain_bodies(t), std::vector<std::string>{"-- mallory set the topic of #general: line one line two"});
  // UTF-8 passes untouched.
  const MessageEvent u{kTs, "#general", "zoë", "naïve café ☕", 2};
  EXPECT_EQ(plain_bodies(u), std::vector<std::string>{"#general <zoë> naïve café ☕"});
}

TEST_F(ChatFormatTest, PlainLinesBlankC1ControlsAsTheFullScreenDoes) {
  // U+009B is CSI to a terminal that takes 8-bit controls, U+0085 a next
  // line; U+00A0 (just past them) is a character and stays.
  const MessageEvent m{kTs, "#general", "mallory", "a\u009B2Jb\u0085c\u0080\u009Fd\u00A0e", 1};
  EXPECT_EQ(plain_bodies(m), std::vector<std::string>{"#general <mallory> a 2Jb c  d\u00A0e"});
  const TopicEvent t{kTs, "#general", "\u009B31mred", "mallory", true};
  EXPECT_EQ(plain_bodies(t), std::vector<std::string>{"-- mallory set the topic of #general:  31mred"});
}

}  // namespace
}  // namespace chat::term
