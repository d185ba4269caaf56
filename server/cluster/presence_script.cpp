#include "server/cluster/presence_script.hpp"

#include <nlohmann/json.hpp>

#include "server/cluster/room_script.hpp"

namespace chat::server::cluster {

namespace keys {
std::string members(std::string_view room) { return "chat:{" + std::string(room) + "}:members"; }
std::string node_members(std::string_view node) { return "chat:node:{" + std::string(node) + "}:members"; }
std::string alive(std::string_view node) { return "chat:node:{" + std::string(node) + "}:alive"; }
}  // namespace keys

// The keys chat_alive builds for other nodes and their rooms must be those
// of keys:: above (and keys::channel). Everything that can fail is checked
// before the first write.
const char* const kPresenceFunctions = R"lua(
-- One member of a room on a node (presence across nodes, issue 11).
-- KEYS: the room's member set, the node's member index, the room index,
--       the hidden rooms (a room no member holds is hidden no more).
-- ARGV: '+' (joined), '-' (left) or '~' (renamed), the room, the entry
--       '<nick>\31<node>:<session>', a rename's old entry (else ''), the
--       room's channel, the change to publish.
-- Returns 1 if the member set changed (then the change was published).
local function member(keys, args)
  local op, room, entry = args[1], args[2], args[3]
  if #args ~= 6 or (op ~= '+' and op ~= '-' and op ~= '~') then
    return redis.error_reply('ERR chat_member: bad arguments')
  end
  local changed = 0
  if op ~= '+' then
    local gone = op == '-' and entry or args[4]
    changed = redis.call('ZREM', keys[1], gone)
    redis.call('SREM', keys[2], room .. '\31' .. gone)
  end
  if op ~= '-' then
    changed = math.max(changed, redis.call('ZADD', keys[1], 0, entry))
    redis.call('SADD', keys[2], room .. '\31' .. entry)
    redis.call('ZADD', keys[3], 0, room)
  elseif redis.call('EXISTS', keys[1]) == 0 then
    redis.call('ZREM', keys[3], room)
    redis.call('SREM', keys[4], room)
  end
  if changed == 1 then redis.call('PUBLISH', args[5], args[6]) end
  return changed
end
redis.register_function('chat_member', member)

-- Forgets every member `node` holds: each is published as gone (quit, its
-- server went away) on its room's channel.
local function forget(node, nodes, rooms)
  local index = 'chat:node:{' .. node .. '}:members'
  for _, held in ipairs(redis.call('SMEMBERS', index)) do
    local a = string.find(held, '\31', 1, true)
    local b = a and string.find(held, '\31', a + 1, true)
    if b then
      local room = string.sub(held, 1, a - 1)
      local set = 'chat:{' .. room .. '}:members'
      if redis.call('ZREM', set, string.sub(held, a + 1)) == 1 then
        redis.call('PUBLISH', 'chat:{' .. room .. '}:says',
                   cjson.encode({p = 3, r = 5, nick = string.sub(held, a + 1, b - 1), old = '',
                                 id = string.sub(held, b + 1)}))
      end
      if redis.call('EXISTS', set) == 0 then
        redis.call('ZREM', rooms, room)
        redis.call('SREM', 'chat:hidden', room)
      end
    end
  end
  redis.call('DEL', index)
  redis.call('SREM', nodes, node)
end

-- A node's liveness. KEYS: the node list, the room index, this node's
-- liveness key. ARGV: this node, seconds, 'start' | 'beat' | 'stop'.
-- Returns how many other nodes it forgot.
local function alive(keys, args)
  local node, ttl, mode = args[1], tonumber(args[2]), args[3]
  if not ttl or (mode ~= 'start' and mode ~= 'beat' and mode ~= 'stop') then
    return redis.error_reply('ERR chat_alive: bad arguments')
  end
  if mode ~= 'beat' then forget(node, keys[1], keys[2]) end
  if mode == 'stop' then
    redis.call('DEL', keys[3])
    return 0
  end
  redis.call('SET', keys[3], '1', 'EX', ttl)
  redis.call('SADD', keys[1], node)
  local gone = 0
  for _, other in ipairs(redis.call('SMEMBERS', keys[1])) do
    if other ~= node and redis.call('EXISTS', 'chat:node:{' .. other .. '}:alive') == 0 then
      forget(other, keys[1], keys[2])
      gone = gone + 1
    end
  end
  return gone
end
redis.register_function('chat_alive', alive)
)lua";

