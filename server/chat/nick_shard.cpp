#include "server/chat/nick_shard.hpp"

#include "common/names.hpp"

namespace chat::server {

void NickShard::add_account(const std::string& name) { accounts_.emplace(common::nick_skeleton(name), name); }

const std::string* NickShard::account_named(const std::string& nick) const {
  auto it = accounts_.find(common::nick_skeleton(nick));
  if (it == accounts_.end() || common::fold_case(it->second) != common::fold_case(nick)) return nullptr;
  return &it->second;
}

void NickShard::on(msg::ClaimNick&& m) {
  router_.assert_owner();
  const std::string account = common::fold_case(m.account);
  if (auto it = accounts_.find(common::nick_skeleton(m.nick));
      it != accounts_.end() && common::fold_case(it->second) != account) {
    msg::NickClaimed refused{std::move(m.nick), m.session, false, m.request_id, v1::Error::CODE_NICK_REGISTERED};
    refused.registered_as = it->second;
    router_.send(reactor_of(m.session), std::move(refused));
    return;
  }
  // Copies: the callback takes `m`, and may run later.
  const std::string nick = m.nick;
  const NickClaim claim{nick, m.session, account, m.regain, account.empty() ? 1 : max_sessions_};
  registry_.claim(claim, [this, m = std::move(m)](const ClaimResult& result) mutable {
    for (SessionId replaced : result.replaced) router_.send(reactor_of(replaced), msg::Regained{replaced});
    // A login to an account: what was kept for it while it was offline.
    // Asked from here, after any StoreDirect this shard sent, so the fetch
    // finds them all; a DM routed from now on goes to the session.
    if (result.ok() && !m.account.empty() && offline_ != nullptr) {
      offline_->fetch(msg::FetchDirects{m.account, m.session});
    }
    router_.send(reactor_of(m.session),
                 msg::NickClaimed{std::move(m.nick), m.session, result.ok(), m.request_id, result.code});
  });
}

void NickShard::on(msg::ReleaseNick&& m) {
  router_.assert_owner();
  registry_.release(m.nick, m.session);
}

void NickShard::on(msg::Registration&& m) {
  router_.assert_owner();
  if (m.registered) {
    add_account(m.account);
    registry_.set_account(m.account, common::fold_case(m.account), m.session);
  } else {
    accounts_.erase(common::nick_skeleton(m.account));
    registry_.set_account(m.account, {}, m.session);
  }
}

void NickShard::on(msg::RouteDirect&& m) {
  router_.assert_owner();
  const std::string to = m.to;  // a copy: the callback takes `m`
  registry_.resolve(to, [this, m = std::move(m)](const NickHolder* holder) mutable {
    if (holder == nullptr) return route_elsewhere(std::move(m));
    v1::ServerFrame frame;
    auto* direct = frame.mutable_direct();
    direct->set_sender(std::move(m.from_nick));
    direct->set_text(std::move(m.text));
    direct->set_timestamp_ms(now_ms());
    const SharedFrame shared = common::make_shared_frame(frame);
    // Every session of an account gets it; the sender hears from the first.
    bool first = true;
    for (SessionId target : holder->sessions) {
      router_.send(reactor_of(target), msg::DeliverDirect{target, holder->nick, shared, first ? m.session : 0,
                                                          m.request_id, first ? m.origin : std::string()});
      first = false;
    }
  });
}

void NickShard::route_elsewhere(msg::RouteDirect&& m) {
  const std::string no_such = "no such nick: " + m.to;
  if (!m.origin.empty()) {
    // Its node found the nick's lease on this one, but the nick has gone.
    if (remote_ != nullptr) remote_->answer(m.origin, error_message(v1::Error::CODE_NO_SUCH_NICK, no_such));
    return;
  }
  if (const std::string* account = account_named(m.to); account != nullptr && offline_ != nullptr) {
    offline_->store(msg::StoreDirect{*account, msg::StoredDirect{0, std::move(m.from_nick), std::move(m.text), now_ms()},
                                     m.session, m.request_id});
    return;
  }
  if (remote_ != nullptr) return remote_->send(std::move(m));
  router_.error_to_session(m.session, v1::Error::CODE_NO_SUCH_NICK, no_such, m.request_id);
}

void NickShard::on(msg::NotifyNick&& m) {
  router_.assert_owner();
  const std::string nick = m.nick;
  registry_.resolve(nick, [this, frame = std::move(m.frame)](const NickHolder* holder) {
    if (holder == nullptr) return;  // offline: an invite is kept by the room all the same
    for (SessionId target : holder->sessions) router_.to_session(target, frame);
  });
}

}  // namespace chat::server
