// PasswordHasher: argon2id on its own thread; a right password verifies, a
// wrong one does not, the inbox refuses work past its bound, and stop()
// still answers every job it accepted.
#include "server/auth/password_hasher.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <latch>
#include <thread>

namespace chat::server {
namespace {

using namespace std::chrono_literals;

std::string hash_of(PasswordHasher& hasher, PasswordHasher::Mail::Producer& from, const std::string& password) {
  std::promise<std::string> made;
  auto got = made.get_future();
  EXPECT_TRUE(hasher.submit(from, hasher_job::Hash{password, [&made](std::string h) { made.set_value(std::move(h)); }}));
  EXPECT_EQ(got.wait_for(10s), std::future_status::ready);
  return got.get();
}

std::pair<bool, bool> verify(PasswordHasher& hasher, PasswordHasher::Mail::Producer& from, const std::string& hash,
                             const std::string& password) {
  std::promise<std::pair<bool, bool>> checked;
  auto got = checked.get_future();
  EXPECT_TRUE(hasher.submit(from, hasher_job::Verify{hash, password, [&checked](bool ok, bool rehash) {
                                                       checked.set_value({ok, rehash});
                                                     }}));
  EXPECT_EQ(got.wait_for(10s), std::future_status::ready);
  return got.get();
}

TEST(PasswordHasherTest, ARightPasswordVerifiesAndAWrongOneDoesNot) {
  PasswordHasher hasher(HashCost::minimum(), 8);
  hasher.start();
  PasswordHasher::Mail::Producer from(hasher.inbox());
  const std::string hash = hash_of(hasher, from, "correct horse");
  ASSERT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_EQ(hash.find("correct horse"), std::string::npos);
  // Salted: the same password hashes differently each time.
  EXPECT_NE(hash_of(hasher, from, "correct horse"), hash);

  EXPECT_EQ(verify(hasher, from, hash, "correct horse"), std::make_pair(true, false));
  EXPECT_EQ(verify(hasher, from, hash, "correct horse ").first, false);
  EXPECT_EQ(verify(hasher, from, hash, "").first, false);
  EXPECT_EQ(verify(hasher, from, "not a hash", "correct horse").first, false);
  EXPECT_EQ(verify(hasher, from, hash + std::string(1, '\0'), "correct horse").first, false);
  EXPECT_EQ(hasher.done(), 7u);
  EXPECT_EQ(hasher.queued(), 0u);
}

TEST(PasswordHasherTest, AHashMadeAtAnotherCostVerifiesAndAsksForARehash) {
  PasswordHasher cheap(HashCost::minimum(), 8);
  cheap.start();
  PasswordHasher::Mail::Producer to_cheap(cheap.inbox());
  const std::string old_hash = hash_of(cheap, to_cheap, "pw");

  HashCost dearer = HashCost::minimum();
  dearer.ops += 1;
  PasswordHasher hasher(dearer, 8);
  hasher.start();
  PasswordHasher::Mail::Producer from(hasher.inbox());
  EXPECT_EQ(verify(hasher, from, old_hash, "pw"), std::make_pair(true, true));
  EXPECT_EQ(verify(hasher, from, hash_of(hasher, from, "pw"), "pw"), std::make_pair(true, false));
}

TEST(PasswordHasherTest, ThePasswordLengthIsBounded) {
  PasswordHasher hasher(HashCost::minimum(), 8);
  hasher.start();
  PasswordHasher::Mail::Producer from(hasher.inbox());
  EXPECT_FALSE(hash_of(hasher, from, std::string(kMaxPasswordBytes, 'x')).empty());
  bool called = false;
  EXPECT_FALSE(hasher.submit(from, hasher_job::Hash{std::string(kMaxPasswordBytes + 1, 'x'),
                                                    [&called](std::string) { called = true; }}));
  hasher.stop();
  EXPECT_FALSE(called);
}

TEST(PasswordHasherTest, PastItsBoundTheInboxRefusesAndStopStillAnswersWhatItTook) {
  constexpr std::size_t kBound = 3;
  PasswordHasher hasher(HashCost::minimum(), kBound);
  hasher.start();
  PasswordHasher::Mail::Producer from(hasher.inbox());
  // The first job holds the hasher's thread until released, so the rest queue.
  std::latch release(1);
  std::promise<void> running;
  ASSERT_TRUE(hasher.submit(from, hasher_job::Hash{"first", [&](std::string) {
                                                     running.set_value();
                                                     release.wait();
                                                   }}));
  running.get_future().wait();  // being answered: no longer counted
  std::atomic<int> answered{0};
  for (std::size_t i = 0; i < kBound; ++i) {
    EXPECT_TRUE(hasher.submit(from, hasher_job::Hash{"queued", [&answered](std::string h) {
                                                       if (!h.empty()) ++answered;
                                                     }})) << i;
  }
  EXPECT_EQ(hasher.queued(), kBound);
  EXPECT_FALSE(hasher.submit(from, hasher_job::Verify{"x", "y", [&answered](bool, bool) { answered += 100; }}));
  release.count_down();
  hasher.stop();
  EXPECT_EQ(answered.load(), static_cast<int>(kBound));
  EXPECT_EQ(hasher.queued(), 0u);
}

TEST(PasswordHasherTest, JobsFromSeveralThreadsAreAllAnswered) {
  PasswordHasher hasher(HashCost::minimum(), 64);
  hasher.start();
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      PasswordHasher::Mail::Producer from(hasher.inbox());
      for (int i = 0; i < 8; ++i) {
        const std::string hash = hash_of(hasher, from, "pw" + std::to_string(i));
        if (verify(hasher, from, hash, "pw" + std::to_string(i)).first) ++verified;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(verified.load(), 32);
  EXPECT_EQ(hasher.done(), 64u);
}

TEST(PasswordHasherTest, ACostOutsideLibsodiumsLimitsIsRefused) {
  EXPECT_THROW(PasswordHasher(HashCost{0, 64 * 1024 * 1024}, 1), std::invalid_argument);
  EXPECT_THROW(PasswordHasher(HashCost{2, 1024}, 1), std::invalid_argument);
  EXPECT_TRUE(HashCost{}.valid());
}

}  // namespace
}  // namespace chat::server
