// SqliteStore's thread: group commits, answers, retention.
#include "server/store/sqlite_store.hpp"

#include <poll.h>

#include <spdlog/spdlog.h>

#include "common/overloaded.hpp"
#include "server/chat/router.hpp"
#include "server/store/sqlite_history_store.hpp"

namespace chat::server {

namespace {
constexpr std::size_t kMaxBatch = 4096;  // writes in one transaction at most
constexpr std::chrono::milliseconds kRetryAfter{500};
constexpr std::chrono::seconds kRetentionEvery{1};
}  // namespace

std::unique_ptr<HistoryStore> SqliteStore::open_shard(std::uint32_t shard, std::uint32_t shards) {
  auto history = std::make_unique<SqliteHistoryStore>(mail_, shard, config_.history_per_room,
                                                      config_.history_memory / shards);
  for (Loaded& room : loaded_) {
    if (Router::room_owner(room.room.name, shards) != shard) continue;
    owner_[room.room.name] = shard;
    first_seq_[room.room.name] = room.first_seq;
    history->preload(std::move(room.room), room.first_seq, std::move(room.recent));
  }
  return history;
}

void SqliteStore::start(const std::vector<Inbox*>& reactors) {
  loaded_.clear();
  for (Inbox* inbox : reactors) reactors_.push_back(std::make_unique<Inbox::Producer>(*inbox));
  checkpointer_->start();
  thread_ = std::thread([this] { run(); });
}

void SqliteStore::stop() {
  if (!thread_.joinable()) return;
  Mail::Producer(mail_).send(store_mail::Stop{});
  thread_.join();
  checkpointer_->stop();
}

void SqliteStore::run() {
  std::vector<StoreMail> batch;
  for (;;) {
    const std::size_t n = mail_.drain(kMaxBatch, [&](StoreMail&& m) { batch.push_back(std::move(m)); });
    if (n == 0 && batch.empty()) {
      if (mail_.arm()) {
        pollfd wake{mail_.wake_fd(), POLLIN, 0};
        ::poll(&wake, 1, static_cast<int>(std::chrono::milliseconds(kRetentionEvery).count()));
        mail_.clear_wake();
      }
      retain();
      continue;
    }
    if (!round(batch)) return;
    retain();
  }
}

// Commits the writes in `batch` and answers its reads; what could not be
// committed stays in `batch` for the next round. False once Stop was seen
// and everything is done.
bool SqliteStore::round(std::vector<StoreMail>& batch) {
  std::vector<StoreMail> writes;
  std::vector<store_mail::Read> reads;
  bool stopping = false;
  for (StoreMail& m : batch) {
    std::visit(common::Overloaded{[&](store_mail::Read& r) { reads.push_back(std::move(r)); },
                                  [&](store_mail::Stop&) { stopping = true; },
                                  [&](auto& w) { writes.emplace_back(std::move(w)); }},
               m);
  }
  batch.clear();
  if (!writes.empty()) {
    try {
      commit(writes);
      writes.clear();
      if (!healthy_) {
        healthy_ = true;
        spdlog::info("store: writes succeed again");
        tell_all(msg::StoreHealth{true, 0});
      }
    } catch (const sqlite::Error& e) {
      counters_.errors.fetch_add(1, std::memory_order_relaxed);
      try {
        db_->exec("ROLLBACK");
      } catch (const sqlite::Error&) {
      }
      if (healthy_) {
        healthy_ = false;
        spdlog::error("store: cannot write {}: {}; refusing new messages until writes succeed", db_->path(), e.what());
        tell_all(msg::StoreHealth{false, static_cast<std::uint32_t>(kRetryAfter.count())});
      }
    }
  }
  for (auto& r : reads) answer(r);
  if (!writes.empty()) {
    if (stopping) {
      spdlog::error("store: stopping with {} writes that could not be committed", writes.size());
      return false;
    }
    batch = std::move(writes);  // retried next round, ahead of what comes later
    std::this_thread::sleep_for(kRetryAfter);
  }
  return !stopping;
}

void SqliteStore::add_metrics(MetricsSnapshot& out) const {
  auto get = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  out.store_commits += get(counters_.commits);
  out.store_messages_committed += get(counters_.committed_messages);
  out.store_commit_micros += get(counters_.commit_micros);
  out.store_errors += get(counters_.errors) + checkpointer_->failures();
  out.store_checkpoints += checkpointer_->checkpoints();
  out.store_checkpoint_micros += checkpointer_->checkpoint_micros();
  out.store_checkpoint_catch_ups += checkpointer_->catch_ups();
  out.store_queue_depth += mail_.size_approx();
}

void SqliteStore::tell_all(const Message& m) {
  for (auto& r : reactors_) r->send(Message(m));
}

}  // namespace chat::server
