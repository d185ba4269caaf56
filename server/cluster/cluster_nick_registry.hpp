#pragma once
// Cluster mode's NickRegistry (issue 11): nicks are unique across the
// nodes. The nick's owner on this node keeps its holders as on one node
// (a LocalNickRegistry: an account's sessions, regains, respellings), and
// a nick new to this node is first leased in Redis for the node
// (cluster_link.hpp: SET-if-free with an expiry, refreshed while held). A
// nick another node holds is NICK_TAKEN; the lease is given up when the
// last session here lets the nick go; a node that dies loses its leases
// when they run out (ClusterLink::kLeaseSeconds).
// Thread safety: reactor-confined (the nick owner's thread).

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "server/chat/nick_registry.hpp"
#include "server/cluster/cluster_link.hpp"

namespace chat::server {

class ClusterNickRegistry final : public NickRegistry {
 public:
  // `reactor`: this registry's reactor, where the link's answers come.
  ClusterNickRegistry(ClusterLinkPort& link, std::uint32_t reactor) : link_(link), reactor_(reactor) {}

  void claim(const NickClaim& claim, std::function<void(ClaimResult)> done) override;
  void release(const std::string& nick, SessionId session) override;
  void resolve(const std::string& nick, std::function<void(const NickHolder*)> done) override {
    local_.resolve(nick, std::move(done));  // DMs reach this node's sessions only, for now
  }
  void set_account(const std::string& nick, const std::string& account, SessionId session) override {
    local_.set_account(nick, account, session);
  }
  // The link's answer to a lease.
  void on(const msg::NickLeased& m);

 private:
  struct Waiting {
    std::string nick;
    SessionId session = 0;
    std::string account;
    bool regain = false;
    std::size_t max_sessions = 1;
    std::function<void(ClaimResult)> done;
  };

  ClusterLinkPort& link_;
  const std::uint32_t reactor_;
  LocalNickRegistry local_;
  std::unordered_map<std::uint64_t, Waiting> waiting_;  // by lease
  std::uint64_t next_lease_ = 1;
};

}  // namespace chat::server
