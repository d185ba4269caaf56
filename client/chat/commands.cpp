#include "client/chat/commands.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <tuple>

namespace chat::term {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits off the first whitespace-separated word.
std::pair<std::string_view, std::string_view> split_word(std::string_view s) {
  s = trim(s);
  std::size_t end = 0;
  while (end < s.size() && !std::isspace(static_cast<unsigned char>(s[end]))) ++end;
  return {s.substr(0, end), trim(s.substr(end))};
}

Command invalid(std::string message) {
  Command c;
  c.kind = CommandKind::kInvalid;
  c.error = std::move(message);
  return c;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char ch) { return std::isdigit(ch); });
}

constexpr const char* kModeUsage = "usage: /mode [+i|-i|+k KEY|-k|+t|-t|+m|-m|+l N|-l|+s|-s ...]";

}  // namespace

std::optional<std::uint32_t> parse_duration(std::string_view word) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint32_t>::max();
  std::uint64_t total = 0;
  std::size_t i = 0;
  if (word.empty()) return std::nullopt;
  while (i < word.size()) {
    std::uint64_t n = 0;
    const std::size_t start = i;
    while (i < word.size() && std::isdigit(static_cast<unsigned char>(word[i]))) {
      n = n * 10 + static_cast<std::uint64_t>(word[i] - '0');
      if (n > kMax) return std::nullopt;
      ++i;
    }
    if (i == start || i == word.size()) return std::nullopt;  // a unit needs a number, a number a unit
    std::uint64_t unit = 0;
    switch (std::tolower(static_cast<unsigned char>(word[i]))) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      default: return std::nullopt;
    }
    ++i;
    total += n * unit;
    if (total > kMax) return std::nullopt;
  }
  if (total == 0) return std::nullopt;
  return static_cast<std::uint32_t>(total);
}

ModeParse parse_modes(std::string_view specs) {
  ModeParse out;
  std::vector<std::string_view> words;
  for (auto [word, rest] = split_word(specs); !word.empty(); std::tie(word, rest) = split_word(rest)) {
    words.push_back(word);
  }
  auto fail = [&out](const std::string& why) {
    out.modes = {};
    out.error = std::string(kModeUsage) + ": " + why;
    return out;
  };
  std::size_t next = 0;
  while (next < words.size()) {
    const std::string_view word = words[next++];
    if (word.front() != '+' && word.front() != '-') return fail("expected +MODE or -MODE, not \"" + std::string(word) + "\"");
    bool on = true;
    bool any = false;
    for (char ch : word) {
      if (ch == '+' || ch == '-') {
        on = ch == '+';
        continue;
      }
      any = true;
      switch (ch) {
        case 'i': out.modes.invite_only = on; break;
        case 't': out.modes.topic_lock = on; break;
        case 'm': out.modes.moderated = on; break;
        case 's': out.modes.secret = on; break;
        case 'k':
          if (!on) {
            out.modes.key = "";
            break;
          }
          if (next >= words.size()) return fail("+k needs a KEY");
          out.modes.key = std::string(words[next++]);
          break;
        case 'l': {
          if (!on) {
            out.modes.member_limit = 0;
            break;
          }
          if (next >= words.size() || !all_digits(words[next]) || words[next].size() > 9) {
            return fail("+l needs a number of members");
          }
          out.modes.member_limit = static_cast<std::uint32_t>(std::stoul(std::string(words[next++])));
          break;
        }
        default:
          return fail(std::string("no mode ") + (on ? "+" : "-") + ch);
      }
    }
    if (!any) return fail("a mode letter after " + std::string(word));
  }
  return out;
}

std::string normalize_room(std::string_view room) {
  std::string out;
  if (room.empty() || room.front() != '#') out.push_back('#');
  for (char ch : room) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  return out;
}

const std::vector<std::string>& command_names() {
  static const std::vector<std::string> names{
      "/ban",   "/close", "/deop",     "/devoice", "/help",  "/history", "/invite", "/join",
      "/kick",  "/list",  "/login",    "/me",      "/mode",  "/msg",     "/nick",   "/op",
      "/part",  "/password", "/query", "/quit",    "/register", "/switch", "/topic", "/unban",
      "/voice", "/who"};
  return names;
}

