#pragma once
// What the core tells a front end: one typed event per thing worth showing.
// Plain values, no protobuf, so the line printer and the ncurses UI need
// nothing but this header.
// Thread safety: plain values; copied freely.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace chat::term {

enum class ConnState { kConnecting, kLoggingIn, kOnline, kWaiting, kClosed };
const char* to_string(ConnState s);

struct MessageEvent {
  std::int64_t ts_ms = 0;
  std::string room, nick, text;
  std::uint64_t seq = 0;
  bool action = false;   // sent with /me
  bool own = false;      // our own message, echoed by the server
  bool history = false;  // a replay (join's recent, /history), not new
};
struct DirectEvent {
  std::int64_t ts_ms = 0;
  std::string peer, text;
  bool outgoing = false;
  // Incoming: sent while this account was offline, kept and delivered at
  // login (ts_ms is when it was sent). Outgoing: the peer's account was
  // offline and the server keeps it for the peer's next login.
  bool stored = false;
};
struct PresenceEvent {
  std::int64_t ts_ms = 0;
  std::string room, nick;
  std::string what;    // joined, left, quit, renamed
  std::string reason;  // for quit: client quit, slow consumer, ...
  std::string old_nick = {};  // for renamed: the nick before (nick is the new one)
};
// A big room's joins and leaves since its last delta (issue 15): some of
// the nicks, all of the counts.
struct PresenceDeltaEvent {
  std::int64_t ts_ms = 0;
  std::string room;
  std::vector<std::string> joined, left;
  std::uint32_t joined_count = 0, left_count = 0, member_count = 0;
};
struct TopicEvent {
  std::int64_t ts_ms = 0;
  std::string room, topic, set_by;
  bool changed = false;  // someone set it now (else: it was asked for)
};
// A room's op acted (issue 13). `what`: kicked, banned, unbanned, invited,
// modes or role.
struct ModerationEvent {
  std::int64_t ts_ms = 0;
  std::string room, what, by;
  std::string target;  // a nick, or a ban's mask
  std::string reason = {};
  std::string modes = {};    // modes: the room's modes now ("+i +k +l 20"; "" for none)
  std::string changes = {};  // modes: what changed ("+i -t"), when the modes before were known
  std::string role = {};     // role: "op", "voiced", "member" or "founder"
  std::int64_t expires_at_ms = 0;  // banned: 0 until unbanned
  std::vector<std::string> removed = {};  // banned: the members it removed
  bool you = false;  // the target (or one removed) is this client: kicked, banned, invited, given a role
  bool elsewhere = false;  // an invite to a room this client is not in
};
// A room's modes, bans and ops (/mode with no argument).
struct ModesEvent {
  struct BanRow {
    std::string mask, set_by, reason;
    std::int64_t set_at_ms = 0, expires_at_ms = 0;
  };
  std::int64_t ts_ms = 0;
  std::string room;
  std::string modes;  // as in ModerationEvent ("" for none)
  std::string founder;
  std::vector<BanRow> bans;
  std::vector<std::string> ops;
};
struct JoinedEvent {
  std::int64_t ts_ms = 0;
  std::string room, topic;
  std::vector<std::string> members;
  bool rejoined = false;  // after a reconnect
  std::uint32_t member_count = 0;  // a big room's join lists only the first members
};
struct PartedEvent {
  std::int64_t ts_ms = 0;
  std::string room;
};
struct WhoEvent {
  std::int64_t ts_ms = 0;
  std::string room;
  std::vector<std::string> nicks;
  std::uint32_t member_count = 0;
  std::string next_cursor = {};  // the next page starts after this nick; empty: the last page
};
struct RoomListEvent {
  struct Row {
    std::string name, topic;
    std::uint32_t members = 0;
    std::uint64_t last_seq = 0;
  };
  std::int64_t ts_ms = 0;
  std::vector<Row> rooms;
};
struct ErrorEvent {
  std::int64_t ts_ms = 0;
  std::string code;  // the protocol's name without CODE_, or CLIENT for local ones
  std::string message;
};
struct InfoEvent {
  std::int64_t ts_ms = 0;
  std::string text;
  std::string room;  // where it belongs, if anywhere
  bool everywhere = false;  // news for every window (a server restart), not just one
};
// Messages the server's history no longer holds.
struct GapEvent {
  std::int64_t ts_ms = 0;
  std::string room;
  std::uint64_t count = 0;
  std::uint64_t first_seq = 0, last_seq = 0;  // the missing range
};
// The server restarted (new Welcome.epoch): sequence numbers start over.
struct EpochEvent {
  std::int64_t ts_ms = 0;
  std::uint64_t old_epoch = 0, new_epoch = 0;
};
struct ConnectionEvent {
  std::int64_t ts_ms = 0;
  ConnState state = ConnState::kConnecting;
  std::string detail;        // address, nick, or why it dropped
  std::int64_t retry_in_ms = 0;  // for kWaiting
};
// The current window changed: a room ("#x"), a direct-message window (a
// nick), or none ("").
struct SwitchEvent {
  std::int64_t ts_ms = 0;
  std::string room;
};
// Nick, round-trip time or similar status changed; nothing to print.
struct StatusEvent {};
struct HelpEvent {
  std::int64_t ts_ms = 0;
  std::vector<std::string> lines;
};
struct QuitEvent {};

using UiEvent = std::variant<MessageEvent, DirectEvent, PresenceEvent, PresenceDeltaEvent, TopicEvent, JoinedEvent,
                             ModerationEvent, ModesEvent, PartedEvent, WhoEvent, RoomListEvent, ErrorEvent, InfoEvent, GapEvent,
                             EpochEvent, ConnectionEvent, SwitchEvent, StatusEvent, HelpEvent,
                             QuitEvent>;

}  // namespace chat::term
