#pragma once
// A connection's budgets: frames per second, bytes per second (what it sends
// plus the replies it asks for), renames and topic changes per 20 s. The
// session asks before it reads, and after each frame, whether it is within
// the first two; past either it stops reading that socket until they have
// refilled to half (Session::stall in session.cpp). A rename or topic change
// past its own budget is refused.
// Thread safety: reactor-confined, like its session.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/token_bucket.hpp"
#include "server/app/config.hpp"
#include "server/ops/metrics.hpp"

namespace chat::server {

class RateLimits {
 public:
  using Clock = common::TokenBucket::Clock;
  // The order of kRateLimitNames (ops/metrics.hpp), after kNone.
  enum class Limit { kNone, kFrames, kBytes, kRename, kTopic, kModerate };

  RateLimits(const Config& config, Clock::time_point now);

  // Costs, charged once known: a frame decoded, bytes read or replied.
  void frame(Clock::time_point now) { frames_.charge(now, 1); }
  void bytes(Clock::time_point now, std::size_t n) { bytes_.charge(now, static_cast<double>(n)); }

  // The budget that stops reading now: frames (no token for another one)
  // or bytes (in debt); kNone while within both.
  Limit exhausted(Clock::time_point now);
  // After a stall: the budget not yet refilled to half its burst (bytes
  // first), or kNone; and the milliseconds until both are (0: now).
  Limit refilling(Clock::time_point now);
  std::uint32_t resume_after_ms(Clock::time_point now);
  // A rename, topic change or moderation action: 0 if allowed (its token is taken), else the
  // milliseconds until it would be.
  std::uint32_t refuse(Limit kind, Clock::time_point now);

  // What the client is told: which limit, and the wait.
  std::string describe(Limit limit, std::uint32_t wait_ms) const;
  // The limit's index in ReactorMetrics::rate_limited_by.
  static std::size_t index(Limit limit) { return static_cast<std::size_t>(limit) - 1; }

 private:
  const Config& config_;
  common::TokenBucket frames_;
  common::TokenBucket bytes_;
  common::TokenBucket renames_;
  common::TokenBucket topics_;
  common::TokenBucket moderations_;
};

}  // namespace chat::server
