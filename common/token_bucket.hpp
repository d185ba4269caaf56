#pragma once
// Token bucket rate limiter: `rate` tokens per second, at most `burst` saved.
// Pure: the caller passes the time in. Rate 0 means unlimited.
// A cost known only after the work is done (bytes read, reply bytes) is
// charged with charge(), which may leave the bucket in debt; the debt is
// paid back by the refill before anything more is allowed.
// Thread safety: confined to the thread that owns the connection.

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace chat::common {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate_per_sec, double burst, Clock::time_point now)
      : rate_(rate_per_sec), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

  bool limited() const { return rate_ > 0; }
  double burst() const { return burst_; }

  // Takes `cost` tokens if there are that many.
  bool try_take(Clock::time_point now, double cost = 1.0) {
    if (rate_ <= 0) return true;
    refill(now);
    if (tokens_ < cost) return false;
    tokens_ -= cost;
    return true;
  }

  // Takes `cost` tokens whether or not there are that many.
  void charge(Clock::time_point now, double cost) {
    if (rate_ <= 0) return;
    refill(now);
    tokens_ -= cost;
  }

  // Gives back `cost` tokens taken earlier (never past the burst).
  void refund(double cost = 1.0) { tokens_ = std::min(burst_, tokens_ + cost); }

  // Whether the bucket holds at least `level` tokens (always, if unlimited);
  // a level above the burst means the burst.
  bool holds(Clock::time_point now, double level) {
    if (rate_ <= 0) return true;
    refill(now);
    return tokens_ >= std::min(level, burst_);
  }

  // Milliseconds until the bucket holds `level` tokens (0 if it does now).
  std::uint32_t ms_until(Clock::time_point now, double level) {
    if (holds(now, level)) return 0;
    const double ms = (std::min(level, burst_) - tokens_) / rate_ * 1000.0;
    return static_cast<std::uint32_t>(ms) + 1;
  }

  // Milliseconds until a token will be available (0 if one is now).
  std::uint32_t retry_after_ms(Clock::time_point now) { return ms_until(now, 1.0); }

 private:
  void refill(Clock::time_point now) {
    if (now <= last_) return;
    const double seconds = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + seconds * rate_);
    last_ = now;
  }

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace chat::common
