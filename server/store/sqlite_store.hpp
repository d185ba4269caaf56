#pragma once
// The durable store (the default): one SQLite database in WAL mode in the
// data directory, owned by a store actor on its own thread. Room owners send
// it their appends through its inbox; it commits them in groups (one
// transaction per batch: whatever queued while the last commit ran, up to
// kMaxBatch) and answers each owner "durable up to seq N" per room, and only
// then do members get the message and its sender the ack. No reactor ever
// waits on SQLite.
//
//   reactor ──Append/Topic/Read──▶ store inbox ──▶ BEGIN … COMMIT ──▶ Durable ──▶ reactor
//
// With synchronous=NORMAL (the default) a commit survives a crash of the
// process (kill -9); with --fsync (synchronous=FULL) it also survives losing
// power. While writes fail (a full disk), the batch is kept and retried, and
// every reactor is told to refuse new says with STORE_UNAVAILABLE; reads go
// on.
// Thread safety: constructed, started and stopped by the server's
// controlling thread; open_shard() before start(); the shards it returns
// belong to their reactors; everything else runs on the store's thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/mailbox.hpp"
#include "server/app/config.hpp"
#include "server/store/history_store.hpp"
#include "server/store/sqlite_checkpointer.hpp"
#include "server/store/sqlite_db.hpp"

namespace chat::server {

namespace store_mail {
struct Append {
  std::uint32_t reactor = 0;
  std::string room;
  std::uint64_t incarnation = 0;
  v1::RoomMessage message;
  std::string identity;
};
// The room's record: its topic or settings changed. (Its messages are not
// in it; recent_sends is not written.)
struct RoomRecord {
  StoredRoom room;
};
struct Read {
  std::string room;
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  std::string reader;
  HistoryStore::Fill fill = HistoryStore::Fill::kHistory;
  v1::ServerFrame reply;
  SessionId session = 0;
};
struct Stop {};
}  // namespace store_mail
using StoreMail = std::variant<store_mail::Append, store_mail::RoomRecord, store_mail::Read, store_mail::Stop>;

// The store cannot be opened as asked: the message says what and what to do.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A random incarnation (53 bits) for a room created in the durable store.
std::uint64_t new_incarnation();

class SqliteStore final : public Store {
 public:
  using Mail = common::Mailbox<StoreMail>;

  // Locks the data directory, opens (or creates) the database, checks and
  // migrates it, and loads every room. Throws StoreError.
  explicit SqliteStore(const Config& config);
  ~SqliteStore() override;

  std::uint64_t epoch() const override { return epoch_; }
  // Where the database is (the account store opens it too).
  const std::string& database_path() const { return db_->path(); }
  std::unique_ptr<HistoryStore> open_shard(std::uint32_t shard, std::uint32_t shards) override;
  void start(const std::vector<Inbox*>& reactors) override;
  void stop() override;

  void add_metrics(MetricsSnapshot& out) const override;

  // Any thread: counters for /metrics.
  struct Counters {
    std::atomic<std::uint64_t> commits{0};
    std::atomic<std::uint64_t> committed_messages{0};
    std::atomic<std::uint64_t> commit_micros{0};
    std::atomic<std::uint64_t> errors{0};
  };
  const Counters& counters() const { return counters_; }
  std::size_t queue_depth() const { return mail_.size_approx(); }

 private:
  friend class SqliteHistoryStore;
  void load();
  void run();
  // One round: takes what is queued, commits the writes, answers the reads.
  bool round(std::vector<StoreMail>& batch);
  void commit(const std::vector<StoreMail>& writes);
  void answer(store_mail::Read& read);
  void tell_all(const Message& m);
  void retain();

  const Config& config_;
  int lock_fd_ = -1;
  std::unique_ptr<sqlite::Db> db_;
  std::unique_ptr<SqliteCheckpointer> checkpointer_;  // after db_: it hooks db_'s commits
  std::uint64_t epoch_ = 0;
  // Every stored room as loaded at start, until open_shard() hands it out.
  struct Loaded {
    StoredRoom room;
    std::uint64_t first_seq = 0;
    std::vector<std::pair<v1::RoomMessage, std::string>> recent;  // (message, identity), for the ring
  };
  std::vector<Loaded> loaded_;
  // Store thread: per room, its newest and oldest stored seq and its owner.
  std::unordered_map<std::string, std::uint64_t> last_seq_;
  std::unordered_map<std::string, std::uint64_t> first_seq_;
  std::unordered_map<std::string, std::uint32_t> owner_;
  std::chrono::steady_clock::time_point next_retention_{};

  Mail mail_;
  std::vector<std::unique_ptr<Inbox::Producer>> reactors_;
  std::thread thread_;
  bool healthy_ = true;
  Counters counters_;
};

}  // namespace chat::server
