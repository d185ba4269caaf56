// RoomShard's keepers (issue 13): roles, bans, invites and modes; the checks
// a join passes and the moderation requests ops send. Each action is told to
// the room as a Moderation event, answered to the op as moderation_ack, and
// whatever it changed in the room's settings is stored with the room.
#include <algorithm>

#include "common/names.hpp"
#include "server/chat/bans.hpp"
#include "server/chat/frames.hpp"
#include "server/chat/room_shard.hpp"

namespace chat::server {

using v1::Error;

namespace {

// Invites a room keeps at most; the oldest goes first.
constexpr std::size_t kMaxInvites = 256;

}  // namespace

v1::Role RoomShard::kept_role(const RoomState& room, const std::string& account) {
  if (account.empty()) return v1::ROLE_MEMBER;
  const std::string key = common::fold_case(account);
  if (key == room.settings.founder()) return v1::ROLE_FOUNDER;
  auto it = room.settings.roles().find(key);
  return it == room.settings.roles().end() ? v1::ROLE_MEMBER : it->second;
}

void RoomShard::keep_settings(RoomState& room) { store_.set_settings(room.name, room.settings.SerializeAsString()); }

bool RoomShard::admit(RoomState& room, const msg::Join& m) {
  const std::int64_t now = now_ms();
  auto& bans = *room.settings.mutable_bans();
  const auto before = bans.size();
  bans.erase(std::remove_if(bans.begin(), bans.end(), [now](const v1::Ban& b) { return ban_expired(b, now); }),
             bans.end());
  if (bans.size() != before) keep_settings(room);
  const v1::Role role = kept_role(room, m.account);
  if (role >= v1::ROLE_OP) return true;  // an account kept as op or founder passes every mode
  auto refuse = [&](Error::Code code, const std::string& why) {
    refuse_join(m, code, "cannot join " + room.name + ": " + why);
    return false;
  };
  for (const v1::Ban& ban : bans) {
    if (ban_matches(ban, m.nick, m.account, m.address)) {
      return refuse(Error::CODE_BANNED, "banned" + (ban.reason().empty() ? "" : " (" + ban.reason() + ")"));
    }
  }
  const std::string folded = common::fold_case(m.nick);
  auto invite = std::find(room.invited.begin(), room.invited.end(), folded);
  if (invite != room.invited.end()) {
    room.invited.erase(invite);  // good for one join
    return true;
  }
  const v1::RoomModes& modes = room.settings.modes();
  if (modes.invite_only()) return refuse(Error::CODE_INVITE_ONLY, "it is invite-only; ask an op for an invite");
  if (modes.has_key() && m.key != room.settings.key()) {
    return refuse(Error::CODE_BAD_KEY, m.key.empty() ? "it has a key: join ROOM KEY" : "that is not its key");
  }
  if (modes.member_limit() != 0 && room.member_count() >= modes.member_limit()) {
    return refuse(Error::CODE_ROOM_FULL, "it holds its most members (" + std::to_string(modes.member_limit()) + ")");
  }
  return true;
}

bool RoomShard::refound(RoomState& room) {
  room.invited.clear();
  if (room.settings.ByteSizeLong() != 0) {
    room.settings.Clear();
    keep_settings(room);
  }
  return true;
}

v1::Role RoomShard::joiner_role(RoomState& room, const msg::Join& m, bool fresh) {
  if (!fresh) return kept_role(room, m.account);
  // The first joiner of a new room founds it: an account for good, a guest
  // while it stays.
  if (!m.account.empty()) {
    room.settings.set_founder(common::fold_case(m.account));
    keep_settings(room);
  }
  return v1::ROLE_FOUNDER;
}

// ----------------------------------------------------------------- actions

void RoomShard::on(msg::Moderate&& m) {
  router_.assert_owner();
  auto it = rooms_.find(m.room);
  if (it == rooms_.end()) {
    router_.error_to_session(m.session, Error::CODE_NO_SUCH_ROOM, "no such room: " + m.room, m.request_id);
    return;
  }
  RoomState& room = it->second;
  auto actor = room.members.find(m.session);
  using F = v1::ClientFrame;
  if (m.request.body_case() == F::kSetModes && !msg::sets_modes(m.request.set_modes())) {
    reply_modes(room, actor == room.members.end() ? nullptr : &actor->second, m);
    return;
  }
  if (actor == room.members.end()) {
    router_.error_to_session(m.session, Error::CODE_NOT_A_MEMBER, "not a member of " + room.name, m.request_id);
    return;
  }
  if (actor->second.role < v1::ROLE_OP) {
    router_.error_to_session(m.session, Error::CODE_NOT_AN_OP, "only the ops of " + room.name + " do that",
                             m.request_id);
    return;
  }
  const Member& op = actor->second;
  switch (m.request.body_case()) {
    case F::kKick: return kick(room, op, m);
    case F::kBan: return ban(room, op, m);
    case F::kUnban: return unban(room, op, m);
    case F::kInvite: return invite(room, op, m);
    case F::kSetModes: return set_modes(room, op, m);
    case F::kSetRole: return set_role(room, op, m);
    default: return;  // the session sends only these
  }
}

v1::Moderation RoomShard::moderation(const RoomState& room, v1::Moderation::Action action, const Member& op,
                                     const std::string& target) {
  v1::Moderation event;
  event.set_room(room.name);
  event.set_action(action);
  event.set_by(op.nick);
  event.set_target(target);
  event.set_timestamp_ms(now_ms());
  return event;
}

void RoomShard::announce(const RoomState& room, const v1::Moderation& event, const msg::Moderate& m) {
  v1::ServerFrame frame;
  *frame.mutable_moderation() = event;
  fan_out_.broadcast(room, common::make_shared_frame(frame));
  v1::ServerFrame ack;
  ack.set_request_id(m.request_id);
  *ack.mutable_moderation_ack() = event;
  router_.to_session(m.session, common::make_shared_frame(ack));
}

std::vector<SessionId> RoomShard::sessions_named(const RoomState& room, const std::string& nick) {
  const std::string folded = common::fold_case(nick);
  std::vector<SessionId> out;
  for (const auto& [session, member] : room.members) {
    if (common::fold_case(member.nick) == folded) out.push_back(session);
  }
  return out;
}

bool RoomShard::outranks(const RoomState& room, const Member& op, const std::vector<SessionId>& targets,
                         const msg::Moderate& m) {
  for (SessionId s : targets) {
    const v1::Role role = room.members.at(s).role;
    if (role < op.role) continue;
    router_.error_to_session(m.session, Error::CODE_NOT_AN_OP,
                             role == v1::ROLE_FOUNDER ? "nobody acts on the founder of " + room.name
                                                      : "only the founder of " + room.name + " acts on its ops",
                             m.request_id);
    return false;
  }
  return true;
}

void RoomShard::expel(RoomState& room, const std::vector<SessionId>& targets, v1::Presence::Reason reason) {
  for (SessionId s : targets) {
    auto member = room.members.find(s);
    const std::uint64_t join = member->second.join;
    // The op stays a member, so the room is never left empty here.
    remove_member(room, member, v1::Presence::KIND_LEFT, reason);
    router_.send(reactor_of(s), msg::Removed{room.name, s, join});
  }
}

void RoomShard::kick(RoomState& room, const Member& op, const msg::Moderate& m) {
  const v1::KickRequest& r = m.request.kick();
  const std::vector<SessionId> targets = sessions_named(room, r.nick());
  if (targets.empty()) {
    router_.error_to_session(m.session, Error::CODE_NO_SUCH_NICK, "no " + r.nick() + " in " + room.name,
                             m.request_id);
    return;
  }
  if (!outranks(room, op, targets, m)) return;
  v1::Moderation event = moderation(room, v1::Moderation::ACTION_KICKED, op, room.members.at(targets[0]).nick);
  event.set_reason(r.reason());
  announce(room, event, m);
  expel(room, targets, v1::Presence::REASON_KICKED);
}

void RoomShard::ban(RoomState& room, const Member& op, const msg::Moderate& m) {
  const v1::BanRequest& r = m.request.ban();
  std::string error;
  auto ban = parse_ban_mask(r.mask(), config_.max_nick_bytes, error);
  if (!ban) {
    router_.error_to_session(m.session, Error::CODE_INVALID_MASK, error, m.request_id);
    return;
  }
  if (!ban->nick().empty()) {
    // A member banned by nick stays out under another nick too.
    const std::vector<SessionId> named = sessions_named(room, ban->nick());
    if (!outranks(room, op, named, m)) return;
    if (!named.empty()) {
      const Member& target = room.members.at(named[0]);
      if (!target.account.empty()) ban->set_account(common::fold_case(target.account));
      std::string ignored;
      if (auto block = parse_ban_mask("address:" + target.address, 0, ignored)) ban->set_address(block->address());
    }
  }
  // Those it matches leave, but not the op or those at its rank or above
  // (kept ops and the founder are not held out by bans: admit()).
  std::vector<SessionId> targets;
  for (const auto& [session, member] : room.members) {
    if (member.role < op.role && ban_matches(*ban, member.nick, member.account, member.address)) {
      targets.push_back(session);
    }
  }
  auto& bans = *room.settings.mutable_bans();
  auto same = std::find_if(bans.begin(), bans.end(), [&](const v1::Ban& b) {
    return b.nick() == ban->nick() && b.account() == ban->account() && b.address() == ban->address();
  });
  if (same == bans.end() && static_cast<std::size_t>(bans.size()) >= config_.max_bans_per_room) {
    router_.error_to_session(m.session, Error::CODE_TOO_MANY_BANS,
                             room.name + " keeps " + std::to_string(config_.max_bans_per_room) +
                                 " bans at most; unban one first",
                             m.request_id);
    return;
  }
  const std::int64_t now = now_ms();
  ban->set_set_by(op.nick);
  ban->set_reason(r.reason());
  ban->set_set_at_ms(now);
  ban->set_expires_at_ms(r.duration_s() == 0 ? 0 : now + static_cast<std::int64_t>(r.duration_s()) * 1000);
  if (same == bans.end()) {
    *bans.Add() = *ban;
  } else {
    *same = *ban;
  }
  keep_settings(room);
  v1::Moderation event = moderation(room, v1::Moderation::ACTION_BANNED, op, describe_ban(*ban));
  event.set_reason(r.reason());
  event.set_expires_at_ms(ban->expires_at_ms());
  for (SessionId s : targets) *event.add_removed() = room.members.at(s).nick;
  announce(room, event, m);
  expel(room, targets, v1::Presence::REASON_BANNED);
}

void RoomShard::unban(RoomState& room, const Member& op, const msg::Moderate& m) {
  std::string error;
  auto mask = parse_ban_mask(m.request.unban().mask(), config_.max_nick_bytes, error);
  if (!mask) {
    router_.error_to_session(m.session, Error::CODE_INVALID_MASK, error, m.request_id);
    return;
  }
  auto& bans = *room.settings.mutable_bans();
  const auto before = bans.size();
  bans.erase(std::remove_if(bans.begin(), bans.end(), [&](const v1::Ban& b) { return ban_named_by(b, *mask); }),
             bans.end());
  if (bans.size() == before) {
    router_.error_to_session(m.session, Error::CODE_INVALID_MASK,
                             "no ban of " + room.name + " names " + m.request.unban().mask(), m.request_id);
    return;
  }
  keep_settings(room);
  announce(room, moderation(room, v1::Moderation::ACTION_UNBANNED, op, describe_ban(*mask)), m);
}

void RoomShard::invite(RoomState& room, const Member& op, const msg::Moderate& m) {
  const std::string& nick = m.request.invite().nick();
  const std::string folded = common::fold_case(nick);
  if (std::find(room.invited.begin(), room.invited.end(), folded) == room.invited.end()) {
    if (room.invited.size() >= kMaxInvites) room.invited.erase(room.invited.begin());
    room.invited.push_back(folded);
  }
  const v1::Moderation event = moderation(room, v1::Moderation::ACTION_INVITED, op, nick);
  announce(room, event, m);
  v1::ServerFrame frame;
  *frame.mutable_moderation() = event;
  router_.to_nick_owner(nick, msg::NotifyNick{nick, common::make_shared_frame(frame)});
}

void RoomShard::set_modes(RoomState& room, const Member& op, const msg::Moderate& m) {
  const v1::SetModesRequest& r = m.request.set_modes();
  v1::RoomModes& modes = *room.settings.mutable_modes();
  if (r.has_invite_only()) modes.set_invite_only(r.invite_only());
  if (r.has_key()) {
    room.settings.set_key(r.key());
    modes.set_has_key(!r.key().empty());
  }
  if (r.has_topic_lock()) modes.set_topic_lock(r.topic_lock());
  if (r.has_moderated()) modes.set_moderated(r.moderated());
  if (r.has_member_limit()) modes.set_member_limit(r.member_limit());
  if (r.has_secret()) modes.set_secret(r.secret());
  keep_settings(room);
  // Cluster mode: its keepers are this node's, but no node lists it or
  // answers who for it from Redis while it is private here.
  if (cluster_ != nullptr) cluster_->hide(room.name, room.is_private());
  v1::Moderation event = moderation(room, v1::Moderation::ACTION_MODES_CHANGED, op, {});
  *event.mutable_modes() = modes;
  announce(room, event, m);
}

void RoomShard::set_role(RoomState& room, const Member& op, const msg::Moderate& m) {
  const v1::SetRoleRequest& r = m.request.set_role();
  if (r.role() == v1::ROLE_FOUNDER || r.role() > op.role) {
    router_.error_to_session(m.session, Error::CODE_NOT_AN_OP,
                             r.role() == v1::ROLE_FOUNDER ? "a room has one founder" : "only the founder makes ops",
                             m.request_id);
    return;
  }
  const std::vector<SessionId> targets = sessions_named(room, r.nick());
  if (targets.empty()) {
    router_.error_to_session(m.session, Error::CODE_NO_SUCH_NICK, "no " + r.nick() + " in " + room.name,
                             m.request_id);
    return;
  }
  if (!outranks(room, op, targets, m)) return;
  for (SessionId s : targets) {
    Member& target = room.members.at(s);
    target.role = r.role();
    if (target.account.empty()) continue;
    auto& roles = *room.settings.mutable_roles();
    if (r.role() == v1::ROLE_MEMBER) {
      roles.erase(common::fold_case(target.account));
    } else {
      roles[common::fold_case(target.account)] = r.role();
    }
  }
  keep_settings(room);
  v1::Moderation event = moderation(room, v1::Moderation::ACTION_ROLE_CHANGED, op, room.members.at(targets[0]).nick);
  event.set_role(r.role());
  announce(room, event, m);
}

void RoomShard::reply_modes(const RoomState& room, const Member* asker, const msg::Moderate& m) {
  if (asker == nullptr && room.is_private()) {
    router_.error_to_session(m.session, Error::CODE_NOT_A_MEMBER, room.name + " is for its members only",
                             m.request_id);
    return;
  }
  v1::ServerFrame frame;
  frame.set_request_id(m.request_id);
  auto* reply = frame.mutable_modes();
  reply->set_room(room.name);
  *reply->mutable_modes() = room.settings.modes();
  reply->set_founder(room.settings.founder());
  if (asker != nullptr && asker->role >= v1::ROLE_OP) {
    const std::int64_t now = now_ms();
    for (const v1::Ban& ban : room.settings.bans()) {
      if (!ban_expired(ban, now)) *reply->add_bans() = ban;
    }
    for (const auto& [account, role] : room.settings.roles()) {
      if (role == v1::ROLE_OP) reply->add_ops(account);
    }
    std::sort(reply->mutable_ops()->begin(), reply->mutable_ops()->end());
  }
  router_.to_session(m.session, common::make_shared_frame(frame));
}

}  // namespace chat::server
