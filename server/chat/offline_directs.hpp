#pragma once
// Where a nick owner sends a direct message for an account that has no
// session online, and where it asks, when the account logs in again, for
// what was kept (issue 13; the messages are in messages.hpp). The account
// service is behind it, through the reactor's Authenticator; a nick shard
// without one (unit tests) refuses such a DM as NO_SUCH_NICK.
// Thread safety: reactor-confined (the nick owner's thread).

#include "server/chat/messages.hpp"

namespace chat::server {

class OfflineDirects {
 public:
  virtual ~OfflineDirects() = default;
  // Keep `m.direct` for `m.account`; the sender is answered by the keeper.
  virtual void store(msg::StoreDirect&& m) = 0;
  // `m.session` logged in to `m.account`: hand it what was kept.
  virtual void fetch(msg::FetchDirects&& m) = 0;
};

}  // namespace chat::server
