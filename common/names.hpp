#pragma once
// Validation and canonical forms of nicknames and room names. Pure.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat::common {

// ASCII lower case: the key under which nicks are unique and rooms are named.
std::string fold_case(std::string_view s);

// The nick's look-alike key: Unicode TR39's skeleton for the characters a
// nick may hold, taken of the folded nick, so that nicks one fold_case apart
// always share it and a nick's owner (Router::nick_owner) can hash it. Two
// nicks with one skeleton are confusable: "alice", "aIice", "a1ice",
// "ALICE". confusables.txt maps 'I' and '1' to 'l', '0' to 'O' and 'm' to
// "rn"; folded first, 'i' joins 'I', so "allce" is alike too (a few nicks
// alike only in upper case are refused: the price of one key).
std::string nick_skeleton(std::string_view nick);

// A nick is 1..max_bytes of [A-Za-z0-9_-], starting with a letter.
bool is_valid_nick(std::string_view nick, std::size_t max_bytes);

// A room is an optional '#' then 1.. of [A-Za-z0-9_.-], max_bytes in all.
// Returns the canonical name ('#' added, lower case) or nothing if invalid.
std::optional<std::string> canonical_room(std::string_view room, std::size_t max_bytes);

// FNV-1a: a stable hash, so a key maps to the same shard in every run.
std::uint64_t stable_hash(std::string_view key);

}  // namespace chat::common
