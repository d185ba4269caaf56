#include "server/store/memory_store.hpp"

#include <gtest/gtest.h>

namespace chat::server {
namespace {

v1::RoomMessage message(std::uint64_t seq) {
  v1::RoomMessage m;
  m.set_seq(seq);
  m.set_text("m" + std::to_string(seq));
  return m;
}

std::vector<std::uint64_t> seqs(const MessageList& list) {
  std::vector<std::uint64_t> out;
  for (const auto& m : list) out.push_back(m.seq());
  return out;
}

TEST(MemoryStoreTest, KeepsTheNewestMessagesOfEachRoomAndReadsRanges) {
  MemoryHistoryStore store(3);
  EXPECT_EQ(store.first_seq("#r"), 0u);
  for (std::uint64_t seq = 1; seq <= 5; ++seq) store.append("#r", message(seq), "ann");
  store.append("#s", message(1), "ann");
  EXPECT_EQ(store.first_seq("#r"), 3u);
  MessageList out;
  store.read("#r", 1, 4, "ann", out);
  EXPECT_EQ(seqs(out), (std::vector<std::uint64_t>{3, 4}));
  out.Clear();
  store.read("#r", 5, 99, "ann", out);
  EXPECT_EQ(seqs(out), (std::vector<std::uint64_t>{5}));
  store.evict("#r");
  EXPECT_EQ(store.first_seq("#r"), 0u);
  EXPECT_EQ(store.first_seq("#s"), 1u);
}

TEST(MemoryStoreTest, ARoomCreatedAgainStartsEmptyWithANewIncarnation) {
  MemoryHistoryStore store(10);
  const auto first = store.create("#r");
  store.append("#r", message(1), "ann");
  const auto second = store.create("#r");
  EXPECT_NE(first, second);
  EXPECT_EQ(store.first_seq("#r"), 0u);
  EXPECT_TRUE(store.load().empty()) << "nothing outlives the process";
}

TEST(MemoryStoreTest, AReaderSeesClientMsgIdsOnItsOwnMessagesOnly) {
  MemoryHistoryStore store(10);
  auto own = message(1);
  own.set_client_msg_id(7);
  store.append("#r", own, "ann");
  auto other = message(2);
  other.set_client_msg_id(8);
  store.append("#r", other, "bob");
  MessageList out;
  ASSERT_TRUE(store.read("#r", 1, 2, "ann", out));
  ASSERT_EQ(out.size(), 2);
  EXPECT_EQ(out[0].client_msg_id(), 7u);
  EXPECT_EQ(out[1].client_msg_id(), 0u);
}

TEST(MemoryStoreTest, EachStartHasItsOwnEpoch) {
  EXPECT_NE(MemoryStore(10, 1 << 20).epoch(), 0u);
  EXPECT_NE(MemoryStore(10, 1 << 20).epoch(), MemoryStore(10, 1 << 20).epoch());
}

// --history-memory: the shard's rings share one byte budget, and the oldest
// message the shard holds goes first, whichever room it is in.
TEST(MemoryStoreTest, TheByteBudgetDropsTheShardsOldestMessagesFirstAcrossRooms) {
  const std::size_t each = RingCache::footprint(message(1), "ann");  // "m1".."m9": the same size
  MemoryHistoryStore store(100, 4 * each);
  store.append("#a", message(1), "ann");
  store.append("#b", message(1), "ann");
  store.append("#a", message(2), "ann");
  store.append("#b", message(2), "ann");
  EXPECT_EQ(store.memory_use().bytes, 4 * each);
  EXPECT_EQ(store.memory_use().trimmed, 0u);
  store.append("#a", message(3), "ann");  // over: #a's 1 is the oldest held
  EXPECT_EQ(store.first_seq("#a"), 2u);
  EXPECT_EQ(store.first_seq("#b"), 1u);
  store.append("#a", message(4), "ann");  // then #b's 1
  EXPECT_EQ(store.first_seq("#a"), 2u);
  EXPECT_EQ(store.first_seq("#b"), 2u);
  EXPECT_EQ(store.memory_use().bytes, 4 * each);
  EXPECT_EQ(store.memory_use().trimmed, 2u);
  MessageList out;
  store.read("#a", 1, 9, "ann", out);
  EXPECT_EQ(seqs(out), (std::vector<std::uint64_t>{2, 3, 4}));
}

TEST(MemoryStoreTest, ADroppedRoomsOldArrivalsDoNotTrimTheRoomThatTakesItsPlace) {
  const std::size_t each = RingCache::footprint(message(1), "ann");
  MemoryHistoryStore store(100, 3 * each);
  store.append("#a", message(1), "ann");
  store.append("#a", message(2), "ann");
  store.evict("#a");
  EXPECT_EQ(store.memory_use().bytes, 0u);
  store.append("#b", message(1), "ann");  // reuses #a's slot
  store.append("#b", message(2), "ann");
  store.append("#b", message(3), "ann");
  EXPECT_EQ(store.first_seq("#b"), 1u) << "#a's queued arrivals must not count for #b";
  store.append("#b", message(4), "ann");
  EXPECT_EQ(store.first_seq("#b"), 2u);
  EXPECT_EQ(store.memory_use().trimmed, 1u);
}

TEST(MemoryStoreTest, WithoutBudgetPressureTheCountStaysExactOverLongRuns) {
  const std::size_t each = RingCache::footprint(message(1), "ann");
  MemoryHistoryStore store(3, 1 << 20);
  for (std::uint64_t seq = 1; seq <= 9; ++seq) store.append("#a", message(seq), "ann");
  EXPECT_EQ(store.memory_use().bytes, 3 * each);
  // Many more, so the arrival queue is compacted several times over.
  for (std::uint64_t seq = 10; seq <= 20'000; ++seq) store.append("#a", message(seq), "ann");
  EXPECT_EQ(store.first_seq("#a"), 19'998u);
  EXPECT_EQ(store.memory_use().bytes, 3 * RingCache::footprint(message(19'998), "ann"));
  EXPECT_EQ(store.memory_use().trimmed, 0u) << "the per-room cap dropped them, not the budget";
}

}  // namespace
}  // namespace chat::server
