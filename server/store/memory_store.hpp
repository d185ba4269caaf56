#pragma once
// The in-memory store: each room keeps its newest `history_per_room`
// messages in a ring; nothing survives a restart, so the epoch is random per
// start and incarnations count from 1.
// Thread safety: MemoryStore as Store; each MemoryHistoryStore is confined
// to its shard's reactor.

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "server/store/history_store.hpp"

namespace chat::server {

class MemoryHistoryStore final : public HistoryStore {
 public:
  explicit MemoryHistoryStore(std::size_t history_per_room) : capacity_(history_per_room) {}

  std::vector<StoredRoom> load() override { return {}; }
  std::uint64_t create(const std::string& room) override;
  void append(const std::string& room, v1::RoomMessage message) override;
  void set_topic(const std::string&, const std::string&, const std::string&) override {}
  std::uint64_t first_seq(const std::string& room) const override;
  void read(const std::string& room, std::uint64_t lo, std::uint64_t hi, MessageList& out) const override;
  void drop(const std::string& room) override { rooms_.erase(room); }

 private:
  // Messages first .. first + ring.size() - 1, oldest first.
  struct Ring {
    std::uint64_t first = 0;
    std::deque<v1::RoomMessage> ring;
  };
  const std::size_t capacity_;
  std::unordered_map<std::string, Ring> rooms_;
  std::uint64_t next_incarnation_ = 1;
};

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(std::size_t history_per_room);
  std::uint64_t epoch() const override { return epoch_; }
  std::unique_ptr<HistoryStore> open_shard(std::uint32_t) override {
    return std::make_unique<MemoryHistoryStore>(history_per_room_);
  }

 private:
  std::size_t history_per_room_;
  std::uint64_t epoch_;
};

}  // namespace chat::server
