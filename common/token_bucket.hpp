#pragma once
// Token bucket rate limiter: `rate` tokens per second, at most `burst` saved.
// Pure: the caller passes the time in. Rate 0 means unlimited.
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

  // Takes one token if there is one.
  bool try_take(Clock::time_point now) {
    if (rate_ <= 0) return true;
    refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  // Milliseconds until a token will be available (0 if one is now).
  std::uint32_t retry_after_ms(Clock::time_point now) {
    if (rate_ <= 0) return 0;
    refill(now);
    if (tokens_ >= 1.0) return 0;
    const double ms = (1.0 - tokens_) / rate_ * 1000.0;
    return static_cast<std::uint32_t>(ms) + 1;
  }

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
