// SaidTable: the sequencer's memory of named says (exactly-once).
#include "server/chat/said_table.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace chat::server {
namespace {

constexpr std::int64_t kWindowMs = 600'000;

TEST(SaidTableTest, RemembersEachSayUnderItsRoomIdentityAndId) {
  SaidTable t(kWindowMs, 1000);
  t.note("#a", "alice", 7, {1, 100});
  t.note("#a", "bob", 7, {2, 100});
  t.note("#b", "alice", 7, {1, 100});
  ASSERT_NE(t.recall("#a", "alice", 7), nullptr);
  EXPECT_EQ(t.recall("#a", "alice", 7)->seq, 1u);
  EXPECT_EQ(t.recall("#a", "bob", 7)->seq, 2u);
  EXPECT_EQ(t.recall("#b", "alice", 7)->seq, 1u);
  EXPECT_EQ(t.recall("#a", "alice", 8), nullptr);
  EXPECT_EQ(t.recall("#c", "alice", 7), nullptr);
  // The separator keeps ("#a", "lice") apart from ("#al", "ice")-like splits.
  EXPECT_EQ(t.recall("#", "aalice", 7), nullptr);
  EXPECT_EQ(t.speakers(), 3u);
}

TEST(SaidTableTest, FindsEveryIdWhetherTheyGrowOrNot) {
  SaidTable t(kWindowMs, 100'000);
  std::mt19937_64 rng(15);
  std::vector<std::uint64_t> ids;
  for (std::uint64_t i = 0; i < 3000; ++i) {
    // Mostly growing, one in five below the largest so far.
    const std::uint64_t id = (i % 5 == 4) ? (rng() % 1'000'000) * 2 + 1 : 10'000'000 + i * 2;
    if (t.recall("#r", "carol", id)) continue;
    t.note("#r", "carol", id, {i + 1, 1000});
    ids.push_back(id);
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto* said = t.recall("#r", "carol", ids[i]);
    ASSERT_NE(said, nullptr) << ids[i];
  }
  EXPECT_EQ(t.size(), ids.size());
  EXPECT_EQ(t.recall("#r", "carol", 10'000'001), nullptr);
  EXPECT_EQ(t.recall("#r", "carol", 2), nullptr);
}

TEST(SaidTableTest, ForgetsWhatIsOlderThanTheWindowAndTheSpeakersWithIt) {
  SaidTable t(kWindowMs, 1000);
  t.note("#a", "alice", 1, {1, 0});
  t.note("#a", "bob", 5, {2, 10});
  t.note("#a", "bob", 3, {3, 20});  // below bob's largest
  t.note("#a", "alice", 2, {4, kWindowMs});
  EXPECT_NE(t.recall("#a", "alice", 1), nullptr);  // exactly the window old: kept
  t.note("#a", "dave", 1, {5, kWindowMs + 15});
  EXPECT_EQ(t.recall("#a", "alice", 1), nullptr);
  EXPECT_EQ(t.recall("#a", "bob", 5), nullptr);
  EXPECT_NE(t.recall("#a", "bob", 3), nullptr);
  EXPECT_NE(t.recall("#a", "alice", 2), nullptr);
  t.note("#a", "dave", 2, {6, kWindowMs + 25});
  EXPECT_EQ(t.recall("#a", "bob", 3), nullptr);
  EXPECT_EQ(t.speakers(), 2u);  // bob had nothing left
  EXPECT_EQ(t.size(), 3u);
}

TEST(SaidTableTest, PastTheCapTheOldestGoFirst) {
  SaidTable t(kWindowMs, 100);
  for (std::uint64_t i = 1; i <= 250; ++i) t.note("#a", i % 2 ? "odd" : "even", i, {i, 1});
  EXPECT_EQ(t.size(), 100u);
  EXPECT_EQ(t.recall("#a", "even", 150), nullptr);
  EXPECT_NE(t.recall("#a", "odd", 151), nullptr);
  EXPECT_NE(t.recall("#a", "even", 250), nullptr);
}

}  // namespace
}  // namespace chat::server
