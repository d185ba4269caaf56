#include "common/names.hpp"

namespace chat::common {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string fold_case(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string nick_skeleton(std::string_view nick) {
  std::string skeleton;
  skeleton.reserve(nick.size() + nick.size() / 4);
  // One pass, folding as it goes: the nick owner computes this for every
  // direct message it routes.
  for (char c : nick) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    switch (c) {
      case '0': skeleton += 'o'; break;
      case '1':
      case 'i': skeleton += 'l'; break;
      case 'm': skeleton += "rn"; break;
      default: skeleton += c; break;
    }
  }
  return skeleton;
}

bool is_valid_nick(std::string_view nick, std::size_t max_bytes) {
  if (nick.empty() || nick.size() > max_bytes || !is_alpha(nick.front())) return false;
  for (char c : nick) {
    if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

std::optional<std::string> canonical_room(std::string_view room, std::size_t max_bytes) {
  if (!room.empty() && room.front() == '#') room.remove_prefix(1);
  if (room.empty() || room.size() + 1 > max_bytes) return std::nullopt;
  for (char c : room) {
    if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '.') return std::nullopt;
  }
  // Appended, not "#" + fold_case(room): GCC 12 at -O2 warns falsely
  // (-Wrestrict) about the operator+ that inserts at the front.
  std::string out = "#";
  out += fold_case(room);
  return out;
}

std::uint64_t stable_hash(std::string_view key) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace chat::common
