#pragma once
// The wait before a reconnect: exponential backoff, capped, with jitter.
// A pure function of the attempt number and a random source, so a test can
// pin the source and check the doubling, the cap and the jitter's bounds.
// Thread safety: stateless; safe from any thread (the generator is the
// caller's).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>

namespace chat::term {

// Attempt 0 is the first wait after a drop. The base is `min` doubled
// `attempt` times, capped at `max`; the wait is a random 50-100% of it
// ("equal jitter": half fixed, half random), so that many clients cut at
// once do not all come back at once, while none comes back at once.
template <class Rng>
std::chrono::milliseconds reconnect_delay(int attempt, std::chrono::milliseconds min, std::chrono::milliseconds max,
                                          Rng& rng) {
  // Past 30 doublings any sane cap has long been reached; clamping keeps
  // 2^attempt finite however long the server stays away.
  const int doublings = std::clamp(attempt, 0, 30);
  const double base = static_cast<double>(min.count()) * std::ldexp(1.0, doublings);
  const double capped = std::min(base, static_cast<double>(max.count()));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(capped * jitter(rng)));
}

}  // namespace chat::term
