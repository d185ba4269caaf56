#include "server/session/rate_limits.hpp"

#include <algorithm>

namespace chat::server {

namespace {
// Renames, topic changes and moderation actions are counted per window, as ergo and solanum
// count nick changes: `n` per 20 s, all of them at once if need be.
constexpr double kWindowSeconds = 20;

common::TokenBucket per_window(unsigned n, RateLimits::Clock::time_point now) {
  return {n / kWindowSeconds, static_cast<double>(n), now};
}
}  // namespace

RateLimits::RateLimits(const Config& config, Clock::time_point now)
    : config_(config),
      frames_(config.rate_per_sec, config.rate_burst, now),
      bytes_(static_cast<double>(config.effective_rate_bytes()), static_cast<double>(config.rate_bytes_burst), now),
      renames_(per_window(config.rename_rate, now)),
      topics_(per_window(config.topic_rate, now)),
      moderations_(per_window(config.moderation_rate, now)) {}

RateLimits::Limit RateLimits::exhausted(Clock::time_point now) {
  // Bytes first: a debt of bytes (a large reply) takes longer to pay.
  if (!bytes_.holds(now, 0)) return Limit::kBytes;
  if (!frames_.holds(now, 1)) return Limit::kFrames;
  return Limit::kNone;
}

// Half the burst, not one token: a flood is told once per stall, and a
// stall lasts long enough that it is told rarely.
RateLimits::Limit RateLimits::refilling(Clock::time_point now) {
  if (!bytes_.holds(now, bytes_.burst() / 2)) return Limit::kBytes;
  if (!frames_.holds(now, std::max(1.0, frames_.burst() / 2))) return Limit::kFrames;
  return Limit::kNone;
}

std::uint32_t RateLimits::resume_after_ms(Clock::time_point now) {
  const std::uint32_t frames = frames_.ms_until(now, std::max(1.0, frames_.burst() / 2));
  const std::uint32_t bytes = bytes_.ms_until(now, bytes_.burst() / 2);
  return std::max(frames, bytes);
}

std::uint32_t RateLimits::refuse(Limit kind, Clock::time_point now) {
  common::TokenBucket& bucket = kind == Limit::kRename ? renames_ : kind == Limit::kTopic ? topics_ : moderations_;
  if (bucket.try_take(now)) return 0;
  return std::max<std::uint32_t>(bucket.retry_after_ms(now), 1);
}

std::string RateLimits::describe(Limit limit, std::uint32_t wait_ms) const {
  const std::string wait = std::to_string(wait_ms) + " ms";
  switch (limit) {
    case Limit::kFrames:
      return "over the frame rate (" + std::to_string(static_cast<unsigned>(config_.rate_per_sec)) +
             "/s): not reading your requests for " + wait;
    case Limit::kBytes:
      return "over the byte budget (" + std::to_string(config_.effective_rate_bytes()) +
             " bytes/s, sent plus replies): not reading your requests for " + wait;
    case Limit::kRename:
      return "renames are limited to " + std::to_string(config_.rename_rate) + " per 20 s; try again in " + wait;
    case Limit::kTopic:
      return "topic changes are limited to " + std::to_string(config_.topic_rate) + " per 20 s; try again in " + wait;
    case Limit::kModerate:
      return "moderation actions are limited to " + std::to_string(config_.moderation_rate) +
             " per 20 s; try again in " + wait;
    case Limit::kNone:
      break;
  }
  return "rate limited";
}

}  // namespace chat::server
