#pragma once
// Moves the SQLite write-ahead log back into the database file on a thread
// of its own, so that a store commit does not wait for the bulk of it.
//
// With SQLite's automatic checkpoint, the commit that pushes the WAL past
// 1000 pages copies it back into the database and syncs both files before
// it returns: on this project's test VM that took 8 to 44 ms every few
// seconds under a steady 1.4 MB/s of writes, and every message behind that
// commit waited with it (a bystander's p99 rose from 6 to 26 ms). Here the
// store's connection has no automatic checkpoint. Its WAL hook (run on the
// store's thread after each commit) mails this actor once the log passes
// kPages, and this actor runs a PASSIVE checkpoint, which takes no lock a
// writer needs, on a connection of its own.
//
// A PASSIVE checkpoint cannot restart the log while the store goes on
// appending to it: SQLite starts the WAL over only when every frame in it
// has been copied back. So once this actor has copied all but a few frames
// (kCatchUpPages), the store's next commit copies those few itself, and the
// write after it starts the log over. Should the copying fall far behind
// (kMostPages: this thread runs nicer than the reactors, and a saturated
// core can starve it), the store copies the rest itself once this actor's
// run ends, as SQLite would have: the WAL stays bounded whatever the load.
//
//   store commit ─wal hook─▶ pages ≥ kPages ─▶ checkpointer inbox ─▶ PASSIVE on its connection
//                            few left over  ─▶ PASSIVE on the store's connection (a short one)
//
// Durability is unchanged: a commit is in the WAL either way, and
// synchronous=NORMAL syncs the WAL at each checkpoint, wherever it runs.
// Thread safety: constructed, started and stopped by the store's
// controlling thread; on_commit() and the fields it alone uses belong to the
// store's thread; run() and checkpoint() to the checkpointer's own thread,
// which alone uses db_ (opened by the constructor). They share only atomics.

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "common/mailbox.hpp"
#include "server/store/sqlite_db.hpp"

namespace chat::server {

class SqliteCheckpointer {
 public:
  // WAL pages (4 KiB each) after which a checkpoint is asked for: SQLite's
  // own default threshold.
  static constexpr int kPages = 1000;
  // Frames the store copies itself to finish a checkpoint (1 MiB at most).
  static constexpr int kCatchUpPages = 256;
  // The WAL's bound: past it the store checkpoints in full itself.
  static constexpr int kMostPages = 8 * kPages;

  // Opens a second connection to the database at `path`, and installs the
  // WAL hook on `writer` (the store's connection), which turns off the
  // writer's automatic checkpoint. Throws sqlite::Error.
  SqliteCheckpointer(const std::string& path, sqlite::Db& writer);
  ~SqliteCheckpointer();
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

  void start();
  // Waits for a checkpoint in progress to end; none is started after.
  void stop();

  // Any thread: counters for /metrics.
  std::uint64_t checkpoints() const { return checkpoints_.load(std::memory_order_relaxed); }
  std::uint64_t checkpoint_micros() const { return micros_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  std::uint64_t catch_ups() const { return catch_ups_.load(std::memory_order_relaxed); }

 private:
  struct Mail {
    bool stop = false;
    std::uint32_t generation = 0;  // of the WAL the store asks about
  };
  static int on_commit(void* self, sqlite3* db, const char* name, int pages);
  void after_commit(int pages);
  void finish_here(int pages);
  void run();
  void checkpoint(std::uint32_t generation);

  sqlite::Db db_;
  int db_fd_ = -1;  // the database file again, for fdatasync
  sqlite::Db& writer_;
  common::Mailbox<Mail> mail_;
  common::Mailbox<Mail>::Producer from_store_{mail_};  // store thread only
  // Store thread: the WAL's size after the last commit, and how many times
  // it has started over (its size went down), so that what this actor
  // reports about an older log is not taken for the current one.
  int last_pages_ = 0;
  std::uint32_t generation_ = 0;
  // Set by the store thread when it mails a checkpoint, cleared by this
  // thread when it has run one: at most one request is ever in flight.
  std::atomic<bool> asked_{false};
  // This thread's last checkpoint: generation << 32 | frames copied back.
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> catch_ups_{0};
  std::atomic<std::uint64_t> checkpoints_{0};
  std::atomic<std::uint64_t> micros_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::thread thread_;
};

}  // namespace chat::server
