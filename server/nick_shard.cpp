#include "server/nick_shard.hpp"

#include "common/names.hpp"
#include "server/frames.hpp"

namespace chat::server {

void NickShard::on(msg::ClaimNick&& m) {
  auto [it, ok] = nicks_.try_emplace(common::fold_case(m.nick), Holder{m.session, m.nick});
  if (!ok && it->second.session == m.session) {
    it->second.nick = m.nick;  // its holder renaming it to another case
    ok = true;
  }
  router_.send(reactor_of(m.session), msg::NickClaimed{std::move(m.nick), m.session, ok, m.request_id});
}

void NickShard::on(msg::ReleaseNick&& m) {
  auto it = nicks_.find(common::fold_case(m.nick));
  // Only the holder may release: a stale release must not free a nick that
  // someone else has claimed since.
  if (it != nicks_.end() && it->second.session == m.session) nicks_.erase(it);
}

void NickShard::on(msg::RouteDirect&& m) {
  auto it = nicks_.find(common::fold_case(m.to));
  if (it == nicks_.end()) {
    router_.error_to_session(m.session, v1::Error::CODE_NO_SUCH_NICK,
                             "no such nick: " + m.to, m.request_id);
    return;
  }
  v1::ServerFrame frame;
  auto* direct = frame.mutable_direct();
  direct->set_sender(std::move(m.from_nick));
  direct->set_text(std::move(m.text));
  direct->set_timestamp_ms(now_ms());
  const Holder& holder = it->second;
  router_.send(reactor_of(holder.session),
               msg::DeliverDirect{holder.session, holder.nick, common::make_shared_frame(frame),
                                  m.session, m.request_id});
}

}  // namespace chat::server
