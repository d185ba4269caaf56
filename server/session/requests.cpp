// Session: one handler per request type (as muduo's protobuf dispatcher maps
// each message type to its own callback). Each checks what it can check
// here and sends the request on to the owner of the room or nick; hello,
// rename and the account requests are in identity.cpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/names.hpp"
#include "server/chat/frames.hpp"
#include "server/session/local_hub.hpp"
#include "server/session/session.hpp"

namespace chat::server {

using v1::Error;
using Kind = msg::RoomQuery::Kind;

void Session::dispatch(v1::ClientFrame& frame) {
  const std::uint64_t rid = frame.request_id();
  using F = v1::ClientFrame;
  const F::BodyCase body = frame.body_case();
  if (body == F::kHello) return on_hello(*frame.mutable_hello(), rid);
  if (body == F::kPing) return on_ping(frame.ping(), rid);
  if (body == F::kPong) return;
  if (body == F::BODY_NOT_SET) return reply_error(Error::CODE_UNKNOWN_REQUEST, "unknown or empty request", rid);
  if (!require_login(rid)) return;
  if (account_.empty() && hub_.config().require_account && body != F::kRegisterAccount) {
    reply_error(Error::CODE_ACCOUNT_REQUIRED,
                "this server takes accounts only: register this nick, or log in with a password", rid);
    return;
  }
  switch (body) {
    case F::kRename: return on_rename(*frame.mutable_rename(), rid);
    case F::kRegisterAccount: return on_register(*frame.mutable_register_account(), rid);
    case F::kChangePassword: return on_change_password(*frame.mutable_change_password(), rid);
    case F::kDropAccount: return on_drop_account(*frame.mutable_drop_account(), rid);
    case F::kJoin: return on_join(frame.join(), rid);
    case F::kLeave: return on_leave(frame.leave(), rid);
    case F::kSay: return on_say(*frame.mutable_say(), rid);
    case F::kDirect: return on_direct(*frame.mutable_direct(), rid);
    case F::kListRooms:
      asked();
      return hub_.list_rooms(id_, rid, frame.list_rooms());
    case F::kWho: return on_who(frame.who(), rid);
    case F::kGetTopic: return query_room(Kind::kGetTopic, frame.get_topic().room(), rid);
    case F::kSetTopic: return on_set_topic(*frame.mutable_set_topic(), rid);
    case F::kHistory: return on_history(frame.history(), rid);
    case F::kKick:
    case F::kBan:
    case F::kUnban:
    case F::kInvite:
    case F::kSetModes:
    case F::kSetRole: return on_moderate(frame, rid);
    default: return reply_error(Error::CODE_UNKNOWN_REQUEST, "unknown request", rid);
  }
}

// ---------------------------------------------------------------- requests

void Session::on_ping(const v1::PingRequest& ping, std::uint64_t rid) {
  v1::ServerFrame reply;
  reply.set_request_id(rid);
  reply.mutable_pong()->set_nonce(ping.nonce());
  send(common::make_shared_frame(reply));
}

void Session::on_join(const v1::JoinRequest& join, std::uint64_t rid) {
  auto room = room_arg(join.room(), rid);
  if (!room) return;
  if (is_member(*room)) {
    reply_error(Error::CODE_ALREADY_A_MEMBER, "already in " + *room, rid);
    return;
  }
  // Joins in flight count, so pipelined joins cannot pass the cap.
  const std::size_t max = hub_.config().max_joined;
  if (rooms_.size() >= max) {
    reply_error(Error::CODE_TOO_MANY_JOINED, "already in " + std::to_string(max) + " rooms; leave one first", rid);
    return;
  }
  const std::uint64_t number = next_join_++;
  rooms_.push_back(Membership{*room, number});
  asked();
  msg::Join m{std::move(*room), nick_, id_, rid, number, identity_};
  m.account = account_;
  m.key = join.key();
  reserve_creation(m);  // only the owner knows whether the join creates the room
  hub_.router().to_room_owner(std::move(m));
}

void Session::on_leave(const v1::LeaveRequest& leave, std::uint64_t rid) {
  auto room = room_arg(leave.room(), rid);
  if (!room) return;
  const Membership* m = membership(*room);
  if (m == nullptr) {
    reply_error(Error::CODE_NOT_A_MEMBER, "not in " + *room, rid);
    return;
  }
  drop(*m);
  hub_.remove_local_member(*room, this);
  spdlog::info("leave {} {} (session {})", *room, nick_, label());
  hub_.router().to_room_owner(msg::Leave{std::move(*room), nick_, id_, rid, {}, address_});
}

void Session::on_say(v1::SayRequest& say, std::uint64_t rid) {
  auto room = room_arg(say.room(), rid);
  if (!room) return;
  if (!is_member(*room)) {
    reply_error(Error::CODE_NOT_A_MEMBER, "join " + *room + " before you speak there", rid);
    return;
  }
  if (!check_body(say.text(), rid)) return;
  hub_.router().to_room_owner(
      msg::Publish{std::move(*room), nick_, std::move(*say.mutable_text()), say.client_msg_id(), id_, rid, identity_});
}

void Session::on_direct(v1::DirectRequest& direct, std::uint64_t rid) {
  if (!check_nick(direct.nick(), rid) || !check_body(direct.text(), rid)) return;
  msg::RouteDirect m{std::move(*direct.mutable_nick()), nick_, std::move(*direct.mutable_text()), id_, rid};
  hub_.router().to_nick_owner(m.to, std::move(m));
}

void Session::on_set_topic(v1::SetTopicRequest& set, std::uint64_t rid) {
  const std::size_t max = hub_.config().max_topic_bytes;
  if (set.topic().size() > max) {
    reply_error(Error::CODE_TOPIC_TOO_LONG, "a topic is at most " + std::to_string(max) + " bytes", rid);
    return;
  }
  msg::RoomQuery q;
  q.kind = Kind::kSetTopic;
  q.request_id = rid;
  q.topic = std::move(*set.mutable_topic());
  query_room(std::move(q), set.room());
}

void Session::on_history(const v1::HistoryRequest& history, std::uint64_t rid) {
  msg::RoomQuery q;
  q.kind = Kind::kHistory;
  q.request_id = rid;
  q.before_seq = history.before_seq();
  q.has_after = history.has_after_seq();
  q.after_seq = history.after_seq();
  q.limit = history.limit();
  query_room(std::move(q), history.room());
}

void Session::on_who(const v1::WhoRequest& who, std::uint64_t rid) {
  msg::RoomQuery q;
  q.kind = Kind::kWho;
  q.request_id = rid;
  q.cursor = who.cursor();  // only ever a place in the room's nick order
  q.limit = who.limit();
  query_room(std::move(q), who.room());
}

// Issue 13: what the owner needs to check is there and within bounds; the
// owner checks the rest (roles, bans, members).
void Session::on_moderate(v1::ClientFrame& frame, std::uint64_t rid) {
  using F = v1::ClientFrame;
  const std::string* room = nullptr;
  const std::string* nick = nullptr;  // a nick the request names
  const std::string* text = nullptr;  // a reason or a key
  switch (frame.body_case()) {
    case F::kKick:
      room = &frame.kick().room();
      nick = &frame.kick().nick();
      text = &frame.kick().reason();
      break;
    case F::kBan:
      room = &frame.ban().room();
      text = &frame.ban().reason();
      break;
    case F::kUnban: room = &frame.unban().room(); break;
    case F::kInvite:
      room = &frame.invite().room();
      nick = &frame.invite().nick();
      break;
    case F::kSetModes:
      room = &frame.set_modes().room();
      text = &frame.set_modes().key();
      break;
    default:
      room = &frame.set_role().room();
      nick = &frame.set_role().nick();
      break;
  }
  auto canonical = room_arg(*room, rid);
  if (!canonical) return;
  if (nick != nullptr && !check_nick(*nick, rid)) return;
  const std::size_t max = hub_.config().max_topic_bytes;
  if (text != nullptr && text->size() > max) {
    reply_error(Error::CODE_TOPIC_TOO_LONG, "a reason or key is at most " + std::to_string(max) + " bytes", rid);
    return;
  }
  // Reading a room's modes changes nothing, so costs no room-change budget.
  const bool reads = frame.body_case() == F::kSetModes && !msg::sets_modes(frame.set_modes());
  if (!reads && refused(RateLimits::Limit::kModerate, rid)) return;
  hub_.router().to_room_owner(msg::Moderate{std::move(*canonical), nick_, id_, rid, std::move(frame)});
}

void Session::query_room(Kind kind, const std::string& room, std::uint64_t rid) {
  msg::RoomQuery q;
  q.kind = kind;
  q.request_id = rid;
  query_room(std::move(q), room);
}

void Session::query_room(msg::RoomQuery&& q, const std::string& room) {
  auto canonical = room_arg(room, q.request_id);
  if (!canonical) return;
  if (q.kind == Kind::kSetTopic && !is_member(*canonical)) {
    reply_error(Error::CODE_NOT_A_MEMBER, "join " + *canonical + " to set its topic", q.request_id);
    return;
  }
  if (q.kind == Kind::kSetTopic && refused(RateLimits::Limit::kTopic, q.request_id)) return;
  q.room = std::move(*canonical);
  q.session = id_;
  q.nick = nick_;
  q.identity = identity_;
  if (q.kind == Kind::kHistory) asked();
  hub_.router().to_room_owner(std::move(q));
}

// ------------------------------------------------------------------ checks

void Session::reply_error(Error::Code code, std::string_view text, std::uint64_t request_id,
                          std::uint32_t retry_after_ms) {
  hub_.metrics().error(code);
  send(error_frame(code, text, request_id, retry_after_ms));
}

bool Session::refused(RateLimits::Limit kind, std::uint64_t request_id) {
  const std::uint32_t wait = limits_.refuse(kind, Clock::now());
  if (wait == 0) return false;
  count_limited(kind);
  reply_error(Error::CODE_RATE_LIMITED, limits_.describe(kind, wait), request_id, wait);
  return true;
}

bool Session::require_login(std::uint64_t request_id) {
  if (logged_in()) return true;
  reply_error(Error::CODE_NOT_LOGGED_IN, "say hello with a nick first", request_id);
  return false;
}

bool Session::check_nick(const std::string& nick, std::uint64_t request_id) {
  if (common::is_valid_nick(nick, hub_.config().max_nick_bytes)) return true;
  reply_error(Error::CODE_INVALID_NICK, "not a valid nick: " + nick, request_id);
  return false;
}

std::optional<std::string> Session::room_arg(const std::string& room, std::uint64_t request_id) {
  const std::size_t max = hub_.config().max_room_bytes;
  auto canonical = common::canonical_room(room, max);
  if (!canonical) {
    reply_error(Error::CODE_INVALID_ROOM, "a room is '#' and 1-" + std::to_string(max - 1) + " of A-Z a-z 0-9 _ . -",
                request_id);
  }
  return canonical;
}

bool Session::check_body(const std::string& text, std::uint64_t request_id) {
  if (text.empty()) {
    reply_error(Error::CODE_EMPTY_BODY, "message text is empty", request_id);
    return false;
  }
  const std::size_t max = hub_.config().max_body_bytes;
  if (text.size() > max) {
    reply_error(Error::CODE_BODY_TOO_LONG, "message text is over " + std::to_string(max) + " bytes", request_id);
    return false;
  }
  return true;
}

// ------------------------------------------------------------- memberships

const Session::Membership* Session::membership(const std::string& room) const {
  auto it = std::find_if(rooms_.begin(), rooms_.end(), [&](const Membership& m) { return m.room == room; });
  return it == rooms_.end() ? nullptr : &*it;
}

void Session::drop(const Membership& m) { rooms_.erase(rooms_.begin() + (&m - rooms_.data())); }

bool Session::is_current_join(const std::string& room, std::uint64_t join) const {
  const Membership* m = membership(room);
  return m != nullptr && m->join == join;
}

void Session::forget_join(const std::string& room, std::uint64_t join) {
  const Membership* m = membership(room);
  if (m != nullptr && m->join == join) drop(*m);
}

}  // namespace chat::server
