// The cluster link's nick leases (issue 11): ClusterNickRegistry asks for
// a nick new to this node (chat_lease), gives one up when its last session
// here lets go (chat_unlease), and the link refreshes every lease it holds
// a third of the way through its life (chat_refresh).
#include <spdlog/spdlog.h>

#include "server/cluster/cluster_link.hpp"

namespace chat::server {

void ClusterLink::handle(const link_mail::Lease& l) {
  bool ok = false;
  if (connected()) {
    try {
      const auto started = Clock::now();
      const redis::Reply reply = cmd_->command(cluster::lease_command(l.folded, options_.node, kLeaseSeconds));
      timed(started);
      ok = reply->type == REDIS_REPLY_STRING && reply->len == 0;
      if (ok) leased_.insert(l.folded);
    } catch (const redis::Error& e) {
      drop(e.what());
    }
  }
  if (l.reactor < reactors_.size()) reactors_[l.reactor]->send(msg::NickLeased{l.lease, ok});
}

void ClusterLink::handle(const link_mail::Unlease& u) {
  leased_.erase(u.folded);
  if (!connected()) return;  // it runs out by itself
  try {
    cmd_->command(cluster::unlease_command(u.folded, options_.node));
  } catch (const redis::Error& e) {
    drop(e.what());
  }
}

void ClusterLink::refresh_leases() {
  next_refresh_ = Clock::now() + std::chrono::seconds(kLeaseSeconds / 3);
  if (leased_.empty()) return;
  try {
    const std::vector<std::string> folded(leased_.begin(), leased_.end());
    const redis::Reply lost = cmd_->command(cluster::refresh_command(folded, options_.node, kLeaseSeconds));
    if (lost->type == REDIS_REPLY_ARRAY && lost->elements > 0) {
      // Another node took them while this one could not refresh (Redis
      // was away past a lease): both hold them now. Said, not yet settled.
      spdlog::warn("cluster: {} nicks held here are now held by another node too", lost->elements);
    }
  } catch (const redis::Error& e) {
    drop(e.what());
  }
}

}  // namespace chat::server
