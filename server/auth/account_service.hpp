#pragma once
// The account service: logins with a password, registrations, password
// changes and drops (issue 13). An actor on a thread of its own, as the
// store is: reactors mail it through its inbox and it answers each session's
// reactor by mail, so no reactor ever waits on a password hash or on the
// accounts table.
//
//   reactor ──Authenticate/AccountRequest──▶ inbox ──▶ throttle, look up ──▶ hasher
//   hasher ──Verified/Hashed──▶ inbox ──▶ store the change ──▶ Authenticated/AccountChanged ──▶ reactor
//                                                         └──▶ Registration ──▶ nick owner
//
// Its own thread does the quick steps (the throttle, a row read or written);
// the argon2id work runs on the PasswordHasher's thread behind a bounded
// queue. So a throttled guess is refused in microseconds even while the
// hasher is busy, and a flood of guesses from many addresses fills the
// hasher's queue and is refused LOGIN_BUSY instead of queueing in front of
// everyone.
//
// It also keeps every account's skeleton (common::nick_skeleton), so a
// registration that looks like an account's is refused (ACCOUNT_EXISTS);
// the nick owners keep their share of the same set to refuse guests.
//
// And it keeps the direct messages sent to an account while no session of
// it is online (msg::StoreDirect, up to max_stored_directs each), acking
// each sender `stored`, and hands them to the account's next login
// (msg::FetchDirects -> msg::StoredDirects), taking them out of the store.
// Thread safety: constructed, started and stopped by the server's
// controlling thread (stop() after the reactors have stopped); inbox() takes
// mail from any thread through a Producer per thread; the rest runs on the
// service's thread.

#include <atomic>
#include <chrono>
#include <optional>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/mailbox.hpp"
#include "server/auth/account_store.hpp"
#include "server/auth/login_throttle.hpp"
#include "server/auth/password_hasher.hpp"
#include "server/chat/messages.hpp"
#include "server/ops/metrics.hpp"

namespace chat::server {

namespace account_mail {
// hasher -> service: the answer to job `job`.
struct Verified {
  std::uint64_t job = 0;
  bool ok = false;
  bool rehash = false;
};
struct Hashed {
  std::uint64_t job = 0;
  std::string hash;  // empty: hashing failed
};
struct Stop {};
}  // namespace account_mail

class AccountService {
 public:
  using Mail = common::Mailbox<std::variant<msg::Authenticate, msg::AccountRequest, msg::StoreDirect,
                                            msg::FetchDirects, msg::StoredDirects, account_mail::Verified,
                                            account_mail::Hashed, account_mail::Stop>>;
  struct Options {
    HashCost cost;
    std::size_t max_queued_hashes = 64;
    std::uint32_t attempts_per_min = 3;
    std::size_t max_stored_directs = 100;
  };

  AccountService(Options options, std::unique_ptr<AccountStore> store);
  ~AccountService();
  AccountService(const AccountService&) = delete;
  AccountService& operator=(const AccountService&) = delete;

  // Before start(): every registered name, for the nick owners.
  const std::vector<std::string>& names() const { return names_; }
  // One inbox per reactor, as Store::start takes them.
  void start(const std::vector<common::Mailbox<Message>*>& reactors);
  // Answers what it accepted (the hasher finishes its queue), then joins.
  void stop();
  Mail& inbox() { return mail_; }

  // Any thread: adds the service's counters to /metrics.
  struct Counters {
    std::atomic<std::uint64_t> logins_ok{0};
    std::atomic<std::uint64_t> logins_failed{0};
    std::atomic<std::uint64_t> throttled{0};
    std::atomic<std::uint64_t> busy{0};
    std::atomic<std::uint64_t> registered{0};
    std::atomic<std::uint64_t> directs_stored{0};
  };
  void add_metrics(MetricsSnapshot& out) const;

 private:
  // A request waiting for the hasher; `then` says what its answer leads to.
  struct Pending {
    enum class Step : std::uint8_t { kLogin, kRegister, kCheckOld, kStoreNew, kDrop };
    Step step = Step::kLogin;
    std::variant<msg::Authenticate, msg::AccountRequest> request;
    AccountRecord account;
  };
  using Step = Pending::Step;
  using Clock = LoginThrottle::Clock;

  void run();
  void handle(msg::Authenticate&& a);
  void handle(msg::AccountRequest&& r);
  void handle(msg::StoreDirect&& d);
  void handle(msg::FetchDirects&& f);
  void handle(msg::StoredDirects&& back);
  void handle(account_mail::Verified&& v);
  void handle(account_mail::Hashed&& h);
  // Queues a hash job for `pending`; false (and the caller answers
  // LOGIN_BUSY) when the hasher is full.
  bool verify(Pending&& pending, const std::string& hash, std::string password);
  bool hash(Pending&& pending, std::string password);
  bool submit(Pending&& pending, PasswordHasher::Job&& work);
  std::optional<AccountRecord> find(const std::string& key, bool& failed);

  void answer(const msg::Authenticate& a, v1::Error::Code code, std::string reason, std::uint32_t retry_after_ms = 0);
  void answer(const msg::AccountRequest& r, v1::Error::Code code, std::string reason,
              std::uint32_t retry_after_ms = 0);
  void send(std::uint32_t reactor, Message&& m);
  void tell_nick_owner(const std::string& account, bool registered, SessionId session);

  const Options options_;
  std::unique_ptr<AccountStore> store_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::string> skeletons_;  // nick_skeleton(name) -> name
  LoginThrottle throttle_;
  PasswordHasher hasher_;
  Mail mail_;
  std::unique_ptr<PasswordHasher::Mail::Producer> to_hasher_;  // the service's thread
  std::unique_ptr<Mail::Producer> from_hasher_;                // the hasher's thread
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::uint64_t next_job_ = 1;
  std::vector<std::unique_ptr<common::Mailbox<Message>::Producer>> reactors_;
  std::thread thread_;
  Counters counters_;
};

}  // namespace chat::server
