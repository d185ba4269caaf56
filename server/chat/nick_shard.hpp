#pragma once
// The nicknames owned by one reactor: those whose nick_skeleton hashes to
// it (Router::nick_owner), so a nick and its look-alikes meet here. Answers
// claims and releases from its NickRegistry, refuses a guest the nick of an
// account or one that looks like it, and routes direct messages to the
// reactors of the sessions holding the target nick, or, for an account with
// no session online, to its OfflineDirects, or, in cluster mode, for a nick
// no session here holds, to its node through RemoteDirects.
// Thread safety: reactor-confined (its owner reactor's thread only).

#include <string>
#include <unordered_map>

#include "server/chat/nick_registry.hpp"
#include "server/chat/offline_directs.hpp"
#include "server/chat/remote_directs.hpp"
#include "server/chat/router.hpp"

namespace chat::server {

class NickShard {
 public:
  // `max_sessions`: how many sessions of one account may hold its nick.
  // `offline`: where an offline account's DMs are kept; null: nowhere.
  // `remote`: the other nodes of a cluster; null: a single node.
  NickShard(Router& router, NickRegistry& registry, std::size_t max_sessions = 5, OfflineDirects* offline = nullptr,
            RemoteDirects* remote = nullptr)
      : router_(router), registry_(registry), max_sessions_(max_sessions), offline_(offline), remote_(remote) {}

  // Before the reactors start: an account registered in an earlier run.
  void add_account(const std::string& name);

  void on(msg::ClaimNick&& m);
  void on(msg::ReleaseNick&& m);
  void on(msg::RouteDirect&& m);
  void on(msg::Registration&& m);
  void on(msg::NotifyNick&& m);

 private:
  // The account named `nick` (any case), if this shard knows one; null if
  // none, or only a look-alike.
  const std::string* account_named(const std::string& nick) const;
  // No session here holds `m.to`.
  void route_elsewhere(msg::RouteDirect&& m);

  Router& router_;
  NickRegistry& registry_;
  const std::size_t max_sessions_;
  OfflineDirects* offline_;
  RemoteDirects* remote_;
  // nick_skeleton(name) -> the account's name, for the accounts whose
  // skeleton this reactor owns.
  std::unordered_map<std::string, std::string> accounts_;
};

}  // namespace chat::server
