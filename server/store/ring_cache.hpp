#pragma once
// The newest messages of each room, in memory: a ring of at most `capacity`
// per room, each message with the identity that sent it (so a reader is
// given client_msg_id on its own messages only). The memory store is this
// ring; the durable store keeps one in front of SQLite for the join replay
// and recent pages.
// Thread safety: reactor-confined, like the HistoryStore that holds it.

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "server/store/history_store.hpp"

namespace chat::server {

class RingCache {
 public:
  explicit RingCache(std::size_t capacity) : capacity_(capacity) {}

  void push(const std::string& room, v1::RoomMessage message, std::string identity);
  // The oldest seq held for `room`; 0 if none.
  std::uint64_t first(const std::string& room) const;
  // Appends what is held of [lo, hi]; true if that was all of it.
  bool read(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader,
            MessageList& out) const;
  void drop(const std::string& room) { rooms_.erase(room); }

 private:
  struct Entry {
    v1::RoomMessage message;
    std::string identity;
  };
  // Messages first .. first + ring.size() - 1, oldest first.
  struct Ring {
    std::uint64_t first = 0;
    std::deque<Entry> ring;
  };
  const std::size_t capacity_;
  std::unordered_map<std::string, Ring> rooms_;
};

}  // namespace chat::server
