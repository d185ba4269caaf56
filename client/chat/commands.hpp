#pragma once
// Parsing what a person (or a script) types: "/join #x", "/msg bob hi",
// plain text. Pure functions, no I/O.
// Thread safety: stateless; safe from any thread.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat::term {

enum class CommandKind {
  kSay,      // plain text to the current room
  kJoin,     // /join ROOM[,ROOM...]  (`text` holds anything after it: an error)
  kPart,     // /part [ROOM]
  kMsg,      // /msg NICK TEXT
  kQuery,    // /query NICK [TEXT]: a window for direct messages with NICK
  kClose,    // /close: the current window (a room is left)
  kMe,       // /me TEXT
  kWho,      // /who [ROOM]
  kList,     // /list
  kTopic,    // /topic [TEXT]   (no text: show it)
  kHistory,  // /history [N]
  kNick,     // /nick NICK
  kRegister,  // /register PASSWORD: make the nick an account
  kPassword,  // /password OLD NEW
  kSwitch,   // /switch ROOM|NUMBER
  kHelp,     // /help
  kQuit,     // /quit
  kInvalid,  // unknown command or missing argument; `error` says which
};

struct Command {
  CommandKind kind = CommandKind::kInvalid;
  std::string arg;   // room, nick, number: the first argument
  std::string text;  // the rest of the line
  std::string error;
};

// Parses one input line. A line starting with "//" says the text "/..."
// literally, as in irssi.
Command parse_command(std::string_view line);

// Every command name with its leading '/', for Tab completion and /help.
const std::vector<std::string>& command_names();
// One line of help per command.
const std::vector<std::string>& help_lines();

// Room names as the server folds them: a leading '#', lower case.
std::string normalize_room(std::string_view room);

// "/me waves" travels as plain text starting with this prefix, so clients
// that do not know it still show something sensible.
inline constexpr std::string_view kActionPrefix = "/me ";

}  // namespace chat::term
