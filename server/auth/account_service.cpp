#include "server/auth/account_service.hpp"

#include <poll.h>
#include <sodium.h>

#include <spdlog/spdlog.h>

#include "common/names.hpp"
#include "common/overloaded.hpp"
#include "server/chat/router.hpp"

namespace chat::server {

using v1::Error;
using Kind = msg::AccountRequest::Kind;

namespace {
// A full hasher queue drains at a hash's pace: this is roughly when a
// place is free again.
constexpr std::uint32_t kBusyRetryMs = 1000;

std::int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace

AccountService::AccountService(Options options, std::unique_ptr<AccountStore> store)
    : options_(options),
      store_(std::move(store)),
      names_(store_->names()),
      throttle_(options.attempts_per_min),
      hasher_(options.cost, options.max_queued_hashes) {
  for (const std::string& name : names_) skeletons_.emplace(common::nick_skeleton(name), name);
}

AccountService::~AccountService() { stop(); }

void AccountService::start(const std::vector<common::Mailbox<Message>*>& reactors) {
  for (auto* inbox : reactors) reactors_.push_back(std::make_unique<common::Mailbox<Message>::Producer>(*inbox));
  to_hasher_ = std::make_unique<PasswordHasher::Mail::Producer>(hasher_.inbox());
  from_hasher_ = std::make_unique<Mail::Producer>(mail_);
  hasher_.start();
  thread_ = std::thread([this] { run(); });
}

void AccountService::stop() {
  if (!thread_.joinable()) return;
  Mail::Producer(mail_).send(account_mail::Stop{});
  thread_.join();
}

void AccountService::run() {
  bool stopping = false;
  auto one = [&](auto&& mail) {
    std::visit(common::Overloaded{[&](account_mail::Stop&) { stopping = true; },
                                  [&](auto& m) { handle(std::move(m)); }},
               mail);
  };
  while (!stopping) {
    if (mail_.drain(64, one) > 0) continue;
    if (!mail_.arm()) continue;
    pollfd wake{mail_.wake_fd(), POLLIN, 0};
    ::poll(&wake, 1, -1);
    mail_.clear_wake();
  }
  // Every job the hasher took is answered before it stops; those answers,
  // and any request behind the stop, are settled here.
  hasher_.stop();
  while (mail_.drain(1024, one) > 0) {
  }
}

// ------------------------------------------------------------------ logins

void AccountService::handle(msg::Authenticate&& a) {
  const std::string key = common::fold_case(a.nick);
  const auto now = Clock::now();
  if (const std::uint32_t wait = throttle_.wait_ms(key, a.address, now); wait > 0) {
    counters_.throttled.fetch_add(1, std::memory_order_relaxed);
    sodium_memzero(a.password.data(), a.password.size());
    return answer(a, Error::CODE_RATE_LIMITED, "too many login attempts for " + a.nick + " or from this address",
                  wait);
  }
  bool failed = false;
  auto account = find(key, failed);
  if (failed) return answer(a, Error::CODE_LOGIN_BUSY, "the accounts cannot be read now", kBusyRetryMs);
  if (!account) {
    throttle_.charge(key, a.address, now);
    counters_.logins_failed.fetch_add(1, std::memory_order_relaxed);
    return answer(a, Error::CODE_BAD_LOGIN, "no account named " + a.nick);
  }
  // Charged once the hasher has taken it (this thread takes one request at
  // a time, so a burst is counted exactly); given back if it succeeds.
  const std::string address = a.address;
  std::string password = std::move(a.password);
  const std::string hash = account->hash;
  if (verify(Pending{Step::kLogin, std::move(a), std::move(*account)}, hash, std::move(password))) {
    throttle_.charge(key, address, now);
  }
}

// ------------------------------------------------------ account management

void AccountService::handle(msg::AccountRequest&& r) {
  const std::string key = common::fold_case(r.account);
  const auto now = Clock::now();
  // A registration counts against its address only; a password check
  // against the account too.
  const std::string throttled_account = r.kind == Kind::kRegister ? std::string() : key;
  if (const std::uint32_t wait = throttle_.wait_ms(throttled_account, r.address, now); wait > 0) {
    counters_.throttled.fetch_add(1, std::memory_order_relaxed);
    return answer(r, Error::CODE_RATE_LIMITED, "too many attempts from this address or for this account", wait);
  }
  bool failed = false;
  auto account = find(key, failed);
  if (failed) return answer(r, Error::CODE_LOGIN_BUSY, "the accounts cannot be read now", kBusyRetryMs);
  if (r.kind == Kind::kRegister) {
    if (account) return answer(r, Error::CODE_ACCOUNT_EXISTS, r.account + " is registered already");
    auto alike = skeletons_.find(common::nick_skeleton(r.account));
    if (alike != skeletons_.end()) {
      return answer(r, Error::CODE_ACCOUNT_EXISTS, r.account + " looks like the account " + alike->second);
    }
    // Held while the hash is made, so two look-alikes cannot both register.
    const std::string skeleton = common::nick_skeleton(r.account);
    skeletons_.emplace(skeleton, r.account);
    const std::string address = r.address;
    std::string password = std::move(r.password);
    AccountRecord record{r.account, {}, wall_ms()};
    if (hash(Pending{Step::kRegister, std::move(r), std::move(record)}, std::move(password))) {
      throttle_.charge(std::string(), address, now);
    } else {
      skeletons_.erase(skeleton);
    }
    return;
  }
  if (!account) return answer(r, Error::CODE_NOT_REGISTERED, "there is no account named " + r.account + " now");
  const std::string address = r.address;
  std::string password = std::move(r.password);
  const std::string hash = account->hash;
  const Step step = r.kind == Kind::kDrop ? Step::kDrop : Step::kCheckOld;
  if (verify(Pending{step, std::move(r), std::move(*account)}, hash, std::move(password))) {
    throttle_.charge(key, address, now);
  }
}

// ------------------------------------------- direct messages kept offline

void AccountService::handle(msg::StoreDirect&& d) {
  auto refuse = [&](Error::Code code, const std::string& why, std::uint32_t retry_after_ms) {
    send(reactor_of(d.sender), msg::ToSession{d.sender, error_frame(code, why, d.request_id, retry_after_ms), code});
  };
  const std::string key = common::fold_case(d.account);
  bool failed = false;
  // Dropped since the nick owner looked: no account, no mailbox.
  if (!find(key, failed) && !failed) return refuse(Error::CODE_NO_SUCH_NICK, "no such nick: " + d.account, 0);
  std::size_t held = 0;
  try {
    if (!failed) held = store_->count_directs(key);
  } catch (const std::exception&) {
    failed = true;
  }
  if (!failed && held >= options_.max_stored_directs) {
    return refuse(Error::CODE_MAILBOX_FULL,
                  d.account + " is offline and has " + std::to_string(held) + " direct messages waiting already", 0);
  }
  if (failed || !store_->add_direct(key, d.direct)) {
    return refuse(Error::CODE_STORE_UNAVAILABLE, "the message cannot be stored now", kBusyRetryMs);
  }
  counters_.directs_stored.fetch_add(1, std::memory_order_relaxed);
  v1::ServerFrame ack;
  ack.set_request_id(d.request_id);
  auto* reply = ack.mutable_direct_ack();
  reply->set_nick(d.account);
  reply->set_timestamp_ms(d.direct.timestamp_ms);
  reply->set_stored(true);
  send(reactor_of(d.sender), msg::ToSession{d.sender, common::make_shared_frame(ack)});
}

void AccountService::handle(msg::FetchDirects&& f) {
  msg::StoredDirects out{std::move(f.account), f.session, {}};
  try {
    out.directs = store_->take_directs(common::fold_case(out.account));
  } catch (const std::exception&) {
    out.directs.clear();  // still stored: the next login has them
  }
  const std::uint32_t reactor = reactor_of(out.session);
  send(reactor, std::move(out));
}

void AccountService::handle(msg::StoredDirects&& back) {
  if (!store_->restore_directs(common::fold_case(back.account), back.directs)) {
    spdlog::error("accounts: {} stored direct messages for {} are lost", back.directs.size(), back.account);
  }
}

// ----------------------------------------------------------- the hasher

bool AccountService::verify(Pending&& pending, const std::string& hash, std::string password) {
  const std::uint64_t job = next_job_;
  return submit(std::move(pending), hasher_job::Verify{hash, std::move(password), [this, job](bool ok, bool rehash) {
                                                         from_hasher_->send(account_mail::Verified{job, ok, rehash});
                                                       }});
}

bool AccountService::hash(Pending&& pending, std::string password) {
  const std::uint64_t job = next_job_;
  return submit(std::move(pending), hasher_job::Hash{std::move(password), [this, job](std::string hash) {
                                                       from_hasher_->send(account_mail::Hashed{job, std::move(hash)});
                                                     }});
}

bool AccountService::submit(Pending&& pending, PasswordHasher::Job&& work) {
  if (!hasher_.submit(*to_hasher_, std::move(work))) {
    // Refused, so still ours: wipe the password it carries.
    std::visit(common::Overloaded{[](hasher_job::Hash& h) { sodium_memzero(h.password.data(), h.password.size()); },
                                  [](hasher_job::Verify& v) { sodium_memzero(v.password.data(), v.password.size()); },
                                  [](std::monostate&) {}},
               work);
    counters_.busy.fetch_add(1, std::memory_order_relaxed);
    std::visit([&](const auto& r) { answer(r, Error::CODE_LOGIN_BUSY, "too many logins at once: try again", kBusyRetryMs); },
               pending.request);
    return false;
  }
  pending_.emplace(next_job_++, std::move(pending));
  return true;
}

void AccountService::handle(account_mail::Verified&& v) {
  auto node = pending_.extract(v.job);
  if (node.empty()) return;
  Pending& p = node.mapped();
  const std::string key = common::fold_case(p.account.name);
  const std::string& address = std::visit([](const auto& r) -> const std::string& { return r.address; }, p.request);
  if (v.ok) throttle_.refund(key, address);
  if (p.step == Step::kLogin) {
    auto& a = std::get<msg::Authenticate>(p.request);
    if (!v.ok) {
      counters_.logins_failed.fetch_add(1, std::memory_order_relaxed);
      return answer(a, Error::CODE_BAD_LOGIN, "wrong password for " + p.account.name);
    }
    counters_.logins_ok.fetch_add(1, std::memory_order_relaxed);
    msg::Authenticated ok{p.account.name, a.session, a.request_id, true, Error::CODE_UNSPECIFIED, {}};
    ok.account = p.account.name;
    ok.regain = a.regain;
    return send(reactor_of(a.session), std::move(ok));
  }
  auto& r = std::get<msg::AccountRequest>(p.request);
  (v.ok ? counters_.logins_ok : counters_.logins_failed).fetch_add(1, std::memory_order_relaxed);
  if (!v.ok) return answer(r, Error::CODE_BAD_LOGIN, "wrong password for " + p.account.name);
  if (p.step == Step::kDrop) {
    if (!store_->erase(key)) return answer(r, Error::CODE_LOGIN_BUSY, "the account cannot be dropped now", kBusyRetryMs);
    skeletons_.erase(common::nick_skeleton(p.account.name));
    spdlog::info("account {} dropped", p.account.name);
    tell_nick_owner(p.account.name, false, r.session);
    return answer(r, Error::CODE_UNSPECIFIED, {});
  }
  // kCheckOld: the old password is right; hash the new one.
  std::string password = std::move(r.new_password);
  hash(Pending{Step::kStoreNew, std::move(r), std::move(p.account)}, std::move(password));
}

void AccountService::handle(account_mail::Hashed&& h) {
  auto node = pending_.extract(h.job);
  if (node.empty()) return;
  Pending& p = node.mapped();
  auto& r = std::get<msg::AccountRequest>(p.request);
  const std::string key = common::fold_case(p.account.name);
  if (p.step == Step::kRegister) {
    p.account.hash = std::move(h.hash);
    if (p.account.hash.empty() || !store_->insert(p.account)) {
      skeletons_.erase(common::nick_skeleton(p.account.name));
      return answer(r, Error::CODE_LOGIN_BUSY, "the account cannot be stored now", kBusyRetryMs);
    }
    counters_.registered.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("account {} registered", p.account.name);
    tell_nick_owner(p.account.name, true, r.session);
    return answer(r, Error::CODE_UNSPECIFIED, {});
  }
  // kStoreNew
  if (h.hash.empty() || !store_->set_hash(key, h.hash)) {
    return answer(r, Error::CODE_LOGIN_BUSY, "the password cannot be stored now", kBusyRetryMs);
  }
  answer(r, Error::CODE_UNSPECIFIED, {});
}

// ------------------------------------------------------------------ helpers

void AccountService::add_metrics(MetricsSnapshot& out) const {
  auto get = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  out.logins_ok += get(counters_.logins_ok);
  out.logins_failed += get(counters_.logins_failed);
  out.logins_throttled += get(counters_.throttled);
  out.logins_busy += get(counters_.busy);
  out.accounts_registered += get(counters_.registered);
  out.directs_stored += get(counters_.directs_stored);
  out.password_hashes += hasher_.done();
}

std::optional<AccountRecord> AccountService::find(const std::string& key, bool& failed) {
  try {
    return store_->find(key);
  } catch (const std::exception&) {
    failed = true;
    return std::nullopt;
  }
}

void AccountService::answer(const msg::Authenticate& a, Error::Code code, std::string reason,
                            std::uint32_t retry_after_ms) {
  msg::Authenticated m{a.nick, a.session, a.request_id, false, code, std::move(reason)};
  m.retry_after_ms = retry_after_ms;
  send(reactor_of(a.session), std::move(m));
}

void AccountService::answer(const msg::AccountRequest& r, Error::Code code, std::string reason,
                            std::uint32_t retry_after_ms) {
  msg::AccountChanged m{r.kind, r.account, r.session, r.request_id, code == Error::CODE_UNSPECIFIED, code,
                        std::move(reason), retry_after_ms};
  send(reactor_of(r.session), std::move(m));
}

void AccountService::send(std::uint32_t reactor, Message&& m) {
  if (reactor < reactors_.size()) reactors_[reactor]->send(std::move(m));
}

void AccountService::tell_nick_owner(const std::string& account, bool registered, SessionId session) {
  const auto reactors = static_cast<std::uint32_t>(reactors_.size());
  send(Router::nick_owner(account, reactors), msg::Registration{account, registered, session});
}

}  // namespace chat::server
