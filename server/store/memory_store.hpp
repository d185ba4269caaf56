#pragma once
// The in-memory store (--store memory): each room keeps its newest
// `history_per_room` messages in a ring, and nothing survives a restart, so
// the epoch is random per start and incarnations count from 1. A message is
// durable as soon as it is appended.
// Thread safety: MemoryStore as Store; each MemoryHistoryStore is confined
// to its shard's reactor.

#include <cstdint>
#include <string>

#include "server/store/history_store.hpp"
#include "server/store/ring_cache.hpp"

namespace chat::server {

class MemoryHistoryStore final : public HistoryStore {
 public:
  // history_per_room: messages per room; budget: bytes for all of them.
  explicit MemoryHistoryStore(std::size_t history_per_room, std::size_t budget = 0)
      : ring_(history_per_room, budget) {}

  std::vector<StoredRoom> load() override { return {}; }
  std::optional<StoredRoom> find(const std::string&) override { return std::nullopt; }
  std::uint64_t create(const std::string& room) override;
  bool append(const std::string& room, v1::RoomMessage message, const std::string& identity) override;
  void on_durable(const std::string&, std::uint64_t) override {}
  void set_topic(const std::string&, const std::string&, const std::string&) override {}
  void set_settings(const std::string&, const std::string&) override {}
  std::uint64_t first_seq(const std::string& room) const override { return ring_.first(room); }
  void on_retained(const std::string&, std::uint64_t) override {}
  bool read(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader,
            MessageList& out) const override;
  // Never needed: everything stored is in the ring, so read() of a range
  // at or after first_seq() never comes back false.
  void read_later(const std::string&, std::uint64_t, std::uint64_t, const std::string&, Fill, v1::ServerFrame,
                  SessionId) override {}
  void evict(const std::string& room) override { ring_.drop(room); }
  MemoryUse memory_use() const override { return {ring_.bytes(), ring_.trimmed()}; }

 private:
  RingCache ring_;
  std::uint64_t next_incarnation_ = 1;
};

class MemoryStore final : public Store {
 public:
  // history_memory: bytes of messages for all shards together.
  MemoryStore(std::size_t history_per_room, std::size_t history_memory);
  std::uint64_t epoch() const override { return epoch_; }
  std::unique_ptr<HistoryStore> open_shard(std::uint32_t, std::uint32_t shards) override {
    return std::make_unique<MemoryHistoryStore>(history_per_room_, history_memory_ / shards);
  }
  void start(const std::vector<Inbox*>&) override {}
  void stop() override {}

 private:
  std::size_t history_per_room_;
  std::size_t history_memory_;
  std::uint64_t epoch_;
};

}  // namespace chat::server
