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
  for (std::uint64_t seq = 1; seq <= 5; ++seq) store.append("#r", message(seq));
  store.append("#s", message(1));
  EXPECT_EQ(store.first_seq("#r"), 3u);
  MessageList out;
  store.read("#r", 1, 4, out);
  EXPECT_EQ(seqs(out), (std::vector<std::uint64_t>{3, 4}));
  out.Clear();
  store.read("#r", 5, 99, out);
  EXPECT_EQ(seqs(out), (std::vector<std::uint64_t>{5}));
  store.drop("#r");
  EXPECT_EQ(store.first_seq("#r"), 0u);
  EXPECT_EQ(store.first_seq("#s"), 1u);
}

TEST(MemoryStoreTest, ARoomCreatedAgainStartsEmptyWithANewIncarnation) {
  MemoryHistoryStore store(10);
  const auto first = store.create("#r");
  store.append("#r", message(1));
  const auto second = store.create("#r");
  EXPECT_NE(first, second);
  EXPECT_EQ(store.first_seq("#r"), 0u);
  EXPECT_TRUE(store.load().empty()) << "nothing outlives the process";
}

TEST(MemoryStoreTest, EachStartHasItsOwnEpoch) {
  EXPECT_NE(MemoryStore(10).epoch(), 0u);
  EXPECT_NE(MemoryStore(10).epoch(), MemoryStore(10).epoch());
}

}  // namespace
}  // namespace chat::server
