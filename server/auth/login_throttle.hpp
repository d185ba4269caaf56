#pragma once
// Login throttling: each account, and each address (address_key, an IPv6
// /64), may try `per_minute` passwords a minute (ergo's default is 3). An
// attempt is charged when it starts, so a burst of guesses sent at once is
// cut at the same count as a slow loop, and given back when it succeeds, so
// reconnecting with the right password is never throttled. Registrations
// charge the address and are not given back: an address registers at most
// `per_minute` accounts a minute.
//
// A throttled attempt costs no hash: it is refused before one is queued, so
// a guessing loop costs the server `per_minute` hashes a minute per address.
// Memory is bounded: past kPruneAt keys, those whose bucket has refilled
// (nothing to remember) are forgotten.
// Thread safety: confined to the account service's thread. Pure otherwise:
// the caller passes the time in.

#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/token_bucket.hpp"

namespace chat::server {

class LoginThrottle {
 public:
  using Clock = common::TokenBucket::Clock;
  static constexpr std::size_t kPruneAt = 1u << 16;

  explicit LoginThrottle(std::uint32_t per_minute) : per_minute_(per_minute) {}

  // 0 when both `account` (may be empty) and `address` may try now; else the
  // milliseconds until both may.
  std::uint32_t wait_ms(const std::string& account, const std::string& address, Clock::time_point now) {
    std::uint32_t wait = 0;
    if (!account.empty()) wait = bucket(accounts_, account, now).retry_after_ms(now);
    const std::uint32_t by_address = bucket(addresses_, address, now).retry_after_ms(now);
    return wait > by_address ? wait : by_address;
  }
  void charge(const std::string& account, const std::string& address, Clock::time_point now) {
    if (!account.empty()) bucket(accounts_, account, now).charge(now, 1);
    bucket(addresses_, address, now).charge(now, 1);
  }
  void refund(const std::string& account, const std::string& address) {
    if (auto it = accounts_.find(account); it != accounts_.end()) it->second.refund();
    if (auto it = addresses_.find(address); it != addresses_.end()) it->second.refund();
  }
  std::size_t size() const { return accounts_.size() + addresses_.size(); }

 private:
  using Buckets = std::unordered_map<std::string, common::TokenBucket>;

  common::TokenBucket& bucket(Buckets& buckets, const std::string& key, Clock::time_point now) {
    auto it = buckets.find(key);
    if (it != buckets.end()) return it->second;
    if (buckets.size() >= prune_at_) prune(buckets, now);
    return buckets.try_emplace(key, per_minute_ / 60.0, per_minute_, now).first->second;
  }
  // Forgets full buckets; if most are not full, waits for twice as many
  // before trying again, so pruning stays amortised O(1) per key.
  void prune(Buckets& buckets, Clock::time_point now) {
    for (auto it = buckets.begin(); it != buckets.end();) {
      it = it->second.holds(now, per_minute_) ? buckets.erase(it) : std::next(it);
    }
    prune_at_ = buckets.size() * 2 > kPruneAt ? buckets.size() * 2 : kPruneAt;
  }

  const std::uint32_t per_minute_;
  std::size_t prune_at_ = kPruneAt;
  Buckets accounts_;   // fold_case(account name) -> its attempts
  Buckets addresses_;  // address_key -> its attempts
};

}  // namespace chat::server
