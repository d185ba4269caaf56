#pragma once
// The authentication step on hello. A session hands its hello here and goes
// on with other work; the answer comes back to the session's reactor as a
// msg::Authenticated, never inside the call. So a check that blocks (an
// argon2id hash, a lookup in a store) can run as an actor on its own thread
// without the session changing.
// Thread safety: authenticate() is called on the session's reactor thread.

#include "server/chat/messages.hpp"

namespace chat::server {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual void authenticate(msg::Authenticate&& request) = 0;
};

}  // namespace chat::server