const std::vector<std::string>& help_lines() {
  static const std::vector<std::string> lines{
      "/join ROOM [KEY]    join a room (or ROOM,ROOM,...) and switch to it; KEY: the room's key",
      "/part [ROOM]        leave the current room (or ROOM)",
      "/msg NICK TEXT      send a direct message",
      "/query NICK [TEXT]  open a window for direct messages with NICK",
      "/close              close the current window (a room is left)",
      "/me TEXT            say an action: * you TEXT",
      "/who [ROOM] [AFTER] who is in the room (a page; AFTER: the page after that nick)",
      "/list               list the server's rooms",
      "/topic [TEXT]       show or set the room's topic",
      "/history [N]        fetch the last N messages of the room (default 20)",
      "/nick NICK          change your nickname; your rooms see the change (guests only)",
      "/register PASSWORD  make your nick an account: nobody else can use it (8-256 bytes)",
      "/password OLD NEW   change your account's password",
      "/login PASSWORD     log in to the account of your nick (reconnects if logged in as a guest)",
      "/kick NICK [REASON] remove NICK from the room (ops only; so are the commands below)",
      "/ban MASK [DURATION] [REASON] keep MASK out: NICK, account:NAME or address:ADDR; DURATION 10m, 2h, 1d",
      "/unban MASK         lift the bans that name MASK",
      "/invite NICK [ROOM] let NICK in past +i, +k and +l once",
      "/mode [+i|-i|+k KEY|-k|+t|-t|+m|-m|+l N|-l|+s|-s ...] set the room's modes; none: show modes, bans, ops",
      "/op NICK            make NICK an op (/deop NICK: a member again)",
      "/deop NICK          make an op a plain member",
      "/voice NICK         let NICK speak in a +m room (/devoice NICK: no more)",
      "/devoice NICK       take NICK's voice",
      "/switch ROOM|N      switch windows (Alt+N, Ctrl+N/P, Alt+A too); PgUp/PgDn scroll",
      "/help               this list",
      "/quit               leave (Ctrl+C and Ctrl+D too)",
      "anything else       goes to the current room; //text sends /text"};
  return lines;
}

