// The terminal client's command parser: every command, its aliases, "//"
// for a literal slash, and what a bad argument gives.
// (/nick is left out here: its implementation is being replaced.)
#include "client/chat/commands.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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
  expect_invalid("/join", "usage: /join ROOM");
  expect_invalid("/join   ", "usage: /join ROOM");
  expect_invalid("/j", "usage: /join ROOM");
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

TEST(ChatCommandsTest, JoinKeepsWhatFollowsTheRoomForTheCoreToRefuse) {
  // "/join #Bad Room!" must not become #bad: the text after it is kept,
  // and the core refuses the line (a room name has no spaces).
  expect_command("/join #Bad Room!", CommandKind::kJoin, "#Bad", "Room!");
  expect_command("/join #a,#b", CommandKind::kJoin, "#a,#b", "");
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
                           "/history", "/switch", "/nick", "/help", "/quit"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  for (const auto& name : names) {
    const Command c = parse_command(name + (name == "/history" ? " 5" : " x y"));
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
