#pragma once
// A room shard's view of the durable store, on the shard's reactor: appends
// and topics go to the store actor's inbox; the newest messages of each room
// are kept in a ring in front of SQLite (the join replay and recent pages
// come from it), and a message enters the ring when the store says it is
// durable. Older pages are read by the store actor and answered straight to
// the session's reactor.
// Thread safety: reactor-confined (its shard's reactor); it sends into the
// store's inbox through its own producer.

#include <deque>
#include <string>
#include <unordered_map>

#include "server/store/ring_cache.hpp"
#include "server/store/sqlite_store.hpp"

namespace chat::server {

class SqliteHistoryStore final : public HistoryStore {
 public:
  // ring_capacity: messages per room; ring_budget: bytes for all of them.
  SqliteHistoryStore(SqliteStore::Mail& mail, std::uint32_t shard, std::size_t ring_capacity,
                     std::size_t ring_budget)
      : store_(mail), shard_(shard), ring_(ring_capacity, ring_budget) {}

  // Before the reactor starts: a room as the store holds it.
  void preload(StoredRoom room, std::uint64_t first_seq,
               std::vector<std::pair<v1::RoomMessage, std::string>>&& recent);

  std::vector<StoredRoom> load() override { return std::exchange(loaded_, {}); }
  std::optional<StoredRoom> find(const std::string& room) override;
  std::uint64_t create(const std::string& room) override;
  bool append(const std::string& room, v1::RoomMessage message, const std::string& identity) override;
  void on_durable(const std::string& room, std::uint64_t seq) override;
  void set_topic(const std::string& room, const std::string& topic, const std::string& set_by) override;
  void set_settings(const std::string& room, const std::string& settings) override;
  std::uint64_t first_seq(const std::string& room) const override;
  void on_retained(const std::string& room, std::uint64_t first_seq) override;
  bool read(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader,
            MessageList& out) const override;
  void read_later(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader, Fill fill,
                  v1::ServerFrame reply, SessionId session) override;
  void evict(const std::string& room) override;
  MemoryUse memory_use() const override { return {ring_.bytes(), ring_.trimmed()}; }

 private:
  // What this shard knows of each stored room (all of them, loaded or not).
  struct Known {
    StoredRoom room;  // its recent_sends are not kept here
    std::uint64_t first_seq = 0;
    // Appended, not yet durable: (message, identity), oldest first.
    std::deque<std::pair<v1::RoomMessage, std::string>> pending;
  };

  SqliteStore::Mail::Producer store_;
  const std::uint32_t shard_;
  RingCache ring_;
  std::unordered_map<std::string, Known> known_;
  std::vector<StoredRoom> loaded_;
};

}  // namespace chat::server
