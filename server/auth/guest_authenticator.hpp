#pragma once
// Today's only authenticator: everyone is a guest, known by the nick it asks
// for; whether the nick is free is the nick owner's question, asked next.
// Thread safety: reactor-confined, like the router it answers through.

#include "server/auth/authenticator.hpp"
#include "server/chat/router.hpp"

namespace chat::server {

class GuestAuthenticator final : public Authenticator {
 public:
  explicit GuestAuthenticator(Router& router) : router_(router) {}

  void authenticate(msg::Authenticate&& request) override {
    router_.send(reactor_of(request.session),
                 msg::Authenticated{std::move(request.nick), request.session, request.request_id, true,
                                    v1::Error::CODE_UNSPECIFIED, {}});
  }

 private:
  Router& router_;
};

}  // namespace chat::server