namespace {
constexpr char kSep = '\x1f';
std::string entry(const std::string& nick, const std::string& id) { return nick + kSep + id; }
}  // namespace

std::vector<std::string> member_command(std::string_view room, const MemberChange& change) {
  const char* op = change.kind == 1 ? "+" : change.kind == 4 ? "~" : "-";  // v1::Presence::Kind
  const std::string node = change.id.substr(0, change.id.rfind(':'));
  return {"FCALL",
          "chat_member",
          "4",
          keys::members(room),
          keys::node_members(node),
          keys::kRooms,
          keys::kHidden,
          op,
          std::string(room),
          entry(change.nick, change.id),
          change.kind == 4 ? entry(change.old_nick, change.id) : std::string(),
          keys::channel(room),
          encode_change(change)};
}

std::vector<std::string> alive_command(std::string_view node, Beat beat) {
  const char* mode = beat == Beat::kStart ? "start" : beat == Beat::kBeat ? "beat" : "stop";
  return {"FCALL",           "chat_alive", "3", keys::kNodes, keys::kRooms, keys::alive(node), std::string(node),
          std::to_string(kAliveSeconds), mode};
}

std::vector<std::string> members_command(std::string_view room) { return {"ZRANGE", keys::members(room), "0", "-1"}; }

std::vector<std::string> members_page_command(std::string_view room, std::string_view cursor, std::size_t limit) {
  // Past every entry of the nick `cursor` ("<cursor>\x1f..."): a nick's
  // characters all sort after ' '.
  std::string min = cursor.empty() ? std::string("-") : "[" + std::string(cursor) + " ";
  return {"ZRANGEBYLEX", keys::members(room), std::move(min), "+", "LIMIT", "0", std::to_string(limit)};
}

std::vector<std::string> node_members_command(std::string_view node) {
  return {"SMEMBERS", keys::node_members(node)};
}

std::vector<std::string> rooms_command(std::string_view cursor, std::size_t limit) {
  std::string min = cursor.empty() ? std::string("-") : "(" + std::string(cursor);
  return {"ZRANGEBYLEX", keys::kRooms, std::move(min), "+", "LIMIT", "0", std::to_string(limit)};
}

namespace {
std::optional<Member> split_member(std::string_view e) {
  const auto sep = e.find(kSep);
  if (sep == std::string_view::npos || sep == 0 || sep + 1 == e.size()) return std::nullopt;
  return Member{std::string(e.substr(0, sep)), std::string(e.substr(sep + 1))};
}
}  // namespace

std::optional<std::vector<Member>> parse_members(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return std::nullopt;
  std::vector<Member> out;
  out.reserve(reply->elements);
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* e = reply->element[i];
    if (e->type != REDIS_REPLY_STRING) return std::nullopt;
    auto m = split_member(std::string_view(e->str, e->len));
    if (!m) return std::nullopt;
    out.push_back(std::move(*m));
  }
  return out;
}

std::optional<std::pair<std::string, Member>> parse_node_member(std::string_view entry) {
  const auto sep = entry.find(kSep);
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  auto m = split_member(entry.substr(sep + 1));
  if (!m) return std::nullopt;
  return std::pair{std::string(entry.substr(0, sep)), std::move(*m)};
}

std::string encode_change(const MemberChange& change) {
  return nlohmann::json{{"p", change.kind},
                        {"r", change.reason},
                        {"nick", change.nick},
                        {"old", change.old_nick},
                        {"id", change.id}}
      .dump();
}

std::optional<MemberChange> parse_change(std::string_view payload) {
  const auto j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto str = [&](const char* name) -> const std::string* {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  auto small = [&](const char* name, int& out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number_integer()) return false;
    const auto v = it->get<std::int64_t>();
    if (v < 0 || v > 64) return false;
    out = static_cast<int>(v);
    return true;
  };
  MemberChange c;
  const std::string *nick = str("nick"), *old = str("old"), *id = str("id");
  if (!small("p", c.kind) || !small("r", c.reason) || !nick || !old || !id || c.kind < 1 || c.kind > 4 ||
      nick->empty() || id->find(':') == std::string::npos) {
    return std::nullopt;
  }
  c.nick = *nick;
  c.old_nick = *old;
  c.id = *id;
  return c;
}

}  // namespace chat::server::cluster
