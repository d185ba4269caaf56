#pragma once
// A budget of rooms created in a sliding window: at most `limit` creations
// in any `window`. A join that may create a room reserves a place first, so
// pipelined joins cannot pass the limit; its answer settles the place (the
// room was created, or it existed already).
// Thread safety: reactor-confined (its session's or hub's reactor).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chat::server {

class CreationBudget {
 public:
  using Clock = std::chrono::steady_clock;

  CreationBudget(std::size_t limit, Clock::duration window) : limit_(limit), window_(window) {}

  bool try_reserve(Clock::time_point now) {
    expire(now);
    if (created_.size() + in_flight_ >= limit_) return false;
    ++in_flight_;
    return true;
  }
  // A reserving join was answered: it created a room, or it did not.
  void settle(bool created, Clock::time_point now) {
    release(1);
    if (created) created_.push_back(now);
  }
  // Reservations whose answers will never be settled here.
  void release(std::size_t n) { in_flight_ -= std::min(n, in_flight_); }
  std::size_t in_flight() const { return in_flight_; }

  // When a place frees: the oldest creation leaves the window. Held only by
  // joins in flight, it frees as soon as they are answered.
  std::uint32_t retry_after_ms(Clock::time_point now) const {
    if (created_.empty()) return 100;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(created_.front() + window_ - now);
    return static_cast<std::uint32_t>(std::max<std::int64_t>(wait.count(), 0)) + 1;
  }
  bool idle(Clock::time_point now) {
    expire(now);
    return created_.empty() && in_flight_ == 0;
  }

 private:
  void expire(Clock::time_point now) {
    auto live = std::find_if(created_.begin(), created_.end(), [&](auto t) { return now - t < window_; });
    created_.erase(created_.begin(), live);
  }

  std::size_t limit_;
  Clock::duration window_;
  // Oldest first, all within the window. A vector, not a deque: libstdc++'s
  // deque allocates its first block (512 bytes) even when empty, and every
  // session has one of these; the limit keeps it short.
  std::vector<Clock::time_point> created_;
  std::size_t in_flight_ = 0;
};

}  // namespace chat::server