Command parse_command(std::string_view line) {
  // Trailing CR from a script written on another OS, or the newline itself.
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  Command c;
  if (line.empty() || line.front() != '/') {
    c.kind = CommandKind::kSay;
    c.text = std::string(line);
    if (trim(line).empty()) return invalid("");
    return c;
  }
  if (line.size() > 1 && line[1] == '/') {
    c.kind = CommandKind::kSay;
    c.text = std::string(line.substr(1));
    return c;
  }
  auto [name, rest] = split_word(line.substr(1));
  std::string cmd(name);
  std::transform(cmd.begin(), cmd.end(), cmd.begin(), [](unsigned char ch) { return std::tolower(ch); });
  // Plain variables, not a structured binding: need_arg captures them, and
  // clang 14 cannot capture structured bindings.
  std::string_view first;
  std::string_view after;
  std::tie(first, after) = split_word(rest);
  auto need_arg = [&](CommandKind kind, const char* usage) {
    if (first.empty()) return invalid(std::string("usage: ") + usage);
    Command r;
    r.kind = kind;
    r.arg = std::string(first);
    r.text = std::string(after);
    return r;
  };
  // (Text after the room, "/join #Bad Room!", is refused by the core: a
  // room name has no spaces.)
  if (cmd == "join" || cmd == "j") return need_arg(CommandKind::kJoin, "/join ROOM [KEY]");
  if (cmd == "query" || cmd == "q") return need_arg(CommandKind::kQuery, "/query NICK [TEXT]");
  if (cmd == "switch" || cmd == "window" || cmd == "w") return need_arg(CommandKind::kSwitch, "/switch ROOM|N");
  if (cmd == "nick") return need_arg(CommandKind::kNick, "/nick NICK");
  if (cmd == "register") return need_arg(CommandKind::kRegister, "/register PASSWORD");
  if (cmd == "login") return need_arg(CommandKind::kLogin, "/login PASSWORD");
  // One word each: a nick or a mask has no spaces.
  auto one_word = [&](CommandKind kind, const char* usage) {
    if (!after.empty()) return invalid(std::string("usage: ") + usage);
    return need_arg(kind, usage);
  };
  if (cmd == "kick") return need_arg(CommandKind::kKick, "/kick NICK [REASON]");
  if (cmd == "unban") return one_word(CommandKind::kUnban, "/unban MASK");
  if (cmd == "op") return one_word(CommandKind::kOp, "/op NICK");
  if (cmd == "deop") return one_word(CommandKind::kDeop, "/deop NICK");
  if (cmd == "voice") return one_word(CommandKind::kVoice, "/voice NICK");
  if (cmd == "devoice") return one_word(CommandKind::kDevoice, "/devoice NICK");
  if (cmd == "invite") {
    if (after.find_first_of(" \t") != std::string_view::npos) return invalid("usage: /invite NICK [ROOM]");
    return need_arg(CommandKind::kInvite, "/invite NICK [ROOM]");
  }
  if (cmd == "ban") {
    Command r = need_arg(CommandKind::kBan, "/ban MASK [DURATION] [REASON]");
    if (r.kind == CommandKind::kInvalid) return r;
    // The word after the mask is a duration when it looks like one.
    auto [maybe, reason] = split_word(after);
    const bool digits_first = !maybe.empty() && std::isdigit(static_cast<unsigned char>(maybe.front()));
    if (const auto d = parse_duration(maybe)) {
      r.duration_s = *d;
      r.text = std::string(reason);
    } else if (digits_first && std::isalpha(static_cast<unsigned char>(maybe.back()))) {
      return invalid("usage: /ban MASK [DURATION] [REASON]  (DURATION like 10m, 2h, 1d)");
    }
    return r;
  }
  if (cmd == "mode") {
    ModeParse p = parse_modes(rest);
    if (!p.error.empty()) return invalid(p.error);
    Command r;
    r.kind = CommandKind::kMode;
    r.modes = std::move(p.modes);
    return r;
  }
  if (cmd == "password") {
    if (first.empty() || after.empty()) return invalid("usage: /password OLD NEW");
    return need_arg(CommandKind::kPassword, "/password OLD NEW");
  }
  if (cmd == "msg") {
    if (first.empty() || after.empty()) return invalid("usage: /msg NICK TEXT");
    return need_arg(CommandKind::kMsg, "/msg NICK TEXT");
  }
  c.arg = std::string(first);
  c.text = std::string(rest);
  if (cmd == "part" || cmd == "leave") c.kind = CommandKind::kPart;
  else if (cmd == "who" || cmd == "names") c.kind = CommandKind::kWho;
  else if (cmd == "list") c.kind = CommandKind::kList;
  else if (cmd == "topic") c.kind = CommandKind::kTopic;
  else if (cmd == "history") c.kind = CommandKind::kHistory;
  else if (cmd == "help") c.kind = CommandKind::kHelp;
  else if (cmd == "close" || cmd == "wc") c.kind = CommandKind::kClose;
  else if (cmd == "quit" || cmd == "exit") c.kind = CommandKind::kQuit;
  else if (cmd == "me") {
    if (rest.empty()) return invalid("usage: /me TEXT");
    c.kind = CommandKind::kMe;
  } else {
    return invalid("unknown command /" + cmd + " (try /help)");
  }
  if (c.kind == CommandKind::kHistory && !c.arg.empty() &&
      (!std::all_of(c.arg.begin(), c.arg.end(), [](unsigned char ch) { return std::isdigit(ch); }) ||
       c.arg.find_first_not_of('0') == std::string::npos)) {
    return invalid("usage: /history [N]  (N from 1)");
  }
  return c;
}

}  // namespace chat::term
