#pragma once
// The nicknames owned by one reactor: those with stable_hash(folded nick) % N
// == index. Answers claims and releases from its NickRegistry, and routes
// direct messages to the reactor of the session holding the target nick.
// Thread safety: reactor-confined (its owner reactor's thread only).

#include "server/chat/nick_registry.hpp"
#include "server/chat/router.hpp"

namespace chat::server {

class NickShard {
 public:
  NickShard(Router& router, NickRegistry& registry) : router_(router), registry_(registry) {}

  void on(msg::ClaimNick&& m);
  void on(msg::ReleaseNick&& m);
  void on(msg::RouteDirect&& m);

 private:
  Router& router_;
  NickRegistry& registry_;
};

}  // namespace chat::server
