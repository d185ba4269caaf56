#include "server/cluster/room_script.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "server/cluster/presence_script.hpp"

namespace chat::server::cluster {

namespace keys {
std::string meta(std::string_view room) { return "chat:{" + std::string(room) + "}:meta"; }
std::string stream(std::string_view room) { return "chat:{" + std::string(room) + "}:stream"; }
std::string said(std::string_view room, std::string_view identity, std::uint64_t client_msg_id) {
  return "chat:{" + std::string(room) + "}:said:" + std::to_string(client_msg_id) + ":" + std::string(identity);
}
std::string channel(std::string_view room) { return "chat:{" + std::string(room) + "}:says"; }
}  // namespace keys

// Numbers travel as strings where they may pass 2^53 (cjson writes numbers
// as doubles): the epoch, client_msg_id, timestamps. A script that fails
// half-way is not rolled back, so everything that can fail (a malformed
// argument) is checked before the first write.
const char* const kLibrary = R"lua(#!lua name=chat
-- One say to a room (chatd's cluster mode, issue 11).
-- KEYS: the room's meta hash, its stream, the say's dedupe key ('' if unnamed).
-- ARGV: sender, identity, client_msg_id, text, timestamp ms, entries kept,
--       dedupe seconds, an epoch for a room that has none, origin, channel.
-- Returns {fresh 1|0, seq, epoch, timestamp ms, origin}: a repeat names the
-- original's timestamp and origin, so a node sending a say again after
-- losing Redis's answer knows the first try was numbered.
local function say(keys, args)
  local meta, stream, said = keys[1], keys[2], keys[3]
  local keep, ttl = tonumber(args[6]), tonumber(args[7])
  if not keep or not ttl or #args ~= 10 then
    return redis.error_reply('ERR chat_say: bad arguments')
  end
  if said ~= '' then
    local seen = redis.call('GET', said)
    if seen then
      -- '<seq>:<ts>:<origin>' (an origin has colons of its own).
      local a = string.find(seen, ':', 1, true)
      local b = string.find(seen, ':', a + 1, true)
      local ts = b and string.sub(seen, a + 1, b - 1) or string.sub(seen, a + 1)
      return {0, tonumber(string.sub(seen, 1, a - 1)), redis.call('HGET', meta, 'epoch') or '0', ts,
              b and string.sub(seen, b + 1) or ''}
    end
  end
  local epoch = redis.call('HGET', meta, 'epoch')
  if not epoch then
    -- A new room, or one whose state is gone: a new numbering, and no
    -- stream entry of an old one left to collide with.
    epoch = args[8]
    redis.call('DEL', stream)
    redis.call('HSET', meta, 'epoch', epoch)
  end
  local seq = redis.call('HINCRBY', meta, 'seq', 1)
  redis.call('XADD', stream, 'MAXLEN', '~', keep, seq .. '-0', 'sender', args[1], 'identity', args[2],
             'cmid', args[3], 'text', args[4], 'ts', args[5], 'origin', args[9])
  if said ~= '' then
    redis.call('SET', said, seq .. ':' .. args[5] .. ':' .. args[9], 'EX', ttl)
  end
  redis.call('PUBLISH', args[10], cjson.encode({seq = seq, epoch = epoch, origin = args[9], ts = args[5],
                                                cmid = args[3], sender = args[1], identity = args[2],
                                                text = args[4]}))
  return {1, seq, epoch, args[5], args[9]}
end
redis.register_function('chat_say', say)

-- A room being watched: KEYS its meta hash and stream; ARGV[1] an epoch
-- for it if it has none (then no stream entry of an old numbering is left).
local function open(keys, args)
  if redis.call('HSETNX', keys[1], 'epoch', args[1]) == 1 then redis.call('DEL', keys[2]) end
  return 1
end
redis.register_function('chat_open', open)

-- A room's topic: KEYS[1] its meta hash; ARGV: the topic, who set it,
-- the room's channel, the change to publish.
local function topic(keys, args)
  if #args ~= 4 then return redis.error_reply('ERR chat_topic: bad arguments') end
  redis.call('HSET', keys[1], 'topic', args[1], 'topic_by', args[2])
  redis.call('PUBLISH', args[3], args[4])
  return 1
end
redis.register_function('chat_topic', topic)

-- A direct message for a nick: KEYS[1] its lease; ARGV[1] the message.
-- Published on the channel of the node holding the lease; returns how
-- many received it (0: no node holds the nick).
local function direct(keys, args)
  local holder = redis.call('GET', keys[1])
  if not holder then return 0 end
  return redis.call('PUBLISH', 'chat:node:{' .. holder .. '}:directs', args[1])
end
redis.register_function('chat_direct', direct)

-- Nick leases: KEYS[1] the nick's key; ARGV: this node, seconds.
-- Returns '' when the node holds it now, else the node that does.
local function lease(keys, args)
  local holder = redis.call('GET', keys[1])
  if holder and holder ~= args[1] then return holder end
  redis.call('SET', keys[1], args[1], 'EX', tonumber(args[2]))
  return ''
end
redis.register_function('chat_lease', lease)

-- Gives the nick up if this node (ARGV[1]) holds it.
local function unlease(keys, args)
  if redis.call('GET', keys[1]) == args[1] then redis.call('DEL', keys[1]) end
  return 1
end
redis.register_function('chat_unlease', unlease)

-- Refreshes this node's leases (KEYS); one that expired meanwhile is taken
-- again if nobody took it. Returns the keys another node holds now.
local function refresh(keys, args)
  local lost = {}
  for _, k in ipairs(keys) do
    local holder = redis.call('GET', k)
    if holder == args[1] or not holder then
      redis.call('SET', k, args[1], 'EX', tonumber(args[2]))
    else
      table.insert(lost, k)
    end
  end
  return lost
end
redis.register_function('chat_refresh', refresh)
)lua";

std::vector<std::string> load_command() {
  return {"FUNCTION", "LOAD", "REPLACE", std::string(kLibrary) + kPresenceFunctions};
}

namespace keys {
std::string nick(std::string_view folded) { return "chat:nick:" + std::string(folded); }
std::string node_channel(std::string_view node) { return "chat:node:{" + std::string(node) + "}:directs"; }
}  // namespace keys

std::vector<std::string> direct_command(std::string_view folded, std::string_view payload) {
  return {"FCALL", "chat_direct", "1", keys::nick(folded), std::string(payload)};
}

std::vector<std::string> lease_command(std::string_view folded, std::string_view node, std::uint32_t seconds) {
  return {"FCALL", "chat_lease", "1", keys::nick(folded), std::string(node), std::to_string(seconds)};
}

std::vector<std::string> unlease_command(std::string_view folded, std::string_view node) {
  return {"FCALL", "chat_unlease", "1", keys::nick(folded), std::string(node)};
}

std::vector<std::string> refresh_command(const std::vector<std::string>& folded, std::string_view node,
                                         std::uint32_t seconds) {
  std::vector<std::string> argv = {"FCALL", "chat_refresh", std::to_string(folded.size())};
  for (const auto& f : folded) argv.push_back(keys::nick(f));
  argv.emplace_back(node);
  argv.push_back(std::to_string(seconds));
  return argv;
}

std::vector<std::string> open_command(std::string_view room, std::uint64_t epoch) {
  return {"FCALL", "chat_open", "2", keys::meta(room), keys::stream(room), std::to_string(epoch)};
}

std::vector<std::string> meta_command(std::string_view room) {
  return {"HMGET", keys::meta(room), "epoch", "seq", "topic", "topic_by"};
}

std::vector<std::string> topic_command(std::string_view room, const TopicChange& change) {
  const std::string payload =
      nlohmann::json{{"t", change.topic}, {"by", change.set_by}, {"node", change.node}}.dump();
  return {"FCALL", "chat_topic", "1", keys::meta(room), change.topic, change.set_by, keys::channel(room), payload};
}

std::optional<TopicChange> parse_topic(std::string_view payload) {
  const auto j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  const auto t = j.find("t");
  const auto by = j.find("by");
  const auto node = j.find("node");
  if (t == j.end() || !t->is_string() || by == j.end() || !by->is_string() || node == j.end() || !node->is_string()) {
    return std::nullopt;
  }
  return TopicChange{t->get<std::string>(), by->get<std::string>(), node->get<std::string>()};
}

std::vector<std::string> range_command(std::string_view room, std::uint64_t lo, std::uint64_t hi) {
  return {"XRANGE", keys::stream(room), std::to_string(lo) + "-0", std::to_string(hi) + "-0"};
}

std::vector<std::string> tail_command(std::string_view room, std::size_t count) {
  return {"XREVRANGE", keys::stream(room), "+", "-", "COUNT", std::to_string(count)};
}

std::vector<std::string> say_command(const Say& say, const SayLimits& limits, std::uint64_t new_epoch) {
  return {"FCALL",
          "chat_say",
          "3",
          keys::meta(say.room),
          keys::stream(say.room),
          say.client_msg_id == 0 ? std::string() : keys::said(say.room, say.identity, say.client_msg_id),
          say.sender,
          say.identity,
          std::to_string(say.client_msg_id),
          say.text,
          std::to_string(say.timestamp_ms),
          std::to_string(limits.keep),
          std::to_string(limits.dedupe_seconds),
          std::to_string(new_epoch),
          say.origin,
          keys::channel(say.room)};
}

namespace {

template <class T>
bool number(std::string_view s, T& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// An integer reply, or a string one holding a number.
template <class T>
bool number(const redisReply* r, T& out) {
  if (r->type == REDIS_REPLY_INTEGER) {
    out = static_cast<T>(r->integer);
    return true;
  }
  return r->type == REDIS_REPLY_STRING && number(std::string_view(r->str, r->len), out);
}

}  // namespace

std::optional<Said> parse_said(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 5) return std::nullopt;
  Said s;
  int fresh = 0;
  if (!number(reply->element[0], fresh) || !number(reply->element[1], s.seq) || !number(reply->element[2], s.epoch) ||
      !number(reply->element[3], s.timestamp_ms)) {
    return std::nullopt;
  }
  if (reply->element[4]->type != REDIS_REPLY_STRING) return std::nullopt;
  s.origin.assign(reply->element[4]->str, reply->element[4]->len);
  s.fresh = fresh == 1;
  return s;
}

std::optional<RoomMeta> parse_meta(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) return std::nullopt;
  RoomMeta m;
  if (reply->element[0]->type == REDIS_REPLY_NIL) return m;  // no such room yet
  if (!number(reply->element[0], m.epoch)) return std::nullopt;
  if (reply->element[1]->type != REDIS_REPLY_NIL && !number(reply->element[1], m.last_seq)) return std::nullopt;
  for (int i : {2, 3}) {
    const redisReply* e = reply->element[i];
    if (e->type == REDIS_REPLY_STRING) (i == 2 ? m.topic : m.topic_set_by).assign(e->str, e->len);
  }
  return m;
}

