#pragma once
// The nick seam behind the nick shard: who holds which nick. Answers come
// through a callback, which a local registry calls at once and a shared one
// (a lease in Redis, in cluster mode) may call later.
//
// A guest's nick has one session. An account's nick (issue 13) may have
// several, all logged in to the account: each gets its DMs, the first the
// one whose ack the sender receives.
// Thread safety: reactor-confined (the nick owner's thread).

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/chat/messages.hpp"

namespace chat::server {

struct NickHolder {
  std::string nick;     // as the holder spelled it
  std::string account;  // fold_case of the account's name; empty: a guest
  std::vector<SessionId> sessions;
  SessionId session() const { return sessions.front(); }
};

struct NickClaim {
  const std::string& nick;
  SessionId session = 0;
  std::string account;    // fold_case(name), or empty for a guest
  bool regain = false;    // an account's: replace its other sessions
  std::size_t max_sessions = 1;
};
struct ClaimResult {
  v1::Error::Code code = v1::Error::CODE_UNSPECIFIED;  // NICK_TAKEN, TOO_MANY_SESSIONS; unspecified: ok
  std::vector<SessionId> replaced;  // sessions that lost the nick to this claim (regain)
  bool ok() const { return code == v1::Error::CODE_UNSPECIFIED; }
};

class NickRegistry {
 public:
  virtual ~NickRegistry() = default;
  // Claims `claim.nick` (unique ignoring case). Its holder may claim it again
  // in another case, which respells it. An account's claim joins the
  // account's other sessions (up to max_sessions), replaces them with
  // `regain`, and always replaces a guest that holds the account's nick.
  virtual void claim(const NickClaim& claim, std::function<void(ClaimResult)> done) = 0;
  // Frees `session`'s hold on `nick`: a stale release must not free a nick
  // that someone else has claimed since.
  virtual void release(const std::string& nick, SessionId session) = 0;
  // The holder of `nick`, or null.
  virtual void resolve(const std::string& nick, std::function<void(const NickHolder*)> done) = 0;
  // `nick`, held by `session`, was registered as the account `account`
  // (folded; empty: its account was dropped, and its sessions are guests').
  virtual void set_account(const std::string& nick, const std::string& account, SessionId session) = 0;
};

class LocalNickRegistry final : public NickRegistry {
 public:
  void claim(const NickClaim& claim, std::function<void(ClaimResult)> done) override;
  void release(const std::string& nick, SessionId session) override;
  void resolve(const std::string& nick, std::function<void(const NickHolder*)> done) override;
  void set_account(const std::string& nick, const std::string& account, SessionId session) override;
  std::size_t size() const { return nicks_.size(); }
  // Whether a session holds fold_case(nick) == `folded`.
  bool holds(const std::string& folded) const { return nicks_.contains(folded); }

 private:
  std::unordered_map<std::string, NickHolder> nicks_;  // folded nick -> holder
};

}  // namespace chat::server
