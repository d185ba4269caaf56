#include "client/chat/commands.hpp"

#include <algorithm>
#include <cctype>
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

}  // namespace

std::string normalize_room(std::string_view room) {
  std::string out;
  if (room.empty() || room.front() != '#') out.push_back('#');
  for (char ch : room) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  return out;
}

const std::vector<std::string>& command_names() {
  static const std::vector<std::string> names{"/close", "/help", "/history", "/join",   "/list",
                                              "/me",    "/msg",  "/nick",    "/part",   "/password",
                                              "/query", "/quit", "/register", "/switch", "/topic", "/who"};
  return names;
}

const std::vector<std::string>& help_lines() {
  static const std::vector<std::string> lines{
      "/join ROOM          join a room (or ROOM,ROOM,...) and switch to it",
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
  if (cmd == "join" || cmd == "j") return need_arg(CommandKind::kJoin, "/join ROOM");
  if (cmd == "query" || cmd == "q") return need_arg(CommandKind::kQuery, "/query NICK [TEXT]");
  if (cmd == "switch" || cmd == "window" || cmd == "w") return need_arg(CommandKind::kSwitch, "/switch ROOM|N");
  if (cmd == "nick") return need_arg(CommandKind::kNick, "/nick NICK");
  if (cmd == "register") return need_arg(CommandKind::kRegister, "/register PASSWORD");
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
