// The terminal client's reconnect backoff: 250 ms doubling to a 10 s cap,
// each wait a random 50-100% of that.
#include "client/chat/backoff.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <limits>
#include <random>

#include "client/chat/chat_core.hpp"

namespace chat::term {
namespace {

using std::chrono::milliseconds;

// A random source that always gives the same number: its least (the
// jitter's floor) or its greatest (the jitter's ceiling).
struct FixedSource {
  using result_type = std::uint64_t;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() { return value; }
  result_type value = 0;
};

constexpr milliseconds kMin{250};
constexpr milliseconds kMax{10'000};

TEST(ChatBackoffTest, TheDefaultsAreTheDocumentedOnes) {
  const Options options;
  EXPECT_EQ(options.reconnect_min, kMin);
  EXPECT_EQ(options.reconnect_max, kMax);
}

TEST(ChatBackoffTest, DoublesFromTheMinimumUntilTheCap) {
  // The jitter's floor is exactly half of each step.
  FixedSource low{FixedSource::min()};
  const std::int64_t half_steps[] = {125, 250, 500, 1000, 2000, 4000, 5000, 5000, 5000};
  for (int attempt = 0; attempt < 9; ++attempt) {
    EXPECT_EQ(reconnect_delay(attempt, kMin, kMax, low).count(), half_steps[attempt]) << "attempt " << attempt;
  }
  // Its ceiling is (just under) the whole step.
  FixedSource high{FixedSource::max()};
  const std::int64_t steps[] = {250, 500, 1000, 2000, 4000, 8000, 10'000, 10'000, 10'000};
  for (int attempt = 0; attempt < 9; ++attempt) {
    const auto d = reconnect_delay(attempt, kMin, kMax, high).count();
    EXPECT_LE(d, steps[attempt]) << "attempt " << attempt;
    EXPECT_GE(d, steps[attempt] - 1) << "attempt " << attempt;
  }
}

TEST(ChatBackoffTest, TheCapHoldsHoweverLongTheServerStaysAway) {
  FixedSource high{FixedSource::max()};
  FixedSource low{FixedSource::min()};
  for (int attempt : {7, 20, 31, 64, 1000, INT_MAX}) {
    EXPECT_LE(reconnect_delay(attempt, kMin, kMax, high), kMax) << "attempt " << attempt;
    EXPECT_GE(reconnect_delay(attempt, kMin, kMax, high), kMax - milliseconds(1)) << "attempt " << attempt;
    EXPECT_EQ(reconnect_delay(attempt, kMin, kMax, low), kMax / 2) << "attempt " << attempt;
  }
  // Nonsense attempt numbers count as the first.
  EXPECT_EQ(reconnect_delay(-1, kMin, kMax, low), kMin / 2);
  EXPECT_EQ(reconnect_delay(INT_MIN, kMin, kMax, low), kMin / 2);
}

TEST(ChatBackoffTest, OtherBoundsAreHonoured) {
  // chat --reconnect-min-ms 20 --reconnect-max-ms 300, as the tests run it.
  FixedSource low{FixedSource::min()};
  EXPECT_EQ(reconnect_delay(0, milliseconds(20), milliseconds(300), low).count(), 10);
  EXPECT_EQ(reconnect_delay(3, milliseconds(20), milliseconds(300), low).count(), 80);
  EXPECT_EQ(reconnect_delay(4, milliseconds(20), milliseconds(300), low).count(), 150);
  // A cap below the minimum wins.
  EXPECT_EQ(reconnect_delay(0, milliseconds(500), milliseconds(100), low).count(), 50);
}

TEST(ChatBackoffTest, JitterSpreadsEachWaitOverHalfToAllOfItsStep) {
  std::mt19937_64 rng(20240506);  // fixed: the test must not be flaky
  for (int attempt : {0, 3, 10}) {
    const double step = std::min(250.0 * (1 << attempt), 10'000.0);
    std::int64_t lowest = INT64_MAX;
    std::int64_t highest = 0;
    for (int i = 0; i < 10'000; ++i) {
      const std::int64_t d = reconnect_delay(attempt, kMin, kMax, rng).count();
      ASSERT_GE(d, static_cast<std::int64_t>(step / 2)) << "attempt " << attempt;
      ASSERT_LE(d, static_cast<std::int64_t>(step)) << "attempt " << attempt;
      lowest = std::min(lowest, d);
      highest = std::max(highest, d);
    }
    // Spread over the whole range, not one fixed point: clients cut at the
    // same moment come back at different moments.
    EXPECT_LT(lowest, step * 0.55) << "attempt " << attempt;
    EXPECT_GT(highest, step * 0.95) << "attempt " << attempt;
  }
}

}  // namespace
}  // namespace chat::term
