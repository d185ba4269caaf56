#pragma once
// Room bans (issue 13): the masks an op writes, and whether a ban matches a
// joiner. Pure functions; a ban is the v1::Ban of the wire and the store.
//
//   "NICK"           the nick (folded)
//   "account:NAME"   the account (folded)
//   "address:ADDR"   an address, IPv6 by its /64 (as address_key counts
//                    peers), or a block "address:10.1.0.0/16"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "chat/v1/chat.pb.h"

namespace chat::server {

// The ban `mask` writes (nick, account or address set; nothing else), or
// nothing and why in `error`. `max_nick_bytes` bounds nicks and accounts.
std::optional<v1::Ban> parse_ban_mask(std::string_view mask, std::size_t max_nick_bytes, std::string& error);

// Whether `ban` keeps out a joiner with this nick, account (empty: a
// guest) and address_key. Nick and account are compared folded.
bool ban_matches(const v1::Ban& ban, const std::string& nick, const std::string& account, const std::string& address);

// Whether `ban` names any of the nick, account or address `mask` sets
// (what unban removes).
bool ban_named_by(const v1::Ban& ban, const v1::Ban& mask);

// The mask as an op would write it again: "bob", "account:bob",
// "address:10.0.0.0/8"; the parts joined by " " when a ban has several.
std::string describe_ban(const v1::Ban& ban);

inline bool ban_expired(const v1::Ban& ban, std::int64_t now_ms) {
  return ban.expires_at_ms() != 0 && ban.expires_at_ms() <= now_ms;
}

}  // namespace chat::server
