#pragma once
// A say as the cluster carries it (issue 11): what a node hands Redis, and
// what Redis publishes and keeps in the room's stream. Plain values, so the
// reactors' messages can carry them without hiredis.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace chat::server::cluster {

struct Say {
  std::string room;
  std::string sender;    // the nick it is shown under
  std::string identity;  // who it speaks for (exactly-once)
  std::uint64_t client_msg_id = 0;  // 0: unnamed, never deduplicated
  std::string text;
  std::int64_t timestamp_ms = 0;
  std::string origin;  // "<node>:<session>:<request_id>": the sender's own copy
};

// A say with its place in the room's numbering.
struct Published {
  std::uint64_t seq = 0;
  std::uint64_t epoch = 0;
  Say say;
};

// Presence across nodes: a member of a room on some node joined, left or
// was renamed. `id` is "<node>:<session>", unique in the cluster; the room's
// member set in Redis holds each member as "<nick>\x1f<id>".
struct MemberChange {
  int kind = 0;    // v1::Presence::Kind
  int reason = 0;  // v1::Presence::Reason
  std::string nick;
  std::string old_nick;  // a rename's
  std::string id;
};

// A member as a room's member set names it.
struct Member {
  std::string nick;
  std::string id;
};

inline std::string member_id(std::string_view node, std::uint64_t session) {
  return std::string(node) + ":" + std::to_string(session);
}
// Whether member `id` is on `node`.
inline bool is_on_node(std::string_view id, std::string_view node) {
  return id.size() > node.size() && id.substr(0, node.size()) == node && id[node.size()] == ':';
}

// A say's origin: the node it was said on, the session, and its request.
inline std::string make_origin(std::string_view node, std::uint64_t session, std::uint64_t request_id) {
  return std::string(node) + ":" + std::to_string(session) + ":" + std::to_string(request_id);
}
// True, with the session and request, if `origin` names a say of `node`.
inline bool parse_origin(std::string_view origin, std::string_view node, std::uint64_t& session,
                         std::uint64_t& request_id) {
  if (origin.size() <= node.size() + 1 || origin.substr(0, node.size()) != node || origin[node.size()] != ':') {
    return false;
  }
  const std::string_view rest = origin.substr(node.size() + 1);
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos) return false;
  const auto a = std::from_chars(rest.data(), rest.data() + colon, session);
  const auto b = std::from_chars(rest.data() + colon + 1, rest.data() + rest.size(), request_id);
  return a.ec == std::errc() && a.ptr == rest.data() + colon && b.ec == std::errc() &&
         b.ptr == rest.data() + rest.size();
}

}  // namespace chat::server::cluster
