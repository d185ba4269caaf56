#pragma once
// Parsing what a person (or a script) types: "/join #x", "/msg bob hi",
// plain text. Pure functions, no I/O.
// Thread safety: stateless; safe from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat::term {

enum class CommandKind {
  kSay,      // plain text to the current room
  kJoin,     // /join ROOM[,ROOM...] [KEY]  (`text`: the key; more words after it are an error)
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
  kLogin,     // /login PASSWORD: log in to the account named by the nick
  // Rooms with keepers (issue 13), acting on the current room.
  kKick,     // /kick NICK [REASON]
  kBan,      // /ban MASK [DURATION] [REASON]  (`duration_s`; 0: until unbanned)
  kUnban,    // /unban MASK
  kInvite,   // /invite NICK [ROOM]  (`text`: the room, if given)
  kMode,     // /mode [+i|-i|+k KEY|-k|...]  (`modes`; none: show the modes)
  kOp,       // /op NICK
  kDeop,     // /deop NICK
  kVoice,    // /voice NICK
  kDevoice,  // /devoice NICK
  kSwitch,   // /switch ROOM|NUMBER
  kHelp,     // /help
  kQuit,     // /quit
  kInvalid,  // unknown command or missing argument; `error` says which
};

// What /mode asks to change: each mode present is set, the rest stay.
struct ModeChange {
  std::optional<bool> invite_only;          // +i / -i
  std::optional<std::string> key;           // +k KEY / -k (""): the room's key
  std::optional<bool> topic_lock;           // +t / -t: only ops set the topic
  std::optional<bool> moderated;            // +m / -m: only voiced members speak
  std::optional<std::uint32_t> member_limit;  // +l N / -l (0)
  std::optional<bool> secret;               // +s / -s: not in /list
  bool empty() const {
    return !invite_only && !key && !topic_lock && !moderated && !member_limit && !secret;
  }
};

struct Command {
  CommandKind kind = CommandKind::kInvalid;
  std::string arg;   // room, nick, number: the first argument
  std::string text;  // the rest of the line
  std::string error;
  std::uint32_t duration_s = 0;  // /ban
  ModeChange modes;              // /mode
};

// Parses one input line. A line starting with "//" says the text "/..."
// literally, as in irssi.
Command parse_command(std::string_view line);

// Every command name with its leading '/', for Tab completion and /help.
const std::vector<std::string>& command_names();
// One line of help per command.
const std::vector<std::string>& help_lines();

// "10m", "2h", "1d", "90s", "1w", "1h30m": seconds; nullopt for anything
// else, for 0 and for more than fits in 32 bits.
std::optional<std::uint32_t> parse_duration(std::string_view word);
// "+i", "-t", "+k KEY", "+l 20", "+it-m", ...; an error message (starting
// "usage: /mode") when a mode letter is unknown or its argument is missing.
struct ModeParse {
  ModeChange modes;
  std::string error;
};
ModeParse parse_modes(std::string_view specs);

// Room names as the server folds them: a leading '#', lower case.
std::string normalize_room(std::string_view room);

// "/me waves" travels as plain text starting with this prefix, so clients
// that do not know it still show something sensible.
inline constexpr std::string_view kActionPrefix = "/me ";

}  // namespace chat::term
