#pragma once
// The nicknames owned by one reactor: those with stable_hash(folded nick) % N
// == index. Maps each to the session holding it, and routes direct messages.
// Thread safety: reactor-confined (its owner reactor's thread only).

#include <string>
#include <unordered_map>

#include "server/messages.hpp"

namespace chat::server {

class NickShard {
 public:
  explicit NickShard(Router& router) : router_(router) {}

  void on(msg::ClaimNick&& m);
  void on(msg::ReleaseNick&& m);
  void on(msg::RouteDirect&& m);

  std::size_t nick_count() const { return nicks_.size(); }

 private:
  struct Holder {
    SessionId session = 0;
    std::string nick;  // as the holder spelled it
  };
  Router& router_;
  std::unordered_map<std::string, Holder> nicks_;  // folded nick -> holder
};

}  // namespace chat::server
