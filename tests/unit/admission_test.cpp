// Admission (server/net/admission.hpp), the acceptor's decisions, without
// sockets: each cap crossed, and the counts dropping on the reactors' notes.
#include "server/net/admission.hpp"

#include "server/net/address.hpp"

#include <gtest/gtest.h>

namespace chat::server {
namespace {

using Clock = Admission::Clock;
using Kind = AdmissionNote::Kind;

AddressKey key(const char* text) {
  return address_key(to_string(asio::ip::tcp::endpoint(asio::ip::make_address(text), 1)));
}

TEST(AdmissionTest, CountsIPv4ByAddressAndIPv6ByItsSlash64) {
  EXPECT_EQ(key("10.0.0.1"), key("::ffff:10.0.0.1"));
  EXPECT_NE(key("10.0.0.1"), key("10.0.0.2"));
  EXPECT_EQ(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
  EXPECT_NE(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
  EXPECT_NE(key("::1"), key("0.0.0.1"));
}

TEST(AdmissionTest, RefusesPastThePerAddressCapUntilOneCloses) {
  Admission a({.total = 100, .per_address = 2, .rate = 0, .burst = 1, .pre_login = 100});
  const auto now = Clock::now();
  const auto one = key("10.0.0.1");
  ASSERT_EQ(a.check(one, now).refusal, Refusal::kNone);
  a.admit(1, one);
  ASSERT_EQ(a.check(one, now).refusal, Refusal::kNone);
  a.admit(2, one);
  EXPECT_EQ(a.check(one, now).refusal, Refusal::kPerAddress);
  EXPECT_EQ(a.check(key("10.0.0.2"), now).refusal, Refusal::kNone) << "another address is not affected";
  a.on({1, Kind::kLoggedIn});
  EXPECT_EQ(a.check(one, now).refusal, Refusal::kPerAddress) << "logging in frees no slot";
  a.on({1, Kind::kClosed});
  EXPECT_EQ(a.check(one, now).refusal, Refusal::kNone);
  EXPECT_EQ(a.open(), 1u);
}

TEST(AdmissionTest, RefusesPastTheTotalCap) {
  Admission a({.total = 2, .per_address = 10, .rate = 0, .burst = 1, .pre_login = 10});
  const auto now = Clock::now();
  a.check(key("10.0.0.1"), now);
  a.admit(1, key("10.0.0.1"));
  a.check(key("10.0.0.2"), now);
  a.admit(2, key("10.0.0.2"));
  EXPECT_EQ(a.check(key("10.0.0.3"), now).refusal, Refusal::kTotal);
  a.on({2, Kind::kClosed});
  a.on({2, Kind::kClosed});  // a second note changes nothing
  EXPECT_EQ(a.check(key("10.0.0.3"), now).refusal, Refusal::kNone);
  EXPECT_EQ(a.open(), 1u);
}

TEST(AdmissionTest, TheConnectRateBucketRefillsAndSaysWhen) {
  Admission a({.total = 100, .per_address = 100, .rate = 10, .burst = 3, .pre_login = 100});
  const auto start = Clock::now();
  const auto one = key("10.0.0.1");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a.check(one, start).refusal, Refusal::kNone);
  const auto refused = a.check(one, start);
  EXPECT_EQ(refused.refusal, Refusal::kRate);
  EXPECT_GT(refused.retry_after_ms, 0u);
  EXPECT_LE(refused.retry_after_ms, 101u);
  EXPECT_EQ(a.check(key("10.0.0.2"), start).refusal, Refusal::kNone);
  EXPECT_EQ(a.check(one, start + std::chrono::milliseconds(150)).refusal, Refusal::kNone);
}

TEST(AdmissionTest, PastThePreLoginCapTheOldestNotLoggedInIsDropped) {
  Admission a({.total = 100, .per_address = 100, .rate = 0, .burst = 1, .pre_login = 2});
  const auto now = Clock::now();
  const auto one = key("10.0.0.1");
  for (SessionId id = 1; id <= 3; ++id) a.check(one, now);
  EXPECT_FALSE(a.admit(1, one));
  EXPECT_FALSE(a.admit(2, one));
  a.on({1, Kind::kLoggedIn});
  EXPECT_FALSE(a.admit(3, one)) << "1 logged in: two are waiting";
  a.check(one, now);
  EXPECT_EQ(a.admit(4, one), SessionId{2}) << "the oldest still waiting";
  a.check(one, now);
  EXPECT_EQ(a.admit(5, one), SessionId{3}) << "2 no longer counts as waiting";
  EXPECT_EQ(a.pre_login(), 2u);
  EXPECT_EQ(a.open(), 5u) << "a dropped one counts until its reactor says it is gone";
  a.on({2, Kind::kClosed});
  EXPECT_EQ(a.open(), 4u);
  EXPECT_EQ(a.pre_login(), 2u);
}

TEST(AdmissionTest, WhileThePreLoginCapIsFullAnAddressWaitingLongIsRefused) {
  Admission a({.total = 100, .per_address = 100, .rate = 0, .burst = 1, .pre_login = 2});
  const auto start = Clock::now();
  const auto later = start + Admission::kWaitingTooLong;
  const auto one = key("10.0.0.1");
  const auto two = key("10.0.0.2");
  ASSERT_EQ(a.check(one, start).refusal, Refusal::kNone);
  EXPECT_FALSE(a.admit(1, one));
  ASSERT_EQ(a.check(one, later).refusal, Refusal::kNone) << "the cap is not full: a second may wait";
  EXPECT_FALSE(a.admit(2, one));
  const auto busy = a.check(one, later);
  EXPECT_EQ(busy.refusal, Refusal::kPreLoginWaiting) << "full, and one has been waiting since start";
  EXPECT_EQ(busy.retry_after_ms, Admission::kPreLoginRetryMs);
  EXPECT_EQ(a.pre_login(), 2u) << "refused before it was counted, so nobody was dropped";
  // An address whose connections are young (an honest client opening
  // several at once) still gets in, each newcomer making the oldest go.
  ASSERT_EQ(a.check(two, later).refusal, Refusal::kNone);
  EXPECT_EQ(a.admit(3, two), SessionId{1});
  ASSERT_EQ(a.check(two, later).refusal, Refusal::kNone);
  EXPECT_EQ(a.admit(4, two), SessionId{2});
  EXPECT_EQ(a.check(two, later + Admission::kWaitingTooLong).refusal, Refusal::kPreLoginWaiting)
      << "until they too have waited too long";
  // One of two's logs in: it still has one waiting since `later`. Once none
  // waits, the clock starts again.
  a.on({3, Kind::kLoggedIn});
  ASSERT_EQ(a.check(two, later + Admission::kWaitingTooLong).refusal, Refusal::kNone) << "the cap has room";
  EXPECT_FALSE(a.admit(5, two));
  EXPECT_EQ(a.check(two, later + Admission::kWaitingTooLong).refusal, Refusal::kPreLoginWaiting);
  a.on({4, Kind::kLoggedIn});
  a.on({5, Kind::kLoggedIn});
  const auto fresh = later + 2 * Admission::kWaitingTooLong;
  ASSERT_EQ(a.check(two, fresh).refusal, Refusal::kNone);
  EXPECT_FALSE(a.admit(6, two));
  ASSERT_EQ(a.check(one, fresh).refusal, Refusal::kNone);
  EXPECT_FALSE(a.admit(7, one));
  EXPECT_EQ(a.check(two, fresh).refusal, Refusal::kNone) << "full, but two's waiting one is new";
  a.on({1, Kind::kClosed});
  a.on({2, Kind::kClosed});
  EXPECT_EQ(a.pre_login(), 2u);
  EXPECT_EQ(a.open(), 5u);
}

}  // namespace
}  // namespace chat::server
