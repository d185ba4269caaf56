#pragma once
// The storage seam behind a room shard: room records and their messages.
//
//   Store (one per server): the epoch, and one HistoryStore per room shard
//   HistoryStore (one per shard): load at start, create, append, read, topic, drop
//
// In memory today (memory_store.hpp: history lost on restart, the epoch new
// each start); a durable store plugs in here without the shard changing.
// Thread safety: a Store is used by the server's controlling thread while
// the reactors are built; each HistoryStore is confined to its shard's
// reactor thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chat/v1/chat.pb.h"

namespace chat::server {

// A room as the store keeps it between starts.
struct StoredRoom {
  std::string name;
  std::uint64_t incarnation = 0;
  std::string topic;
  std::string topic_set_by;
  std::uint64_t last_seq = 0;
};

using MessageList = google::protobuf::RepeatedPtrField<v1::RoomMessage>;

class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // The rooms that exist when the shard starts.
  virtual std::vector<StoredRoom> load() = 0;
  // A room is being created as `room` (or created again after its slot was
  // reclaimed): returns its new incarnation.
  virtual std::uint64_t create(const std::string& room) = 0;
  // `message` carries the room's next seq; the store takes it.
  virtual void append(const std::string& room, v1::RoomMessage message) = 0;
  virtual void set_topic(const std::string& room, const std::string& topic, const std::string& set_by) = 0;
  // The oldest seq still stored for `room`; 0 if none is.
  virtual std::uint64_t first_seq(const std::string& room) const = 0;
  // Appends the stored messages with lo <= seq <= hi to `out`, oldest first.
  virtual void read(const std::string& room, std::uint64_t lo, std::uint64_t hi, MessageList& out) const = 0;
  // The room's slot was given to another room: forget it.
  virtual void drop(const std::string& room) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Names this run of the server's history; a client that sees it change
  // knows every room's numbering started over.
  virtual std::uint64_t epoch() const = 0;
  virtual std::unique_ptr<HistoryStore> open_shard(std::uint32_t shard) = 0;
};

}  // namespace chat::server
