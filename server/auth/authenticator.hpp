#pragma once
// The authentication step on hello, and the account requests. A session
// hands its hello here and goes on with other work; the answer comes back
// to the session's reactor as a msg::Authenticated, never inside the call.
// So the checks that block (an argon2id hash, a lookup in the accounts
// table) run in the account service, an actor on its own thread, while the
// session waits without its reactor waiting.
//
// A hello without a password is a guest's, answered at once: whether its
// nick is free, and not an account's, is the nick owner's question, asked
// next. A hello with one, and every account request, goes to the account
// service's inbox.
//
// It is also the nick owners' way to the service for an offline account's
// direct messages (OfflineDirects), and the hub's for stored DMs a session
// that has gone could not take (restore).
// Thread safety: reactor-confined (the session's reactor thread).

#include <memory>

#include "server/auth/account_service.hpp"
#include "server/chat/frames.hpp"
#include "server/chat/offline_directs.hpp"
#include "server/chat/router.hpp"

namespace chat::server {

class Authenticator final : public OfflineDirects {
 public:
  // `accounts`: null where there is no account service (unit tests): every
  // password is then refused.
  Authenticator(Router& router, AccountService* accounts)
      : router_(router),
        accounts_(accounts != nullptr ? std::make_unique<AccountService::Mail::Producer>(accounts->inbox())
                                      : nullptr) {}

  void authenticate(msg::Authenticate&& request) {
    if (!request.password.empty() && accounts_ != nullptr) return accounts_->send(std::move(request));
    msg::Authenticated answer{std::move(request.nick), request.session, request.request_id, true,
                              v1::Error::CODE_UNSPECIFIED, {}};
    if (!request.password.empty()) {
      answer.ok = false;
      answer.code = v1::Error::CODE_BAD_LOGIN;
      answer.reason = "this server has no accounts";
    }
    router_.send(reactor_of(request.session), std::move(answer));
  }

  void request(msg::AccountRequest&& request) {
    if (accounts_ != nullptr) return accounts_->send(std::move(request));
    router_.send(reactor_of(request.session),
                 msg::AccountChanged{request.kind, std::move(request.account), request.session, request.request_id,
                                     false, v1::Error::CODE_NOT_REGISTERED, "this server has no accounts"});
  }

  void store(msg::StoreDirect&& m) override {
    if (accounts_ != nullptr) return accounts_->send(std::move(m));
    router_.error_to_session(m.sender, v1::Error::CODE_NO_SUCH_NICK, "no such nick: " + m.account, m.request_id);
  }
  void fetch(msg::FetchDirects&& m) override {
    if (accounts_ != nullptr) return accounts_->send(std::move(m));
    router_.send(reactor_of(m.session), msg::StoredDirects{std::move(m.account), m.session, {}});
  }
  // Stored DMs whose session had gone when they came: kept again.
  void restore(msg::StoredDirects&& m) {
    if (accounts_ != nullptr && !m.directs.empty()) accounts_->send(std::move(m));
  }

 private:
  Router& router_;
  std::unique_ptr<AccountService::Mail::Producer> accounts_;
};

}  // namespace chat::server
