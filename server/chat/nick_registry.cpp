#include "server/chat/nick_registry.hpp"

#include "common/names.hpp"

namespace chat::server {

void LocalNickRegistry::claim(const std::string& nick, SessionId session, std::function<void(bool ok)> done) {
  auto [it, ok] = nicks_.try_emplace(common::fold_case(nick), NickHolder{session, nick});
  if (!ok && it->second.session == session) {
    it->second.nick = nick;  // its holder renaming it to another case
    ok = true;
  }
  done(ok);
}

void LocalNickRegistry::release(const std::string& nick, SessionId session) {
  auto it = nicks_.find(common::fold_case(nick));
  if (it != nicks_.end() && it->second.session == session) nicks_.erase(it);
}

void LocalNickRegistry::resolve(const std::string& nick, std::function<void(const NickHolder*)> done) {
  auto it = nicks_.find(common::fold_case(nick));
  done(it == nicks_.end() ? nullptr : &it->second);
}

}  // namespace chat::server
