#pragma once
// Password hashing for accounts: argon2id through libsodium's
// crypto_pwhash_str (Debian's libsodium-dev), on a thread of its own.
//
// An argon2id hash is deliberately slow (tens of milliseconds and tens of
// MiB at the interactive cost), so no reactor may run one: a reactor hands
// the job to this actor's inbox and goes on; the answer comes back through
// the job's `done`, called on the hasher's thread, which the caller turns
// into a mail to its reactor.
//
//   reactor ──Hash/Verify──▶ hasher inbox ──▶ crypto_pwhash_str* ──▶ done(outcome)
//
// The inbox is bounded (`max_queued`): each queued job costs a hash's time
// from every job behind it, so a login flood is refused at the door
// (submit() returns false: the caller answers "busy, retry later") instead
// of making everyone's login wait behind it. Throttling who may try how
// often is the caller's business; this bounds only the work in flight.
// Thread safety: submit() and queued() from any thread, through a Producer
// per thread as the mailbox requires; start() and stop() from the thread
// that owns the hasher. `done` runs on the hasher's thread.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <variant>

#include "common/mailbox.hpp"

namespace chat::server {

// argon2id's two knobs. The default is libsodium's "interactive" cost;
// tests use kMinimum, which hashes in microseconds.
struct HashCost {
  std::uint64_t ops = 2;                        // crypto_pwhash_OPSLIMIT_INTERACTIVE
  std::size_t memory_bytes = 64u * 1024 * 1024;  // crypto_pwhash_MEMLIMIT_INTERACTIVE
  static HashCost minimum();                     // crypto_pwhash_*_MIN
  // --password-cost: "interactive", "moderate" or "min".
  static HashCost named(const std::string& name);
  bool valid() const;                            // within libsodium's limits
};

// Longest password accepted, in bytes: argon2 takes any length, but a
// client's bytes are bounded everywhere.
inline constexpr std::size_t kMaxPasswordBytes = 256;
// Shortest password an account may be given.
inline constexpr std::size_t kMinPasswordBytes = 8;

namespace hasher_job {
// Makes a new hash (register, change_password). `hash` is empty when
// hashing failed (out of memory).
struct Hash {
  std::string password;
  std::function<void(std::string hash)> done;
};
// Checks a password against a stored hash (login). `needs_rehash` says the
// hash was made at another cost than today's, so the caller may store a
// fresh one.
struct Verify {
  std::string hash;
  std::string password;
  std::function<void(bool ok, bool needs_rehash)> done;
};
}  // namespace hasher_job

class PasswordHasher {
 public:
  using Job = std::variant<hasher_job::Hash, hasher_job::Verify, std::monostate>;  // monostate: stop
  using Mail = common::Mailbox<Job>;

  PasswordHasher(HashCost cost, std::size_t max_queued);
  ~PasswordHasher();
  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  void start();
  // Answers what is queued (each job is still done, in order), then joins.
  void stop();

  // Queues a job; false (and `done` never called) when max_queued jobs are
  // waiting already (one being hashed counts; one being answered does not)
  // or the password is longer than kMaxPasswordBytes.
  bool submit(Mail::Producer& from, Job&& job);
  Mail& inbox() { return mail_; }
  std::size_t queued() const { return queued_.load(std::memory_order_relaxed); }
  // Jobs finished so far (a counter for /metrics and the login benchmark).
  std::uint64_t done() const { return done_.load(std::memory_order_relaxed); }

 private:
  void run();
  void handle(Job& job);
  void settle();

  const HashCost cost_;
  const std::size_t max_queued_;
  Mail mail_;
  std::atomic<std::size_t> queued_{0};
  std::atomic<std::uint64_t> done_{0};
  std::thread thread_;
};

}  // namespace chat::server
