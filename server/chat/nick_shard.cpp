#include "server/chat/nick_shard.hpp"

namespace chat::server {

void NickShard::on(msg::ClaimNick&& m) {
  router_.assert_owner();
  // Copies: the callback takes `m`, and may run later.
  const std::string nick = m.nick;
  const SessionId session = m.session;
  registry_.claim(nick, session, [this, m = std::move(m)](bool ok) mutable {
    router_.send(reactor_of(m.session), msg::NickClaimed{std::move(m.nick), m.session, ok, m.request_id});
  });
}

void NickShard::on(msg::ReleaseNick&& m) {
  router_.assert_owner();
  registry_.release(m.nick, m.session);
}

void NickShard::on(msg::RouteDirect&& m) {
  router_.assert_owner();
  const std::string to = m.to;  // a copy: the callback takes `m`
  registry_.resolve(to, [this, m = std::move(m)](const NickHolder* holder) mutable {
    if (holder == nullptr) {
      router_.error_to_session(m.session, v1::Error::CODE_NO_SUCH_NICK, "no such nick: " + m.to, m.request_id);
      return;
    }
    v1::ServerFrame frame;
    auto* direct = frame.mutable_direct();
    direct->set_sender(std::move(m.from_nick));
    direct->set_text(std::move(m.text));
    direct->set_timestamp_ms(now_ms());
    router_.send(reactor_of(holder->session), msg::DeliverDirect{holder->session, holder->nick,
                                                                 common::make_shared_frame(frame), m.session,
                                                                 m.request_id});
  });
}

}  // namespace chat::server
