// The terminal client's command parser: every command, its aliases, "//"
// for a literal slash, and what a bad argument gives.
// (/nick is left out here: its implementation is being replaced.)
#include "client/chat/commands.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>

namespace chat::term {
namespace {

// What the client acts on: `arg` for rooms, nicks and numbers, `text` for
// what is said. kAny where a command does not use the field.
const std::optional<std::string> kAny;

void expect_command(std::string_view line, CommandKind kind, const std::optional<std::string>& arg,
                    const std::optional<std::string>& text) {
  SCOPED_TRACE(std::string(line));
  const Command c = parse_command(line);
  EXPECT_EQ(c.kind, kind);
  if (arg) {
    EXPECT_EQ(c.arg, *arg);
  }
  if (text) {
    EXPECT_EQ(c.text, *text);
  }
  EXPECT_EQ(c.error, "");
}

void expect_invalid(std::string_view line, const std::string& error) {
  SCOPED_TRACE(std::string(line));
  const Command c = parse_command(line);
  EXPECT_EQ(c.kind, CommandKind::kInvalid);
  EXPECT_EQ(c.error, error);
}

TEST(ChatCommandsTest, PlainTextIsSaidAsTyped) {
  expect_command("hello there", CommandKind::kSay, kAny, "hello there");
  // Inner and leading blanks are the speaker's business.
  expect_command("  two  spaces", CommandKind::kSay, kAny, "  two  spaces");
  // The line's own end, from a pipe or another OS's editor, is not text.
  expect_command("from a script\n", CommandKind::kSay, kAny, "from a script");
  expect_command("from windows\r\n", CommandKind::kSay, kAny, "from windows");
  // A slash later in the line is just text.
  expect_command("either/or", CommandKind::kSay, kAny, "either/or");
}

TEST(ChatCommandsTest, EmptyLinesAreIgnoredSilently) {
  // kInvalid with no error: nothing is sent and nothing is shown.
  expect_invalid("", "");
  expect_invalid("   ", "");
  expect_invalid("\n", "");
  expect_invalid("\t \r\n", "");
}

TEST(ChatCommandsTest, DoubleSlashSaysTheTextWithOneSlash) {
  expect_command("//join is a command", CommandKind::kSay, kAny, "/join is a command");
  expect_command("//", CommandKind::kSay, kAny, "/");
  expect_command("///", CommandKind::kSay, kAny, "//");
}

TEST(ChatCommandsTest, JoinTakesARoomAndHasAnAlias) {
  expect_command("/join #dev", CommandKind::kJoin, "#dev", kAny);
  expect_command("/join dev", CommandKind::kJoin, "dev", kAny);
  expect_command("/j #dev", CommandKind::kJoin, "#dev", kAny);
  expect_command("  /join   #dev  ", CommandKind::kSay, kAny, "  /join   #dev  ");  // not at the line's start
  expect_command("/join   #dev  ", CommandKind::kJoin, "#dev", kAny);
  expect_invalid("/join", "usage: /join ROOM [KEY]");
  expect_invalid("/join   ", "usage: /join ROOM [KEY]");
  expect_invalid("/j", "usage: /join ROOM [KEY]");
}

TEST(ChatCommandsTest, CommandNamesIgnoreCase) {
  expect_command("/JOIN #Dev", CommandKind::kJoin, "#Dev", kAny);
  expect_command("/Quit", CommandKind::kQuit, kAny, kAny);
  expect_command("/WHO", CommandKind::kWho, "", kAny);
}

TEST(ChatCommandsTest, PartLeavesTheCurrentRoomOrANamedOne) {
  expect_command("/part", CommandKind::kPart, "", kAny);
  expect_command("/part #dev", CommandKind::kPart, "#dev", kAny);
  expect_command("/leave", CommandKind::kPart, "", kAny);
  expect_command("/leave #dev", CommandKind::kPart, "#dev", kAny);
}

TEST(ChatCommandsTest, MsgNeedsANickAndText) {
  expect_command("/msg bob hi there", CommandKind::kMsg, "bob", "hi there");
  expect_command("/msg bob   spaced   out  ", CommandKind::kMsg, "bob", "spaced   out");
  expect_invalid("/msg", "usage: /msg NICK TEXT");
  expect_invalid("/msg bob", "usage: /msg NICK TEXT");
  expect_invalid("/msg bob   ", "usage: /msg NICK TEXT");
}

TEST(ChatCommandsTest, QueryOpensADirectMessageWindowWithOptionalText) {
  // /query was an alias of /msg; now it opens a window, as in irssi.
  expect_command("/query bob", CommandKind::kQuery, "bob", "");
  expect_command("/query bob hi there", CommandKind::kQuery, "bob", "hi there");
  expect_command("/q bob", CommandKind::kQuery, "bob", "");
  expect_invalid("/query", "usage: /query NICK [TEXT]");
}

TEST(ChatCommandsTest, CloseTakesTheCurrentWindow) {
  expect_command("/close", CommandKind::kClose, "", kAny);
  expect_command("/wc", CommandKind::kClose, "", kAny);
}

TEST(ChatCommandsTest, JoinTakesAKeyAndKeepsMoreWordsForTheCoreToRefuse) {
  // One word after the room is its key (issue 13).
  expect_command("/join #vault s3cret", CommandKind::kJoin, "#vault", "s3cret");
  expect_command("/join #vault   s3cret  ", CommandKind::kJoin, "#vault", "s3cret");
  // "/join #Bad Room Name" must not become #bad: the text after it is kept,
  // and the core refuses the line (a room name has no spaces, nor a key).
  expect_command("/join #Bad Room Name", CommandKind::kJoin, "#Bad", "Room Name");
  expect_command("/join #a,#b", CommandKind::kJoin, "#a,#b", "");
}

TEST(ChatCommandsTest, KickTakesANickAndAnOptionalReason) {
  expect_command("/kick bob", CommandKind::kKick, "bob", "");
  expect_command("/kick bob  spam and  more ", CommandKind::kKick, "bob", "spam and  more");
  expect_command("/KICK bob spam", CommandKind::kKick, "bob", "spam");
  expect_invalid("/kick", "usage: /kick NICK [REASON]");
}

TEST(ChatCommandsTest, BanTakesAMaskAnOptionalDurationAndAnOptionalReason) {
  const Command plain = parse_command("/ban bob");
  EXPECT_EQ(plain.kind, CommandKind::kBan);
  EXPECT_EQ(plain.arg, "bob");
  EXPECT_EQ(plain.duration_s, 0u) << "until unbanned";
  EXPECT_EQ(plain.text, "");
  const Command timed = parse_command("/ban account:bob 2h flooding the room");
  EXPECT_EQ(timed.kind, CommandKind::kBan);
  EXPECT_EQ(timed.arg, "account:bob");
  EXPECT_EQ(timed.duration_s, 7200u);
  EXPECT_EQ(timed.text, "flooding the room");
  const Command reason_only = parse_command("/ban address:10.1.0.0/16 go away");
  EXPECT_EQ(reason_only.arg, "address:10.1.0.0/16");
  EXPECT_EQ(reason_only.duration_s, 0u);
  EXPECT_EQ(reason_only.text, "go away");
  // A bare number is not a duration: it is the reason's first word.
  const Command number = parse_command("/ban bob 10 times too many");
  EXPECT_EQ(number.duration_s, 0u);
  EXPECT_EQ(number.text, "10 times too many");
  EXPECT_EQ(parse_command("/ban bob 1d").duration_s, 86400u);
  // Something that looks like a duration and is not one is refused, not banned forever.
  expect_invalid("/ban bob 10y spam", "usage: /ban MASK [DURATION] [REASON]  (DURATION like 10m, 2h, 1d)");
  expect_invalid("/ban bob 0m", "usage: /ban MASK [DURATION] [REASON]  (DURATION like 10m, 2h, 1d)");
  expect_invalid("/ban", "usage: /ban MASK [DURATION] [REASON]");
}

TEST(ChatCommandsTest, DurationsAreUnitsOfSecondsToWeeks) {
  EXPECT_EQ(parse_duration("90s"), 90u);
  EXPECT_EQ(parse_duration("10m"), 600u);
  EXPECT_EQ(parse_duration("2h"), 7200u);
  EXPECT_EQ(parse_duration("1d"), 86400u);
  EXPECT_EQ(parse_duration("1w"), 604800u);
  EXPECT_EQ(parse_duration("1h30m"), 5400u);
  EXPECT_EQ(parse_duration("2H"), 7200u);
  for (const char* bad : {"", "10", "m", "10x", "h1", "1h30", "0s", "-5m", "1.5h", "99999999999s", "50000d"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  }
}

TEST(ChatCommandsTest, UnbanOpDeopVoiceAndDevoiceTakeOneWord) {
  expect_command("/unban bob", CommandKind::kUnban, "bob", "");
  expect_command("/unban account:bob", CommandKind::kUnban, "account:bob", "");
  expect_command("/op bob", CommandKind::kOp, "bob", "");
  expect_command("/deop bob", CommandKind::kDeop, "bob", "");
  expect_command("/voice bob", CommandKind::kVoice, "bob", "");
  expect_command("/devoice bob", CommandKind::kDevoice, "bob", "");
  expect_invalid("/unban", "usage: /unban MASK");
  expect_invalid("/unban bob carol", "usage: /unban MASK");
  expect_invalid("/op", "usage: /op NICK");
  expect_invalid("/op bob carol", "usage: /op NICK");
  expect_invalid("/deop", "usage: /deop NICK");
  expect_invalid("/voice", "usage: /voice NICK");
  expect_invalid("/devoice", "usage: /devoice NICK");
}

TEST(ChatCommandsTest, InviteTakesANickAndAnOptionalRoom) {
  expect_command("/invite carol", CommandKind::kInvite, "carol", "");
  expect_command("/invite carol #other", CommandKind::kInvite, "carol", "#other");
  expect_invalid("/invite", "usage: /invite NICK [ROOM]");
  expect_invalid("/invite carol #a #b", "usage: /invite NICK [ROOM]");
}

TEST(ChatCommandsTest, ModeWithoutArgumentsShowsAndWithThemSetsOnlyWhatIsNamed) {
  const Command show = parse_command("/mode");
  EXPECT_EQ(show.kind, CommandKind::kMode);
  EXPECT_TRUE(show.modes.empty());

  const Command set = parse_command("/mode +i +k hunter2 -t +l 20 +s -m");
  ASSERT_EQ(set.kind, CommandKind::kMode) << set.error;
  EXPECT_EQ(set.modes.invite_only, true);
  EXPECT_EQ(set.modes.key, "hunter2");
  EXPECT_EQ(set.modes.topic_lock, false);
  EXPECT_EQ(set.modes.member_limit, 20u);
  EXPECT_EQ(set.modes.secret, true);
  EXPECT_EQ(set.modes.moderated, false);

  // Only what is named changes: the rest stay absent (as they are).
  const Command one = parse_command("/mode -i");
  EXPECT_EQ(one.modes.invite_only, false);
  EXPECT_FALSE(one.modes.key || one.modes.topic_lock || one.modes.moderated || one.modes.member_limit ||
               one.modes.secret);
  // Removing the key and the limit: "" and 0.
  const Command off = parse_command("/mode -k -l");
  EXPECT_EQ(off.modes.key, "");
  EXPECT_EQ(off.modes.member_limit, 0u);
  // Letters together, as in IRC, their arguments in order.
  const Command together = parse_command("/mode +ikl s3cret 5 -t");
  ASSERT_EQ(together.kind, CommandKind::kMode) << together.error;
  EXPECT_EQ(together.modes.invite_only, true);
  EXPECT_EQ(together.modes.key, "s3cret");
  EXPECT_EQ(together.modes.member_limit, 5u);
  EXPECT_EQ(together.modes.topic_lock, false);
  const Command mixed = parse_command("/mode +i-m");
  EXPECT_EQ(mixed.modes.invite_only, true);
  EXPECT_EQ(mixed.modes.moderated, false);
}

TEST(ChatCommandsTest, ModeRefusesUnknownLettersAndMissingArguments) {
  const std::string usage = "usage: /mode [+i|-i|+k KEY|-k|+t|-t|+m|-m|+l N|-l|+s|-s ...]";
  expect_invalid("/mode +x", usage + ": no mode +x");
  expect_invalid("/mode +k", usage + ": +k needs a KEY");
  expect_invalid("/mode +l", usage + ": +l needs a number of members");
  expect_invalid("/mode +l many", usage + ": +l needs a number of members");
  expect_invalid("/mode +l -5", usage + ": +l needs a number of members");
  expect_invalid("/mode i", usage + ": expected +MODE or -MODE, not \"i\"");
  expect_invalid("/mode +", usage + ": a mode letter after +");
  expect_invalid("/mode +i stray", usage + ": expected +MODE or -MODE, not \"stray\"");
}

TEST(ChatCommandsTest, LoginTakesThePasswordWithItsSpaces) {
  // The core joins arg and text back together, as for /register.
  expect_command("/login correct horse battery", CommandKind::kLogin, "correct", "horse battery");
  expect_command("/login s3cret", CommandKind::kLogin, "s3cret", "");
  expect_invalid("/login", "usage: /login PASSWORD");
}

TEST(ChatCommandsTest, MeNeedsText) {
  expect_command("/me waves", CommandKind::kMe, kAny, "waves");
  expect_command("/me waves at bob", CommandKind::kMe, kAny, "waves at bob");
  expect_invalid("/me", "usage: /me TEXT");
  expect_invalid("/me    ", "usage: /me TEXT");
  // How an action travels: as text with this prefix.
  EXPECT_EQ(kActionPrefix, "/me ");
}

TEST(ChatCommandsTest, NickNeedsANick) {
  const Command c = parse_command("/nick anna");
  EXPECT_EQ(c.kind, CommandKind::kNick);
  EXPECT_EQ(c.arg, "anna");
  const Command bare = parse_command("/nick");
  EXPECT_EQ(bare.kind, CommandKind::kInvalid);
  EXPECT_NE(bare.error.find("/nick NICK"), std::string::npos) << bare.error;
}

TEST(ChatCommandsTest, WhoTakesAnOptionalRoom) {
  expect_command("/who", CommandKind::kWho, "", kAny);
  expect_command("/who #dev", CommandKind::kWho, "#dev", kAny);
  expect_command("/names #dev", CommandKind::kWho, "#dev", kAny);
}

TEST(ChatCommandsTest, ListTakesNothing) {
  expect_command("/list", CommandKind::kList, kAny, kAny);
  expect_command("/list   ", CommandKind::kList, kAny, kAny);
}

TEST(ChatCommandsTest, TopicShowsWithoutTextAndSetsWithIt) {
  expect_command("/topic", CommandKind::kTopic, kAny, "");
  // The whole rest of the line is the new topic.
  const Command c = parse_command("/topic  release  on friday ");
  EXPECT_EQ(c.kind, CommandKind::kTopic);
  EXPECT_EQ(c.text, "release  on friday");
}

TEST(ChatCommandsTest, HistoryTakesAnOptionalCount) {
  expect_command("/history", CommandKind::kHistory, "", kAny);
  expect_command("/history 5", CommandKind::kHistory, "5", kAny);
  expect_command("/history 200", CommandKind::kHistory, "200", kAny);
  expect_invalid("/history five", "usage: /history [N]  (N from 1)");
  expect_invalid("/history -3", "usage: /history [N]  (N from 1)");
  expect_invalid("/history 5x", "usage: /history [N]  (N from 1)");
  expect_invalid("/history 1.5", "usage: /history [N]  (N from 1)");
  expect_invalid("/history 0", "usage: /history [N]  (N from 1)");
  expect_invalid("/history 000", "usage: /history [N]  (N from 1)");
  expect_command("/history 007", CommandKind::kHistory, "007", kAny);
  // Huge counts parse; the client asks for at most a page.
  expect_command("/history 99999999999999999999", CommandKind::kHistory, "99999999999999999999", kAny);
}

TEST(ChatCommandsTest, SwitchTakesARoomOrANumberAndHasAliases) {
  expect_command("/switch #dev", CommandKind::kSwitch, "#dev", kAny);
  expect_command("/switch 2", CommandKind::kSwitch, "2", kAny);
  expect_command("/window 2", CommandKind::kSwitch, "2", kAny);
  expect_command("/w 3", CommandKind::kSwitch, "3", kAny);
  expect_invalid("/switch", "usage: /switch ROOM|N");
  expect_invalid("/w", "usage: /switch ROOM|N");
}

TEST(ChatCommandsTest, HelpAndQuitAndTheirAliases) {
  expect_command("/help", CommandKind::kHelp, kAny, kAny);
  expect_command("/quit", CommandKind::kQuit, kAny, kAny);
  expect_command("/exit", CommandKind::kQuit, kAny, kAny);
}

TEST(ChatCommandsTest, UnknownCommandsSayHowToGetHelp) {
  expect_invalid("/frobnicate", "unknown command /frobnicate (try /help)");
  expect_invalid("/FROB now", "unknown command /frob (try /help)");
  expect_invalid("/", "unknown command / (try /help)");
}

TEST(ChatCommandsTest, EveryListedCommandParsesAndHasAHelpLine) {
  // What Tab completes and /help lists must be what the parser knows.
  const auto& names = command_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* name : {"/join", "/part", "/msg", "/query", "/close", "/me", "/who", "/list", "/topic",
                           "/history", "/switch", "/nick", "/help", "/quit", "/login", "/kick", "/ban", "/unban",
                           "/invite", "/mode", "/op", "/deop", "/voice", "/devoice"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  // Arguments each command takes; the rest get " x y".
  const std::map<std::string, std::string> args{{"/history", " 5"}, {"/mode", " +i"}, {"/unban", " x"},
                                                {"/op", " x"},      {"/deop", " x"},  {"/voice", " x"},
                                                {"/devoice", " x"}};
  for (const auto& name : names) {
    const auto special = args.find(name);
    const Command c = parse_command(name + (special != args.end() ? special->second : " x y"));
    EXPECT_NE(c.kind, CommandKind::kInvalid) << name << ": " << c.error;
    const auto& help = help_lines();
    EXPECT_TRUE(
        std::any_of(help.begin(), help.end(), [&](const std::string& l) { return l.rfind(name + " ", 0) == 0; }))
        << name << " has no help line";
  }
}

TEST(ChatCommandsTest, RoomNamesAreNormalisedAsTheServerDoes) {
  EXPECT_EQ(normalize_room("general"), "#general");
  EXPECT_EQ(normalize_room("#General"), "#general");
  EXPECT_EQ(normalize_room("#dev.ops-1_x"), "#dev.ops-1_x");
  EXPECT_EQ(normalize_room(""), "#");
}

}  // namespace
}  // namespace chat::term
