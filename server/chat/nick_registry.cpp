#include "server/chat/nick_registry.hpp"

#include <algorithm>

#include "common/names.hpp"

namespace chat::server {

void LocalNickRegistry::claim(const NickClaim& claim, std::function<void(ClaimResult)> done) {
  auto [it, fresh] = nicks_.try_emplace(common::fold_case(claim.nick), NickHolder{claim.nick, claim.account, {claim.session}});
  ClaimResult result;
  NickHolder& holder = it->second;
  auto& sessions = holder.sessions;
  if (fresh) {
  } else if (std::find(sessions.begin(), sessions.end(), claim.session) != sessions.end()) {
    holder.nick = claim.nick;  // its holder renaming it to another case
  } else if (!claim.account.empty() && (holder.account.empty() || holder.account == claim.account)) {
    // A guest on the account's nick (it registered while the guest logged
    // in) is replaced like the account's own sessions on a regain.
    if (claim.regain || holder.account.empty()) {
      result.replaced = std::move(sessions);
      holder = NickHolder{claim.nick, claim.account, {claim.session}};
    } else if (sessions.size() >= claim.max_sessions) {
      result.code = v1::Error::CODE_TOO_MANY_SESSIONS;
    } else {
      sessions.push_back(claim.session);
    }
  } else {
    result.code = v1::Error::CODE_NICK_TAKEN;
  }
  done(std::move(result));
}

void LocalNickRegistry::release(const std::string& nick, SessionId session) {
  auto it = nicks_.find(common::fold_case(nick));
  if (it == nicks_.end()) return;
  auto& sessions = it->second.sessions;
  sessions.erase(std::remove(sessions.begin(), sessions.end(), session), sessions.end());
  if (sessions.empty()) nicks_.erase(it);
}

void LocalNickRegistry::resolve(const std::string& nick, std::function<void(const NickHolder*)> done) {
  auto it = nicks_.find(common::fold_case(nick));
  done(it == nicks_.end() ? nullptr : &it->second);
}

void LocalNickRegistry::set_account(const std::string& nick, const std::string& account, SessionId session) {
  auto it = nicks_.find(common::fold_case(nick));
  if (it == nicks_.end()) return;
  auto& sessions = it->second.sessions;
  if (account.empty() || std::find(sessions.begin(), sessions.end(), session) != sessions.end()) {
    it->second.account = account;
  }
}

}  // namespace chat::server