std::optional<std::vector<Published>> parse_entries(std::string_view room, std::uint64_t epoch, const redisReply* reply,
                                                    bool newest_first) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return std::nullopt;
  std::vector<Published> out;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* entry = reply->element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 || entry->element[1]->type != REDIS_REPLY_ARRAY) {
      return std::nullopt;
    }
    const std::string id(entry->element[0]->str, entry->element[0]->len);
    Published p;
    p.epoch = epoch;
    p.say.room = std::string(room);
    if (!number(std::string_view(id).substr(0, id.find('-')), p.seq)) return std::nullopt;
    const redisReply* fields = entry->element[1];
    for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
      const std::string name(fields->element[f]->str, fields->element[f]->len);
      std::string value(fields->element[f + 1]->str, fields->element[f + 1]->len);
      std::string* text_field = name == "sender"     ? &p.say.sender
                                : name == "identity" ? &p.say.identity
                                : name == "text"     ? &p.say.text
                                : name == "origin"   ? &p.say.origin
                                                     : nullptr;
      if (text_field != nullptr) {
        *text_field = std::move(value);
        continue;
      }
      const bool bad_number = (name == "cmid" && !number(std::string_view(value), p.say.client_msg_id)) ||
                              (name == "ts" && !number(std::string_view(value), p.say.timestamp_ms));
      if (bad_number) return std::nullopt;
    }
    out.push_back(std::move(p));
  }
  if (newest_first) std::reverse(out.begin(), out.end());
  return out;
}

std::optional<Published> parse_published(std::string_view room, std::string_view payload) {
  const auto j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto str = [&](const char* name) -> const std::string* {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const auto seq = j.find("seq");
  const std::string *epoch = str("epoch"), *origin = str("origin"), *ts = str("ts"), *cmid = str("cmid"),
                    *sender = str("sender"), *identity = str("identity"), *text = str("text");
  if (seq == j.end() || !seq->is_number_unsigned() || !epoch || !origin || !ts || !cmid || !sender || !identity ||
      !text) {
    return std::nullopt;
  }
  Published p;
  p.seq = seq->get<std::uint64_t>();
  p.say.room = std::string(room);
  p.say.sender = *sender;
  p.say.identity = *identity;
  p.say.text = *text;
  p.say.origin = *origin;
  if (!number(std::string_view(*epoch), p.epoch) || !number(std::string_view(*ts), p.say.timestamp_ms) ||
      !number(std::string_view(*cmid), p.say.client_msg_id)) {
    return std::nullopt;
  }
  return p;
}

}  // namespace chat::server::cluster
