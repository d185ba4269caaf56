#pragma once
// Rendering UiEvents as text lines: the plain form
//   [HH:MM:SS] #room <nick> text
//   [HH:MM:SS] * nick joined #room
//   [HH:MM:SS] ! ERROR_CODE message
//   [HH:MM:SS] -- reconnecting in 1.2s
// and the JSON form, one object per line with a "type" field.
// Thread safety: stateless; safe from any thread.

#include <string>
#include <vector>

#include "client/chat/events.hpp"

namespace chat::term {

// What a direct message kept for an offline account says after its text:
// " (sent while you were away, at HH:MM:SS)", " (kept: NICK is offline)",
// or nothing.
std::string stored_note(const DirectEvent& e);
// Local wall-clock time as HH:MM:SS.
std::string format_clock(std::int64_t ts_ms);
// The event's lines without the leading "[HH:MM:SS] " (none for status-only
// events); control characters in them are replaced with spaces.
std::vector<std::string> plain_bodies(const UiEvent& event);
// The same with the time prefix.
std::vector<std::string> plain_lines(const UiEvent& event);
// One JSON object, no newline; empty for events with nothing to say.
std::string json_line(const UiEvent& event);
// The event's timestamp (0 for events without one).
std::int64_t event_time(const UiEvent& event);

}  // namespace chat::term
