#pragma once
// The nick seam behind the nick shard: who holds which nick. Answers come
// through a callback, which a local registry calls at once and a shared one
// (a lease in Redis, in cluster mode) may call later.
// Thread safety: reactor-confined (the nick owner's thread).

#include <functional>
#include <string>
#include <unordered_map>

#include "server/chat/messages.hpp"

namespace chat::server {

struct NickHolder {
  SessionId session = 0;
  std::string nick;  // as the holder spelled it
};

class NickRegistry {
 public:
  virtual ~NickRegistry() = default;
  // Claims `nick` (unique ignoring case) for `session`. Its holder may claim
  // it again in another case, which respells it.
  virtual void claim(const std::string& nick, SessionId session, std::function<void(bool ok)> done) = 0;
  // Frees `nick` if `session` holds it: a stale release must not free a
  // nick that someone else has claimed since.
  virtual void release(const std::string& nick, SessionId session) = 0;
  // The holder of `nick`, or null.
  virtual void resolve(const std::string& nick, std::function<void(const NickHolder*)> done) = 0;
};

class LocalNickRegistry final : public NickRegistry {
 public:
  void claim(const std::string& nick, SessionId session, std::function<void(bool ok)> done) override;
  void release(const std::string& nick, SessionId session) override;
  void resolve(const std::string& nick, std::function<void(const NickHolder*)> done) override;
  std::size_t size() const { return nicks_.size(); }

 private:
  std::unordered_map<std::string, NickHolder> nicks_;  // folded nick -> holder
};

}  // namespace chat::server
