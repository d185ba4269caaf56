// The cluster link's rooms (issue 11): watching a room (subscribe, then
// read its numbering, newest says and members: ClusterReady), repairing a
// gap from its stream, and presence across nodes: this node's members'
// changes to the rooms' member sets, the other nodes' changes from the
// rooms' channels, who for a room with no member here, and this node's
// liveness, whose end makes the other nodes forget its members.
#include <spdlog/spdlog.h>

#include <charconv>

#include "common/random_id.hpp"
#include "server/chat/frames.hpp"
#include "server/cluster/cluster_link.hpp"
#include "server/store/history_store.hpp"

namespace chat::server {

void ClusterLink::handle(const link_mail::Watch& w) {
  if (!connected()) {
    to_owner(w.room, msg::ClusterReady{w.room, false, 0, 0, {}});
    return;
  }
  watched_[w.room] = w.tail;
  try {
    awaiting_confirmation_.insert(w.room);
    sub_->append({"SUBSCRIBE", cluster::keys::channel(w.room)});
    sub_->flush();
  } catch (const redis::Error& e) {
    drop(e.what());
  }
}

void ClusterLink::handle(const link_mail::Unwatch& u) {
  watched_.erase(u.room);
  awaiting_confirmation_.erase(u.room);
  if (!connected()) return;
  try {
    sub_->append({"UNSUBSCRIBE", cluster::keys::channel(u.room)});
    sub_->flush();
  } catch (const redis::Error& e) {
    drop(e.what());
  }
}

void ClusterLink::ready(const std::string& room) {
  const auto it = watched_.find(room);
  if (it == watched_.end()) return;  // unwatched meanwhile
  msg::ClusterReady out{room, false, 0, 0, {}};
  const auto started = Clock::now();
  try {
    cmd_->append(cluster::open_command(room, common::random_id()));
    cmd_->append(cluster::meta_command(room));
    cmd_->append(cluster::tail_command(room, std::max<std::size_t>(it->second, 1)));
    cmd_->append(cluster::members_command(room));
    cmd_->append({"XRANGE", cluster::keys::stream(room), "-", "+", "COUNT", "1"});
    const redis::Reply opened = cmd_->next_reply();
    const redis::Reply meta = cmd_->next_reply();
    const redis::Reply tail = cmd_->next_reply();
    const redis::Reply members = cmd_->next_reply();
    const redis::Reply oldest = cmd_->next_reply();
    timed(started);
    const auto m = redis::is_error(opened.get()) ? std::nullopt : cluster::parse_meta(meta.get());
    auto says = m ? cluster::parse_entries(room, m->epoch, tail.get(), /*newest_first=*/true) : std::nullopt;
    auto who = cluster::parse_members(members.get());
    if (m && says && who) {
      out.ok = true;
      out.epoch = m->epoch;
      out.last_seq = m->last_seq;
      out.tail = std::move(*says);
      out.members = std::move(*who);
      out.topic = m->topic;
      out.topic_set_by = m->topic_set_by;
      if (auto first = cluster::parse_entries(room, m->epoch, oldest.get(), false); first && !first->empty()) {
        out.first_seq = first->front().seq;
      }
    }
  } catch (const redis::Error& e) {
    drop(e.what());
  }
  to_owner(room, std::move(out));
}

void ClusterLink::handle(const link_mail::ReadRange& r) {
  msg::ClusterRange out{r.room, false, {}};
  if (connected()) {
    try {
      const auto started = Clock::now();
      const redis::Reply reply = cmd_->command(cluster::range_command(r.room, r.lo, r.hi));
      timed(started);
      if (auto says = cluster::parse_entries(r.room, r.epoch, reply.get(), false)) {
        out.ok = true;
        out.says = std::move(*says);
      }
    } catch (const redis::Error& e) {
      drop(e.what());
    }
  }
  to_owner(r.room, std::move(out));
}

void ClusterLink::on_room_message(const std::string& room, const std::string& payload) {
  if (auto p = cluster::parse_published(room, payload)) {
    to_owner(room, msg::ClusterDeliver{std::move(*p)});
  } else if (auto c = cluster::parse_change(payload)) {
    // This node's own changes are known here already.
    if (!cluster::is_on_node(c->id, options_.node)) to_owner(room, msg::ClusterPresence{room, std::move(*c)});
  } else if (auto t = cluster::parse_topic(payload)) {
    if (t->node != options_.node) to_owner(room, msg::ClusterTopic{room, std::move(t->topic), std::move(t->set_by)});
  } else {
    spdlog::error("cluster: a message on {} that is neither a say nor a member's change", room);
  }
}

void ClusterLink::handle(std::vector<link_mail::Member>& changes) {
  // Lost while Redis is away: each watched room's members are set right
  // when it is ready again.
  if (!connected()) return;
  std::size_t answered = 0;
  try {
    const auto started = Clock::now();
    for (const auto& c : changes) cmd_->append(cluster::member_command(c.room, c.change));
    for (; answered < changes.size(); ++answered) {
      const redis::Reply reply = cmd_->next_reply();
      if (answered == 0) timed(started);
      if (redis::is_error(reply.get())) {
        counters_.script_errors.fetch_add(1, std::memory_order_relaxed);
        spdlog::error("cluster: a member's change in {} failed: {}", changes[answered].room, redis::text(reply.get()));
      }
    }
  } catch (const redis::Error& e) {
    drop(e.what());
  }
}

namespace {

// The WhoReply of `page`, members of a room of `count`: at most
// w.max_bytes of nicks, each once.
SharedFrame who_page(const link_mail::Who& w, std::uint32_t count, const std::vector<cluster::Member>& page) {
  v1::ServerFrame frame;
  frame.set_request_id(w.request_id);
  auto* who = frame.mutable_who();
  who->set_room(w.room);
  who->set_member_count(count);
  std::size_t bytes = 0;
  bool full = page.size() >= w.limit;
  for (const auto& m : page) {
    const bool same_nick = who->nicks_size() > 0 && who->nicks(who->nicks_size() - 1) == m.nick;
    if (same_nick) continue;  // one nick, several sessions (a rename race)
    if (bytes + m.nick.size() + 2 > w.max_bytes) {
      full = true;
      break;
    }
    bytes += m.nick.size() + 2;
    who->add_nicks(m.nick);
  }
  if (full && who->nicks_size() > 0) who->set_next_cursor(who->nicks(who->nicks_size() - 1));
  return common::make_shared_frame(frame);
}

}  // namespace

void ClusterLink::handle(link_mail::History& h) {
  if (!connected()) {
    answer_session(h.session,
                   error_frame(v1::Error::CODE_STORE_UNAVAILABLE, "the cluster's Redis cannot be reached now",
                               h.reply.request_id(), kRetryAfterMs),
                   v1::Error::CODE_STORE_UNAVAILABLE, true);
    return;
  }
  auto* page = h.reply.mutable_history();
  try {
    const auto started = Clock::now();
    const redis::Reply reply = cmd_->command(cluster::range_command(h.room, h.lo, h.hi));
    timed(started);
    auto says = cluster::parse_entries(h.room, h.epoch, reply.get(), false);
    for (const cluster::Published& p : says ? *says : std::vector<cluster::Published>{}) {
      v1::RoomMessage* m = page->add_messages();
      m->set_room(h.room);
      m->set_seq(p.seq);
      m->set_sender(p.say.sender);
      m->set_text(p.say.text);
      m->set_timestamp_ms(p.say.timestamp_ms);
      if (p.say.identity == h.reader) m->set_client_msg_id(p.say.client_msg_id);
    }
  } catch (const redis::Error& e) {
    drop(e.what());
    answer_session(h.session,
                   error_frame(v1::Error::CODE_STORE_UNAVAILABLE, "the cluster's Redis went away; ask again later",
                               h.reply.request_id(), kRetryAfterMs),
                   v1::Error::CODE_STORE_UNAVAILABLE, true);
    return;
  }
  if (trim_page(*page->mutable_messages(), h.max_bytes, h.keep_newest)) page->set_truncated(true);
  answer_session(h.session, common::make_shared_frame(h.reply), v1::Error::CODE_UNSPECIFIED, true);
}

void ClusterLink::handle(const link_mail::Topic& t) {
  if (!connected()) return;  // set here; the other nodes see it at their next first join after one here
  try {
    const redis::Reply reply = cmd_->command(cluster::topic_command(t.room, t.change));
    if (redis::is_error(reply.get())) {
      counters_.script_errors.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("cluster: the topic of {} was not kept: {}", t.room, redis::text(reply.get()));
    }
  } catch (const redis::Error& e) {
    drop(e.what());
  }
}

void ClusterLink::handle(const link_mail::Hide& h) {
  if (!connected()) return;  // a node that cannot reach Redis lists nothing of it
  try {
    cmd_->command({h.hidden ? "SADD" : "SREM", cluster::keys::kHidden, h.room});
  } catch (const redis::Error& e) {
    drop(e.what());
  }
}

void ClusterLink::handle(const link_mail::Who& w) {
  if (!connected()) {
    answer_session(w.session,
                   error_frame(v1::Error::CODE_STORE_UNAVAILABLE, "the cluster's Redis cannot be reached now",
                               w.request_id, kRetryAfterMs),
                   v1::Error::CODE_STORE_UNAVAILABLE);
    return;
  }
  std::optional<std::vector<cluster::Member>> page;
  long long count = 0;
  bool hidden = false;
  try {
    const auto started = Clock::now();
    cmd_->append({"SISMEMBER", cluster::keys::kHidden, w.room});
    cmd_->append({"ZCARD", cluster::keys::members(w.room)});
    cmd_->append(cluster::members_page_command(w.room, w.cursor, w.limit));
    const redis::Reply is_hidden = cmd_->next_reply();
    const redis::Reply card = cmd_->next_reply();
    const redis::Reply members = cmd_->next_reply();
    timed(started);
    hidden = is_hidden->type == REDIS_REPLY_INTEGER && is_hidden->integer == 1;
    if (card->type == REDIS_REPLY_INTEGER) count = card->integer;
    page = cluster::parse_members(members.get());
  } catch (const redis::Error& e) {
    drop(e.what());
  }
  if (hidden && count > 0) {
    answer_session(w.session,
                   error_frame(v1::Error::CODE_NOT_A_MEMBER, w.room + " is for its members only", w.request_id),
                   v1::Error::CODE_NOT_A_MEMBER);
    return;
  }
  if (count == 0 || !page) {
    const bool gone = connected() && page;
    answer_session(w.session,
                   gone ? error_frame(v1::Error::CODE_NO_SUCH_ROOM, "no such room: " + w.room, w.request_id)
                        : error_frame(v1::Error::CODE_STORE_UNAVAILABLE, "the cluster's Redis cannot be reached now",
                                      w.request_id, kRetryAfterMs),
                   gone ? v1::Error::CODE_NO_SUCH_ROOM : v1::Error::CODE_STORE_UNAVAILABLE);
    return;
  }
  answer_session(w.session, who_page(w, static_cast<std::uint32_t>(count), *page), v1::Error::CODE_UNSPECIFIED);
}

void ClusterLink::handle(const link_mail::ListRooms& l) {
  msg::RoomList out{l.query_id, {}, false};
  out.elsewhere = true;
  // Without Redis, the rooms held here are listed alone.
  if (connected()) {
    try {
      const auto started = Clock::now();
      const redis::Reply names = cmd_->command(cluster::rooms_command(l.cursor, l.limit + 1));
      timed(started);
      const std::size_t n = names->type == REDIS_REPLY_ARRAY ? std::min(names->elements, l.limit) : 0;
      out.more = names->type == REDIS_REPLY_ARRAY && names->elements > l.limit;
      for (std::size_t i = 0; i < n; ++i) {
        const std::string room = redis::text(names->element[i]);
        cmd_->append({"SISMEMBER", cluster::keys::kHidden, room});
        cmd_->append({"ZCARD", cluster::keys::members(room)});
        cmd_->append({"HMGET", cluster::keys::meta(room), "seq", "topic"});
      }
      for (std::size_t i = 0; i < n; ++i) {
        const redis::Reply hidden = cmd_->next_reply();
        const redis::Reply count = cmd_->next_reply();
        const redis::Reply seq = cmd_->next_reply();
        if (hidden->type == REDIS_REPLY_INTEGER && hidden->integer == 1) continue;  // private on some node
        v1::RoomInfo info;
        info.set_name(redis::text(names->element[i]));
        if (count->type == REDIS_REPLY_INTEGER) info.set_member_count(static_cast<std::uint32_t>(count->integer));
        if (seq->type == REDIS_REPLY_ARRAY && seq->elements == 2) {
          const std::string last = redis::text(seq->element[0]);
          std::uint64_t last_seq = 0;
          std::from_chars(last.data(), last.data() + last.size(), last_seq);
          info.set_last_seq(last_seq);
          if (seq->element[1]->type == REDIS_REPLY_STRING) info.set_topic(redis::text(seq->element[1]));
        }
        out.rooms.push_back(std::move(info));
      }
    } catch (const redis::Error& e) {
      out.rooms.clear();
      drop(e.what());
    }
  }
  if (l.reply_to < reactors_.size()) reactors_[l.reply_to]->send(std::move(out));
}

void ClusterLink::beat(cluster::Beat beat) {
  next_beat_ = Clock::now() + std::chrono::seconds(cluster::kBeatSeconds);
  try {
    const redis::Reply reply = cmd_->command(cluster::alive_command(options_.node, beat));
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
      spdlog::info("cluster: forgot the members of {} nodes that stopped beating", reply->integer);
    } else if (redis::is_error(reply.get())) {
      counters_.script_errors.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("cluster: chat_alive failed: {}", redis::text(reply.get()));
    }
  } catch (const redis::Error& e) {
    drop(e.what());
  }
}

void ClusterLink::forget_unwatched() {
  try {
    const redis::Reply held = cmd_->command(cluster::node_members_command(options_.node));
    if (held->type != REDIS_REPLY_ARRAY) return;
    std::vector<link_mail::Member> stale;
    for (std::size_t i = 0; i < held->elements; ++i) {
      auto entry = cluster::parse_node_member(redis::text(held->element[i]));
      if (!entry || watched_.contains(entry->first)) continue;
      stale.push_back(link_mail::Member{
          entry->first,
          cluster::MemberChange{v1::Presence::KIND_QUIT, v1::Presence::REASON_UNSPECIFIED, entry->second.nick, {},
                                entry->second.id}});
    }
    if (!stale.empty()) handle(stale);
  } catch (const redis::Error& e) {
    drop(e.what());
  }
}

}  // namespace chat::server
