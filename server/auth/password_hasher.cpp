#include "server/auth/password_hasher.hpp"

#include <poll.h>
#include <sodium.h>

#include <stdexcept>

#include "common/overloaded.hpp"
#include "server/runtime/background_thread.hpp"

namespace chat::server {

static_assert(HashCost{}.ops == crypto_pwhash_OPSLIMIT_INTERACTIVE && HashCost{}.memory_bytes == crypto_pwhash_MEMLIMIT_INTERACTIVE);

HashCost HashCost::minimum() { return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

HashCost HashCost::named(const std::string& name) {
  if (name == "min") return minimum();
  if (name == "moderate") return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
  return {};
}

bool HashCost::valid() const {
  return ops >= crypto_pwhash_OPSLIMIT_MIN && ops <= crypto_pwhash_OPSLIMIT_MAX &&
         memory_bytes >= crypto_pwhash_MEMLIMIT_MIN && memory_bytes <= crypto_pwhash_MEMLIMIT_MAX;
}

PasswordHasher::PasswordHasher(HashCost cost, std::size_t max_queued) : cost_(cost), max_queued_(max_queued) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  if (!cost_.valid()) throw std::invalid_argument("argon2id cost outside libsodium's limits");
}

PasswordHasher::~PasswordHasher() { stop(); }

void PasswordHasher::start() {
  thread_ = std::thread([this] { run(); });
}

void PasswordHasher::stop() {
  if (!thread_.joinable()) return;
  Mail::Producer producer(mail_);
  producer.send(Job{std::monostate{}});
  thread_.join();
}

bool PasswordHasher::submit(Mail::Producer& from, Job&& job) {
  const std::string* password = std::visit(
      common::Overloaded{[](const hasher_job::Hash& h) { return &h.password; },
                         [](const hasher_job::Verify& v) { return &v.password; },
                         [](const std::monostate&) -> const std::string* { return nullptr; }},
      job);
  if (password == nullptr || password->size() > kMaxPasswordBytes) return false;
  std::size_t now = queued_.load(std::memory_order_relaxed);
  do {
    if (now >= max_queued_) return false;
  } while (!queued_.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
  from.send(std::move(job));
  return true;
}

void PasswordHasher::run() {
  run_as_background_thread("password hasher");
  bool stopping = false;
  while (!stopping) {
    const std::size_t n = mail_.drain(1, [&](Job&& job) {
      if (std::holds_alternative<std::monostate>(job)) {
        stopping = true;
      } else {
        handle(job);
      }
    });
    if (n > 0 || stopping) continue;
    if (!mail_.arm()) continue;
    pollfd wake{mail_.wake_fd(), POLLIN, 0};
    ::poll(&wake, 1, -1);
    mail_.clear_wake();
  }
  // The stop comes from a producer of its own, so FIFO per producer does not
  // put it behind the jobs accepted before it: those are done now.
  mail_.drain(max_queued_, [&](Job&& job) {
    if (!std::holds_alternative<std::monostate>(job)) handle(job);
  });
}

// Counted before `done` runs, so whoever it wakes sees the counters moved.
void PasswordHasher::settle() {
  queued_.fetch_sub(1, std::memory_order_relaxed);
  done_.fetch_add(1, std::memory_order_relaxed);
}

void PasswordHasher::handle(Job& job) {
  std::visit(common::Overloaded{
                 [this](hasher_job::Hash& h) {
                   char out[crypto_pwhash_STRBYTES];
                   const bool ok = crypto_pwhash_str(out, h.password.data(), h.password.size(), cost_.ops,
                                                     cost_.memory_bytes) == 0;
                   sodium_memzero(h.password.data(), h.password.size());
                   settle();
                   h.done(ok ? std::string(out) : std::string());
                 },
                 [this](hasher_job::Verify& v) {
                   // crypto_pwhash_str_verify reads a NUL-terminated string.
                   const bool ok =
                       v.hash.find('\0') == std::string::npos &&
                       crypto_pwhash_str_verify(v.hash.c_str(), v.password.data(), v.password.size()) == 0;
                   sodium_memzero(v.password.data(), v.password.size());
                   const bool rehash =
                       ok && crypto_pwhash_str_needs_rehash(v.hash.c_str(), cost_.ops, cost_.memory_bytes) != 0;
                   settle();
                   v.done(ok, rehash);
                 },
                 [](std::monostate&) {},
             },
             job);
}

}  // namespace chat::server
