#pragma once
// The storage seam behind a room shard: room records and their messages.
//
//   Store (one per server): the epoch, and one HistoryStore per room shard
//   HistoryStore (one per shard): load, find, create, append, read, topic, evict
//
// Two implementations: memory_store.hpp (nothing survives a restart) and
// sqlite_store.hpp (the default: a store actor on its own thread commits to
// SQLite, and a say is delivered only once it is durable).
// Thread safety: a Store is built and started by the server's controlling
// thread; each HistoryStore is confined to its shard's reactor thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat/v1/chat.pb.h"
#include "common/mailbox.hpp"
#include "server/chat/messages.hpp"
#include "server/ops/metrics.hpp"

namespace chat::server {

// A say remembered for exactly-once: (identity, client_msg_id) -> seq.
struct RecentSend {
  std::string identity;
  std::uint64_t client_msg_id = 0;
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
};

// A room as the store keeps it between starts.
struct StoredRoom {
  std::string name;
  std::uint64_t incarnation = 0;
  std::string topic;
  std::string topic_set_by;
  std::uint64_t last_seq = 0;
  std::vector<RecentSend> recent_sends = {};  // the last 10 minutes' (loaded at start)
  // Its keepers and modes (issue 13): a v1::StoredRoomSettings, encoded;
  // empty for none.
  std::string settings = {};
  // Whether the room holds anything to keep: a room without is not stored.
  bool worth_keeping() const { return last_seq != 0 || !topic.empty() || !settings.empty(); }
};

using MessageList = google::protobuf::RepeatedPtrField<v1::RoomMessage>;

// Cuts `page` to at most `max_bytes` of encoded messages, never to none:
// drops the oldest when `keep_newest` (a replay, a before_seq page), else the
// newest (an after_seq page). True when it dropped any.
inline bool trim_page(MessageList& page, std::size_t max_bytes, bool keep_newest) {
  const int n = page.size();
  std::size_t bytes = 0;
  int kept = 0;
  for (; kept < n; ++kept) {
    const v1::RoomMessage& m = page.Get(keep_newest ? n - 1 - kept : kept);
    const std::size_t size = m.ByteSizeLong() + 4;  // tag and length in the reply
    if (kept > 0 && bytes + size > max_bytes) break;
    bytes += size;
  }
  if (kept == n) return false;
  if (keep_newest) {
    page.DeleteSubrange(0, n - kept);
  } else {
    page.DeleteSubrange(kept, n - kept);
  }
  return true;
}

class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // The rooms this shard holds when it starts.
  virtual std::vector<StoredRoom> load() = 0;
  // A room stored earlier whose slot was given to another room since; it
  // comes back as it was when joined again. Never for the memory store.
  virtual std::optional<StoredRoom> find(const std::string& room) = 0;
  // A room is being created as `room` (or created again after it was
  // forgotten): returns its new incarnation.
  virtual std::uint64_t create(const std::string& room) = 0;
  // `message` has the room's next seq and its client_msg_id; `identity`
  // sent it. True when it is durable at once; false when a msg::Durable to
  // this reactor will say so.
  virtual bool append(const std::string& room, v1::RoomMessage message, const std::string& identity) = 0;
  // The answer to an append that returned false.
  virtual void on_durable(const std::string& room, std::uint64_t seq) = 0;
  virtual void set_topic(const std::string& room, const std::string& topic, const std::string& set_by) = 0;
  // `settings`: the room's v1::StoredRoomSettings, encoded (StoredRoom).
  virtual void set_settings(const std::string& room, const std::string& settings) = 0;
  // The oldest seq still stored for `room`; 0 if none is.
  virtual std::uint64_t first_seq(const std::string& room) const = 0;
  virtual void on_retained(const std::string& room, std::uint64_t first_seq) = 0;
  // Appends the durable messages lo <= seq <= hi to `out`, oldest first,
  // with client_msg_id kept only on `reader`'s own. False when part of the
  // range is not at hand here: read_later fetches it.
  virtual bool read(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader,
                    MessageList& out) const = 0;
  // Fills [lo, hi] into `reply` (its history, or its one message for an
  // own copy sent again) and sends it to `session`, later. A history page is
  // cut to max_reply_bytes (trim_page): kHistory, an after_seq page, keeps
  // the oldest; kHistoryNewest, a before_seq page, the newest.
  enum class Fill { kHistory, kHistoryNewest, kOwnCopy };
  virtual void read_later(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader,
                          Fill fill, v1::ServerFrame reply, SessionId session) = 0;
  // The room's slot is given to another room: forget it (memory) or keep
  // it on disk for find() (durable).
  virtual void evict(const std::string& room) = 0;
  // The messages this shard keeps in memory, against its part of
  // --history-memory: bytes held now, and how many were dropped to stay
  // within it.
  struct MemoryUse {
    std::size_t bytes = 0;
    std::uint64_t trimmed = 0;
  };
  virtual MemoryUse memory_use() const { return {}; }
};

class Store {
 public:
  using Inbox = common::Mailbox<Message>;
  virtual ~Store() = default;
  // Names this run of the server's history; a client that sees it change
  // knows every room's numbering started over.
  virtual std::uint64_t epoch() const = 0;
  // Shard `shard` of `shards`: the rooms with stable_hash(room) % shards == shard.
  virtual std::unique_ptr<HistoryStore> open_shard(std::uint32_t shard, std::uint32_t shards) = 0;
  // After every shard is open: where the store's answers go (one inbox per
  // reactor), and the store's own thread, if it has one.
  virtual void start(const std::vector<Inbox*>& reactors) = 0;
  // After the reactors have stopped: commits what is queued, then stops.
  virtual void stop() = 0;
  // Any thread: adds the store's counters.
  virtual void add_metrics(MetricsSnapshot&) const {}
};

}  // namespace chat::server
