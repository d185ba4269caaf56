#include "server/store/sqlite_checkpointer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <spdlog/spdlog.h>

#include "server/runtime/background_thread.hpp"

namespace chat::server {

SqliteCheckpointer::SqliteCheckpointer(const std::string& path, sqlite::Db& writer)
    : db_(path), writer_(writer) {
  // A connection learns that the database is in WAL mode from its first
  // read; until then a checkpoint on it does nothing (and says -1 frames).
  db_.user_version();
  // SQLite syncs the database file only when a checkpoint reaches the end
  // of the log, which under steady writes is the store's short catch-up:
  // syncing here what this thread copied leaves that one little to flush.
  db_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  // Replaces the writer's automatic checkpoint (SQLite implements that as
  // a WAL hook of its own).
  sqlite3_wal_hook(writer_.handle(), &SqliteCheckpointer::on_commit, this);
}

SqliteCheckpointer::~SqliteCheckpointer() {
  stop();
  sqlite3_wal_hook(writer_.handle(), nullptr, nullptr);
  if (db_fd_ >= 0) ::close(db_fd_);
}

void SqliteCheckpointer::start() {
  thread_ = std::thread([this] {
    run_as_background_thread("store checkpointer");
    run();
  });
}

void SqliteCheckpointer::stop() {
  if (!thread_.joinable()) return;
  common::Mailbox<Mail>::Producer(mail_).send(Mail{.stop = true});
  thread_.join();
}

// The store's thread, at the end of each commit: `pages` is the WAL's size.
int SqliteCheckpointer::on_commit(void* self, sqlite3* /*db*/, const char* /*name*/, int pages) {
  static_cast<SqliteCheckpointer*>(self)->after_commit(pages);
  return SQLITE_OK;
}

void SqliteCheckpointer::after_commit(int pages) {
  if (pages < last_pages_) ++generation_;  // the log started over
  last_pages_ = pages;
  if (pages < kPages) return;
  // Past the bound the store copies the rest itself, whatever the load;
  // while this actor's checkpoint runs, SQLite says BUSY and the next
  // commit tries again.
  if (pages >= kMostPages) return finish_here(pages);
  if (asked_.load(std::memory_order_acquire)) return;
  const std::uint64_t done = done_.load(std::memory_order_acquire);
  const bool current = (done >> 32) == generation_;
  const int copied = current ? static_cast<int>(done & 0xffffffffu) : 0;
  if (copied > 0 && pages - copied <= kCatchUpPages) return finish_here(pages);
  asked_.store(true, std::memory_order_release);
  from_store_.send(Mail{.stop = false, .generation = generation_});
}

// A PASSIVE checkpoint on the store's own connection, between two commits:
// the few frames left over, or, past kMostPages, all of them.
void SqliteCheckpointer::finish_here(int pages) {
  const int rc = sqlite3_wal_checkpoint_v2(writer_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc == SQLITE_OK) catch_ups_.fetch_add(1, std::memory_order_relaxed);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY && failures_.fetch_add(1, std::memory_order_relaxed) % 100 == 0) {
    spdlog::warn("store: checkpoint of {} ({} WAL pages) failed: {}", writer_.path(), pages,
                 sqlite3_errmsg(writer_.handle()));
  }
}

void SqliteCheckpointer::run() {
  for (;;) {
    bool stop = false;
    bool wanted = false;
    std::uint32_t generation = 0;
    mail_.drain(16, [&](Mail&& m) {
      stop = stop || m.stop;
      if (!m.stop) {
        wanted = true;
        generation = m.generation;
      }
    });
    if (stop) return;
    if (wanted) {
      checkpoint(generation);
      continue;
    }
    if (mail_.arm()) {
      pollfd wake{mail_.wake_fd(), POLLIN, 0};
      ::poll(&wake, 1, -1);
      mail_.clear_wake();
    }
  }
}

void SqliteCheckpointer::checkpoint(std::uint32_t generation) {
  const auto started = std::chrono::steady_clock::now();
  int wal_pages = 0;
  int moved = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &moved);
  if (db_fd_ >= 0 && moved > 0) ::fdatasync(db_fd_);  // before the store may catch up
  // Published before the next commit may ask again: a commit that finds
  // few frames left copies them itself, one that finds many asks again.
  done_.store(std::uint64_t{generation} << 32 | static_cast<std::uint32_t>(std::max(moved, 0)),
              std::memory_order_release);
  asked_.store(false, std::memory_order_release);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    // Retried at the next long commit; said once in a hundred times.
    if (failures_.fetch_add(1, std::memory_order_relaxed) % 100 != 0) return;
    spdlog::warn("store: checkpoint of {} failed: {}", db_.path(), sqlite3_errmsg(db_.handle()));
    return;
  }
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
  micros_.fetch_add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                   std::chrono::steady_clock::now() - started)
                                                   .count()),
                    std::memory_order_relaxed);
}

}  // namespace chat::server
