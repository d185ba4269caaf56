#pragma once
// The newest messages of each room, in memory: a ring of at most `capacity`
// per room, each message with the identity that sent it (so a reader is
// given client_msg_id on its own messages only). The memory store is this
// ring; the durable store keeps one in front of SQLite for the join replay
// and recent pages.
//
// All the rings of a shard share one byte budget (the shard's part of
// --history-memory). Past it, the oldest message the shard holds, whatever
// its room, is dropped first: with the durable store it is still read from
// SQLite; with the memory store it is gone. The shard's messages are kept
// in one queue in arrival order for that (`order_`); entries of a room
// dropped or trimmed since are skipped when they reach its front, and the
// queue is compacted when those make up more than half of it.
// Thread safety: reactor-confined, like the HistoryStore that holds it.

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/store/history_store.hpp"

namespace chat::server {

class RingCache {
 public:
  // budget_bytes: what this shard's rings may hold in all (0: no budget).
  explicit RingCache(std::size_t capacity, std::size_t budget_bytes = 0)
      : capacity_(capacity), budget_(budget_bytes) {}

  void push(const std::string& room, v1::RoomMessage message, std::string identity);
  // The oldest seq held for `room`; 0 if none.
  std::uint64_t first(const std::string& room) const;
  // Appends what is held of [lo, hi]; true if that was all of it.
  bool read(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader,
            MessageList& out) const;
  void drop(const std::string& room);

  // What the rings hold now, as counted against the budget.
  std::size_t bytes() const { return bytes_; }
  // Messages dropped, in all, to stay within the budget.
  std::uint64_t trimmed() const { return trimmed_; }
  // The bytes a message is counted as: its strings and a fixed overhead.
  static std::size_t footprint(const v1::RoomMessage& message, const std::string& identity);

 private:
  struct Entry {
    v1::RoomMessage message;
    std::string identity;
    std::size_t bytes = 0;
  };
  // Messages first .. first + ring.size() - 1, oldest first. A slot is
  // reused by another room once dropped; `life` tells the two apart.
  struct Ring {
    std::uint64_t first = 0;
    std::uint32_t life = 0;
    std::deque<Entry> ring;
  };
  // One message of the shard, in arrival order.
  struct Arrival {
    std::uint32_t slot = 0;
    std::uint32_t life = 0;
    std::uint64_t seq = 0;
  };

  Ring* find(const std::string& room);
  const Ring* find(const std::string& room) const;
  void pop_oldest(Ring& r);
  bool holds(const Arrival& a) const;
  void trim_to_budget();
  void compact();

  const std::size_t capacity_;
  const std::size_t budget_;
  std::unordered_map<std::string, std::uint32_t> slot_of_;
  std::vector<Ring> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::deque<Arrival> order_;
  std::size_t held_ = 0;  // messages in all the rings
  std::size_t bytes_ = 0;
  std::uint64_t trimmed_ = 0;
};

}  // namespace chat::server
