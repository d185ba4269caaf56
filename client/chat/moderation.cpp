// The terminal client and a room's keepers (issue 13): the pure wording of
// modes, bans and roles (moderation.hpp), and ChatCore's moderation
// commands and events (chat_core.hpp describes the class; this file only
// splits it).
#include "client/chat/moderation.hpp"

#include <algorithm>
#include <chrono>

#include "client/chat/chat_core.hpp"
#include "common/names.hpp"

namespace chat::term {
namespace {

// Moderations remembered to show each once (an op's own come twice, close together).
constexpr std::size_t kRememberedModerations = 16;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void append(std::string& out, const std::string& word) {
  if (!out.empty()) out += ' ';
  out += word;
}

}  // namespace

std::string mode_string(const v1::RoomModes& modes) {
  std::string out;
  if (modes.invite_only()) append(out, "+i");
  if (modes.has_key()) append(out, "+k");
  if (modes.topic_lock()) append(out, "+t");
  if (modes.moderated()) append(out, "+m");
  if (modes.member_limit() > 0) append(out, "+l " + std::to_string(modes.member_limit()));
  if (modes.secret()) append(out, "+s");
  return out;
}

std::string mode_changes(const v1::RoomModes& before, const v1::RoomModes& now) {
  std::string out;
  auto flag = [&out](bool was, bool is, const char* letter) {
    if (was != is) append(out, std::string(is ? "+" : "-") + letter);
  };
  flag(before.invite_only(), now.invite_only(), "i");
  flag(before.has_key(), now.has_key(), "k");
  flag(before.topic_lock(), now.topic_lock(), "t");
  flag(before.moderated(), now.moderated(), "m");
  if (before.member_limit() != now.member_limit()) {
    append(out, now.member_limit() > 0 ? "+l " + std::to_string(now.member_limit()) : std::string("-l"));
  }
  flag(before.secret(), now.secret(), "s");
  return out;
}

std::string ban_mask(const v1::Ban& ban) {
  std::string out;
  if (!ban.nick().empty()) append(out, ban.nick());
  if (!ban.account().empty()) append(out, "account:" + ban.account());
  if (!ban.address().empty()) append(out, "address:" + ban.address());
  return out;
}

std::string role_name(v1::Role role) {
  switch (role) {
    case v1::ROLE_VOICED: return "voiced";
    case v1::ROLE_OP: return "op";
    case v1::ROLE_FOUNDER: return "founder";
    default: return "member";
  }
}

v1::SetModesRequest modes_request(const ModeChange& change) {
  v1::SetModesRequest r;
  if (change.invite_only) r.set_invite_only(*change.invite_only);
  if (change.key) r.set_key(*change.key);
  if (change.topic_lock) r.set_topic_lock(*change.topic_lock);
  if (change.moderated) r.set_moderated(*change.moderated);
  if (change.member_limit) r.set_member_limit(*change.member_limit);
  if (change.secret) r.set_secret(*change.secret);
  return r;
}

void ChatCore::execute_moderation(const Command& c) {
  // The current room; /invite NICK ROOM names another.
  const std::string room = c.kind == CommandKind::kInvite && !c.text.empty() ? normalize_room(c.text) : current_;
  if (room.empty() || is_query(room)) return emit_error("CLIENT", "no current room");
  // The ack is the Moderation the room gets too: shown once, whichever comes first.
  auto acked = [this] {
    return guard([this](const v1::ServerFrame& f) {
      if (reply_ok(f) && f.has_moderation_ack()) on_moderation(f.moderation_ack());
    });
  };
  switch (c.kind) {
    case CommandKind::kKick:
      client_->kick(room, c.arg, c.text, acked());
      return;
    case CommandKind::kBan:
      client_->ban(room, c.arg, c.text, c.duration_s, acked());
      return;
    case CommandKind::kUnban:
      client_->unban(room, c.arg, acked());
      return;
    case CommandKind::kInvite:
      client_->invite(room, c.arg, acked());
      return;
    case CommandKind::kOp:
      client_->set_role(room, c.arg, v1::ROLE_OP, acked());
      return;
    case CommandKind::kVoice:
      client_->set_role(room, c.arg, v1::ROLE_VOICED, acked());
      return;
    case CommandKind::kDeop:
    case CommandKind::kDevoice:
      client_->set_role(room, c.arg, v1::ROLE_MEMBER, acked());
      return;
    case CommandKind::kMode:
      if (c.modes.empty()) {
        client_->get_modes(room, guard([this](const v1::ServerFrame& f) {
          if (reply_ok(f) && f.has_modes()) show_modes(f.modes());
        }));
      } else {
        client_->set_modes(room, modes_request(c.modes), acked());
      }
      return;
    default:
      return;
  }
}

void ChatCore::on_moderation(const v1::Moderation& m) {
  std::string seen = m.SerializeAsString();
  if (std::find(shown_moderation_.begin(), shown_moderation_.end(), seen) != shown_moderation_.end()) return;
  shown_moderation_.push_back(std::move(seen));
  if (shown_moderation_.size() > kRememberedModerations) shown_moderation_.pop_front();

  Room* r = find_room(m.room());
  const std::string me = common::fold_case(nick_);
  auto is_me = [&me](const std::string& nick) { return common::fold_case(nick) == me; };
  ModerationEvent e{m.timestamp_ms() ? m.timestamp_ms() : now_ms(), m.room(), "", m.by(), m.target(), m.reason()};
  bool out = false;  // it took us out of the room
  switch (m.action()) {
    case v1::Moderation::ACTION_KICKED:
      e.what = "kicked";
      e.you = out = is_me(m.target());
      break;
    case v1::Moderation::ACTION_BANNED:
      e.what = "banned";
      e.expires_at_ms = m.expires_at_ms();
      e.removed.assign(m.removed().begin(), m.removed().end());
      e.you = out = std::any_of(e.removed.begin(), e.removed.end(), is_me);
      break;
    case v1::Moderation::ACTION_UNBANNED:
      e.what = "unbanned";
      break;
    case v1::Moderation::ACTION_INVITED:
      e.what = "invited";
      e.you = is_me(m.target());
      e.elsewhere = r == nullptr || r->removed || !r->joined;
      break;
    case v1::Moderation::ACTION_MODES_CHANGED:
      e.what = "modes";
      e.modes = mode_string(m.modes());
      if (r && r->modes) e.changes = mode_changes(*r->modes, m.modes());
      if (r) r->modes = m.modes();
      break;
    case v1::Moderation::ACTION_ROLE_CHANGED:
      e.what = "role";
      e.role = role_name(m.role());
      e.you = is_me(m.target());
      break;
    default:
      e.what = "moderated";
      break;
  }
  sink_(e);
  if (out && r && !r->removed) removed_from(*r);
}

void ChatCore::show_modes(const v1::ModesReply& reply) {
  if (Room* r = find_room(reply.room())) r->modes = reply.modes();
  ModesEvent e{now_ms(), reply.room(), mode_string(reply.modes()), reply.founder(), {},
               {reply.ops().begin(), reply.ops().end()}};
  for (const auto& b : reply.bans()) {
    e.bans.push_back({ban_mask(b), b.set_by(), b.reason(), b.set_at_ms(), b.expires_at_ms()});
  }
  sink_(e);
}

void ChatCore::removed_from(Room& r) {
  r.removed = true;
  r.joined = false;
  r.ever_joined = false;  // a /join is a first join again: a fresh replay, no catch-up
  r.syncing = false;
  r.buffered.clear();
  r.members.clear();
  r.member_count = 0;
  r.modes.reset();
  for (auto it = unacked_.begin(); it != unacked_.end();) {
    it = it->second.room == r.name ? unacked_.erase(it) : std::next(it);
  }
  sink_(StatusEvent{});
}

bool ChatCore::own_removal(const v1::Presence& p) {
  if (p.kind() != v1::Presence::KIND_LEFT || common::fold_case(p.nick()) != common::fold_case(nick_)) return false;
  const std::string reason = v1::Presence::Reason_Name(p.reason());
  if (reason != "REASON_KICKED" && reason != "REASON_BANNED") return false;
  Room* r = find_room(p.room());
  if (r == nullptr || r->removed) return true;  // the Moderation before it said so
  const bool kicked = reason == "REASON_KICKED";
  info(std::string("you were ") + (kicked ? "kicked" : "banned") + " from " + r->name + " (/join " + r->name +
           " to try again)",
       r->name);
  removed_from(*r);
  return true;
}

}  // namespace chat::term
