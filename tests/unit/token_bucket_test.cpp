#include "common/token_bucket.hpp"

#include <gtest/gtest.h>

namespace chat::common {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucketTest, AllowsTheBurstThenLimits) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(10, 5, t0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.try_take(t0));
  EXPECT_FALSE(bucket.try_take(t0));
  EXPECT_EQ(bucket.retry_after_ms(t0), 101u);  // 1 token at 10/s, rounded up
  EXPECT_FALSE(bucket.try_take(t0 + 99ms));
  EXPECT_TRUE(bucket.try_take(t0 + 100ms));
}

TEST(TokenBucketTest, RefillsUpToTheBurstOnly) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(100, 3, t0);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.try_take(t0));
  const auto later = t0 + 10s;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.try_take(later));
  EXPECT_FALSE(bucket.try_take(later));
}

TEST(TokenBucketTest, ZeroRateIsUnlimited) {
  const auto t0 = TokenBucket::Clock::time_point{};
  TokenBucket bucket(0, 1, t0);
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(bucket.try_take(t0));
  EXPECT_EQ(bucket.retry_after_ms(t0), 0u);
}

TEST(TokenBucketTest, ChargeLeavesADebtThatTheRefillPaysFirst) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(1000, 2000, t0);  // bytes: 1000/s, 2000 at once
  bucket.charge(t0, 5000);             // a reply larger than the burst
  EXPECT_FALSE(bucket.holds(t0, 0));
  EXPECT_EQ(bucket.ms_until(t0, 0), 3001u);     // 3000 tokens of debt
  EXPECT_EQ(bucket.ms_until(t0, 1000), 4001u);  // then 1000 more
  EXPECT_FALSE(bucket.holds(t0 + 2999ms, 0));
  EXPECT_TRUE(bucket.holds(t0 + 3s, 0));
  EXPECT_FALSE(bucket.try_take(t0 + 3s, 1));
  // A level above the burst means the burst: never waits forever.
  EXPECT_EQ(bucket.ms_until(t0 + 3s, 1e9), 2001u);
}

}  // namespace
}  // namespace chat::common
