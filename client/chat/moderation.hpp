#pragma once
// How the terminal client puts a room's keepers into words (issue 13):
// modes as "+i +k +l 20", what changed as "+i -t", a ban as its mask.
// Pure functions, no I/O.
// Thread safety: stateless; safe from any thread.

#include <string>

#include "chat/v1/chat.pb.h"
#include "client/chat/commands.hpp"

namespace chat::term {

// The modes set, in /mode's letters ("+i +k +t +m +l 20 +s"); "" for none.
std::string mode_string(const v1::RoomModes& modes);
// What differs from `before` to `now` ("+i -t +l 5"); "" when nothing does.
std::string mode_changes(const v1::RoomModes& before, const v1::RoomModes& now);
// A ban as /ban and /unban take it: "bob", "account:bob", "address:10.0.0.0/8"
// (several, space-separated, for a ban that names more than one).
std::string ban_mask(const v1::Ban& ban);
// "member", "voiced", "op", "founder".
std::string role_name(v1::Role role);
// What /mode asks for, as the request (its room left for the caller).
v1::SetModesRequest modes_request(const ModeChange& change);

}  // namespace chat::term
