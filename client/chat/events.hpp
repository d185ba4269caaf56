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
                             PartedEvent, WhoEvent, RoomListEvent, ErrorEvent, InfoEvent, GapEvent,
                             EpochEvent, ConnectionEvent, SwitchEvent, StatusEvent, HelpEvent,
                             QuitEvent>;

}  // namespace chat::term
