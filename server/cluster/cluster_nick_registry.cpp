#include "server/cluster/cluster_nick_registry.hpp"

#include "common/names.hpp"

namespace chat::server {

void ClusterNickRegistry::claim(const NickClaim& claim, std::function<void(ClaimResult)> done) {
  const std::string folded = common::fold_case(claim.nick);
  if (local_.holds(folded)) return local_.claim(claim, std::move(done));  // leased already
  const std::uint64_t lease = next_lease_++;
  waiting_.emplace(lease, Waiting{claim.nick, claim.session, claim.account, claim.regain, claim.max_sessions,
                                  std::move(done)});
  link_.lease(folded, lease, reactor_);
}

void ClusterNickRegistry::on(const msg::NickLeased& m) {
  auto node = waiting_.extract(m.lease);
  if (node.empty()) return;
  Waiting& w = node.mapped();
  if (!m.ok) {
    // Taken on another node (or Redis could not say): this node does not
    // hold it, unless a claim here took it meanwhile.
    ClaimResult taken;
    taken.code = v1::Error::CODE_NICK_TAKEN;
    return w.done(std::move(taken));
  }
  const NickClaim claim{w.nick, w.session, w.account, w.regain, w.max_sessions};
  local_.claim(claim, [&](ClaimResult result) {
    // Refused here (another session took it while the lease was asked): the
    // lease stays, held for that session.
    w.done(std::move(result));
  });
}

void ClusterNickRegistry::release(const std::string& nick, SessionId session) {
  const std::string folded = common::fold_case(nick);
  const bool held = local_.holds(folded);
  local_.release(nick, session);
  if (held && !local_.holds(folded)) link_.unlease(folded);
}

}  // namespace chat::server
