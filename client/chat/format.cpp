#include "client/chat/format.hpp"
#include "client/chat/text.hpp"
#include "common/overloaded.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>

namespace chat::term {
namespace {

using common::Overloaded;

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string seconds(std::int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

// C0 controls and DEL (a byte each) and C1 controls (U+0080-U+009F, in
// UTF-8 0xC2 then 0x80-0x9F; U+009B is an 8-bit CSI to some terminals)
// become one space each, as iswcntrl has them in the full screen.
std::string blank_controls(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto byte = static_cast<unsigned char>(s[i]);
    const auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    if (byte < 0x20 || byte == 0x7f) {
      out.push_back(' ');
    } else if (byte == 0xC2 && next >= 0x80 && next <= 0x9F) {
      out.push_back(' ');
      ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A ban's length or what is left of it: "10m", "2h", "1d", "1h30m".
std::string span(std::int64_t ms) {
  std::int64_t s = (ms + 999) / 1000;
  if (s <= 0) return "0s";
  std::string out;
  for (const auto& [unit, name] : {std::pair<std::int64_t, const char*>{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}}) {
    if (s >= unit) {
      out += std::to_string(s / unit) + name;
      s %= unit;
    }
  }
  return out;
}

std::string role_phrase(const std::string& role) {
  if (role == "op") return "an op";
  if (role == "voiced") return "voiced";
  if (role == "founder") return "the founder";
  return "a plain member";
}

std::string moderation_line(const ModerationEvent& e) {
  const std::string why = e.reason.empty() ? "" : " (" + e.reason + ")";
  if (e.what == "kicked") {
    if (e.you) return "* you were kicked from " + e.room + " by " + e.by + why;
    return "* " + e.target + " was kicked from " + e.room + " by " + e.by + why;
  }
  if (e.what == "banned") {
    const std::string length =
        e.expires_at_ms > 0 ? " for " + span(e.expires_at_ms - e.ts_ms) : std::string(" until unbanned");
    if (e.you) return "* you were banned from " + e.room + " by " + e.by + length + why;
    std::string s = "* " + e.by + " banned " + e.target + " from " + e.room + length + why;
    if (!e.removed.empty()) s += "; removed " + join(e.removed, ", ");
    return s;
  }
  if (e.what == "unbanned") return "* " + e.by + " lifted the ban on " + e.target + " in " + e.room;
  if (e.what == "invited") {
    if (e.you && e.elsewhere) return "* you were invited to " + e.room + " by " + e.by + " (/join " + e.room + ")";
    return "* " + e.by + " invited " + (e.you ? std::string("you") : e.target) + " to " + e.room;
  }
  if (e.what == "modes") {
    if (!e.changes.empty()) return "* " + e.by + " set " + e.changes + " in " + e.room;
    return "* " + e.by + " set the modes of " + e.room + ": " + (e.modes.empty() ? "none" : e.modes);
  }
  if (e.what == "role") {
    return "* " + (e.you ? std::string("you are") : e.target + " is") + " now " + role_phrase(e.role) + " in " +
           e.room + " (by " + e.by + ")";
  }
  return "* " + e.by + " moderated " + e.room;
}

std::vector<std::string> modes_lines(const ModesEvent& e) {
  std::vector<std::string> out{e.modes.empty() ? "-- " + e.room + " has no modes"
                                               : "-- modes of " + e.room + ": " + e.modes};
  if (!e.founder.empty()) out.push_back("-- founder of " + e.room + ": " + e.founder);
  if (!e.ops.empty()) out.push_back("-- ops of " + e.room + ": " + join(e.ops, ", "));
  if (!e.bans.empty()) {
    out.push_back("-- " + std::to_string(e.bans.size()) + " ban" + (e.bans.size() == 1 ? "" : "s") + " on " + e.room + ":");
    for (const auto& b : e.bans) {
      std::string row = "--   " + b.mask + " (";
      if (!b.set_by.empty()) row += "by " + b.set_by + ", ";
      row += b.expires_at_ms > 0 ? span(b.expires_at_ms - e.ts_ms) + " left" : "until unbanned";
      row += ")";
      if (!b.reason.empty()) row += ": " + b.reason;
      out.push_back(row);
    }
  }
  return out;
}

}  // namespace

std::string stored_note(const DirectEvent& e) {
  if (!e.stored) return {};
  if (e.outgoing) return " (kept: " + e.peer + " is offline)";
  return " (sent while you were away, at " + format_clock(e.ts_ms) + ")";
}

std::string format_clock(std::int64_t ts_ms) {
  const std::time_t t = static_cast<std::time_t>(ts_ms / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::int64_t event_time(const UiEvent& event) {
  return std::visit(Overloaded{[](const StatusEvent&) -> std::int64_t { return 0; },
                               [](const QuitEvent&) -> std::int64_t { return 0; },
                               [](const auto& e) -> std::int64_t { return e.ts_ms; }},
                    event);
}

std::vector<std::string> plain_bodies(const UiEvent& event) {
  auto lines = std::visit(
      Overloaded{
          [](const MessageEvent& e) -> std::vector<std::string> {
            if (e.action) return {e.room + " * " + e.nick + " " + e.text};
            return {e.room + " <" + e.nick + "> " + e.text};
          },
          [](const DirectEvent& e) -> std::vector<std::string> {
            if (e.outgoing) return {"-> *" + e.peer + "* " + e.text + stored_note(e)};
            return {"*" + e.peer + "* " + e.text + stored_note(e)};
          },
          [](const PresenceEvent& e) -> std::vector<std::string> {
            if (e.what == "renamed") return {"* " + e.old_nick + " is now known as " + e.nick + " in " + e.room};
            std::string s = "* " + e.nick + " " + e.what + " " + e.room;
            if (!e.reason.empty()) s += " (" + e.reason + ")";
            return {s};
          },
          [](const PresenceDeltaEvent& e) -> std::vector<std::string> {
            auto some = [](const std::vector<std::string>& nicks, std::uint32_t count) {
              std::string s = std::to_string(count);
              if (nicks.empty()) return s;
              s += " (" + join(nicks, ", ");
              if (count > nicks.size()) s += ", ...";
              return s + ")";
            };
            std::string s = "* " + e.room + ":";
            if (e.joined_count > 0) s += " " + some(e.joined, e.joined_count) + " joined";
            if (e.joined_count > 0 && e.left_count > 0) s += ",";
            if (e.left_count > 0) s += " " + some(e.left, e.left_count) + " left";
            return {s + "; " + std::to_string(e.member_count) + " members"};
          },
          [](const TopicEvent& e) -> std::vector<std::string> {
            if (e.changed) return {"-- " + e.set_by + " set the topic of " + e.room + ": " + e.topic};
            if (e.topic.empty()) return {"-- " + e.room + " has no topic"};
            return {"-- topic of " + e.room + ": " + e.topic + (e.set_by.empty() ? "" : " (set by " + e.set_by + ")")};
          },
          [](const JoinedEvent& e) -> std::vector<std::string> {
            const std::size_t count = std::max<std::size_t>(e.member_count, e.members.size());
            std::string names = join(e.members, ", ");
            if (count > e.members.size()) names += ", and " + std::to_string(count - e.members.size()) + " more: /who to page";
            std::vector<std::string> out{"-- " + std::string(e.rejoined ? "rejoined " : "joined ") + e.room + " (" +
                                         std::to_string(count) + " members: " + names + ")"};
            if (!e.rejoined && !e.topic.empty()) out.push_back("-- topic of " + e.room + ": " + e.topic);
            return out;
          },
          [](const ModerationEvent& e) -> std::vector<std::string> { return {moderation_line(e)}; },
          [](const ModesEvent& e) -> std::vector<std::string> { return modes_lines(e); },
          [](const PartedEvent& e) -> std::vector<std::string> { return {"-- left " + e.room}; },
          [](const WhoEvent& e) -> std::vector<std::string> {
            const std::size_t count = std::max<std::size_t>(e.member_count, e.nicks.size());
            std::vector<std::string> out{"-- " + e.room + " (" + std::to_string(count) + "): " + join(e.nicks, " ")};
            if (!e.next_cursor.empty()) out.push_back("-- more: /who " + e.room + " " + e.next_cursor);
            return out;
          },
          [](const RoomListEvent& e) -> std::vector<std::string> {
            std::vector<std::string> out{"-- " + std::to_string(e.rooms.size()) + " rooms"};
            for (const auto& r : e.rooms) {
              out.push_back("--   " + r.name + " " + std::to_string(r.members) + " members" +
                            (r.topic.empty() ? "" : ": " + r.topic));
            }
            return out;
          },
          [](const ErrorEvent& e) -> std::vector<std::string> { return {"! " + e.code + " " + e.message}; },
          [](const InfoEvent& e) -> std::vector<std::string> { return {"-- " + e.text}; },
          [](const GapEvent& e) -> std::vector<std::string> {
            return {"-- " + std::to_string(e.count) + " message" + (e.count == 1 ? "" : "s") + " unavailable in " + e.room};
          },
          [](const EpochEvent&) -> std::vector<std::string> { return {}; },  // the core adds an InfoEvent
          [](const ConnectionEvent& e) -> std::vector<std::string> {
            switch (e.state) {
              case ConnState::kConnecting: return {"-- connecting to " + e.detail};
              case ConnState::kLoggingIn: return {};
              case ConnState::kOnline: return {"-- connected as " + e.detail};
              case ConnState::kWaiting:
                return {"-- " + e.detail + "; reconnecting in " + seconds(e.retry_in_ms)};
              case ConnState::kClosed: return {"-- closed"};
            }
            return {};
          },
          [](const SwitchEvent& e) -> std::vector<std::string> {
            if (e.room.empty()) return {"-- no current room"};
            if (e.room.front() != '#') return {"-- now talking to " + e.room};
            return {"-- now talking in " + e.room};
          },
          [](const StatusEvent&) -> std::vector<std::string> { return {}; },
          [](const HelpEvent& e) -> std::vector<std::string> { return e.lines; },
          [](const QuitEvent&) -> std::vector<std::string> { return {}; },
      },
      event);
  // Text from peers may hold newlines and escape sequences: one event must
  // stay one line (a script reads lines), and a peer must not drive the
  // reader's terminal. Control characters become spaces, as in the full
  // screen.
  // Bidi controls would reorder the rest of the line on the screen: they
  // show as placeholders ("<U+202E>").
  for (auto& line : lines) line = show_bidi_controls(blank_controls(line));
  return lines;
}

std::vector<std::string> plain_lines(const UiEvent& event) {
  auto lines = plain_bodies(event);
  // (Appended piece by piece, and stamp + l, not "[" + clock or
  // l.insert(0, stamp): GCC 12 at -O2 warns falsely about those, -Wrestrict.)
  std::string stamp = "[";
  stamp += format_clock(event_time(event));
  stamp += "] ";
  for (auto& l : lines) l = stamp + l;
  return lines;
}

std::string json_line(const UiEvent& event) {
  using nlohmann::json;
  json j = std::visit(
      Overloaded{
          [](const MessageEvent& e) {
            return json{{"type", "message"}, {"room", e.room}, {"nick", e.nick}, {"text", e.text},
                        {"seq", e.seq},      {"action", e.action}, {"own", e.own}, {"history", e.history}};
          },
          [](const DirectEvent& e) {
            return json{{"type", "direct"}, {"peer", e.peer},         {"text", e.text},
                        {"outgoing", e.outgoing}, {"stored", e.stored}};
          },
          [](const PresenceEvent& e) {
            json presence{{"type", "presence"}, {"room", e.room}, {"nick", e.nick}, {"what", e.what}, {"reason", e.reason}};
            if (!e.old_nick.empty()) presence["old_nick"] = e.old_nick;
            return presence;
          },
          [](const PresenceDeltaEvent& e) {
            return json{{"type", "presence_delta"}, {"room", e.room},           {"joined", e.joined},
                        {"left", e.left},           {"joined_count", e.joined_count}, {"left_count", e.left_count},
                        {"member_count", e.member_count}};
          },
          [](const TopicEvent& e) {
            return json{{"type", "topic"}, {"room", e.room}, {"topic", e.topic}, {"set_by", e.set_by}, {"changed", e.changed}};
          },
          [](const JoinedEvent& e) {
            return json{{"type", "joined"},
                        {"room", e.room},
                        {"topic", e.topic},
                        {"members", e.members},
                        {"rejoined", e.rejoined},
                        {"member_count", std::max<std::size_t>(e.member_count, e.members.size())}};
          },
          [](const ModerationEvent& e) {
            return json{{"type", "moderation"}, {"room", e.room},       {"what", e.what},
                        {"by", e.by},           {"target", e.target},   {"reason", e.reason},
                        {"modes", e.modes},     {"changes", e.changes}, {"role", e.role},
                        {"expires_at_ms", e.expires_at_ms}, {"removed", e.removed}, {"you", e.you},
                        {"elsewhere", e.elsewhere}};
          },
          [](const ModesEvent& e) {
            json bans = json::array();
            for (const auto& b : e.bans) {
              bans.push_back({{"mask", b.mask}, {"set_by", b.set_by}, {"reason", b.reason},
                              {"set_at_ms", b.set_at_ms}, {"expires_at_ms", b.expires_at_ms}});
            }
            return json{{"type", "modes"}, {"room", e.room}, {"modes", e.modes}, {"founder", e.founder},
                        {"bans", bans},    {"ops", e.ops}};
          },
          [](const PartedEvent& e) { return json{{"type", "parted"}, {"room", e.room}}; },
          [](const WhoEvent& e) {
            json who{{"type", "who"},
                     {"room", e.room},
                     {"nicks", e.nicks},
                     {"member_count", std::max<std::size_t>(e.member_count, e.nicks.size())}};
            if (!e.next_cursor.empty()) who["next_cursor"] = e.next_cursor;
            return who;
          },
          [](const RoomListEvent& e) {
            json rooms = json::array();
            for (const auto& r : e.rooms) {
              rooms.push_back({{"name", r.name}, {"members", r.members}, {"topic", r.topic}, {"last_seq", r.last_seq}});
            }
            return json{{"type", "rooms"}, {"rooms", rooms}};
          },
          [](const ErrorEvent& e) { return json{{"type", "error"}, {"code", e.code}, {"message", e.message}}; },
          [](const InfoEvent& e) { return json{{"type", "info"}, {"text", e.text}, {"room", e.room}}; },
          [](const GapEvent& e) {
            return json{{"type", "gap"}, {"room", e.room}, {"count", e.count}, {"first_seq", e.first_seq}, {"last_seq", e.last_seq}};
          },
          [](const EpochEvent& e) { return json{{"type", "epoch"}, {"old", e.old_epoch}, {"new", e.new_epoch}}; },
          [](const ConnectionEvent& e) {
            return json{{"type", "connection"}, {"state", to_string(e.state)}, {"detail", e.detail}, {"retry_in_ms", e.retry_in_ms}};
          },
          [](const SwitchEvent& e) { return json{{"type", "switch"}, {"room", e.room}}; },
          [](const StatusEvent&) { return json(); },
          [](const HelpEvent& e) { return json{{"type", "help"}, {"lines", e.lines}}; },
          [](const QuitEvent&) { return json{{"type", "quit"}}; },
      },
      event);
  if (j.is_null()) return "";
  if (const auto ts = event_time(event)) j["ts"] = ts;
  // Invalid UTF-8 from a peer must not abort the client: replace it.
  // Bidi controls go out escaped ("\u202e"): the same string to a JSON
  // reader, but never the raw character to a terminal the output is on.
  return escape_bidi_controls_json(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace chat::term
