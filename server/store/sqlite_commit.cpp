// SqliteStore on its thread: one transaction per batch, the answers to
// reads, and retention.
#include <spdlog/spdlog.h>

#include "server/chat/frames.hpp"
#include "server/store/sqlite_store.hpp"

namespace chat::server {

namespace {
std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }
std::uint64_t u64(std::int64_t v) { return static_cast<std::uint64_t>(v); }
}  // namespace

void SqliteStore::commit(const std::vector<StoreMail>& writes) {
  const auto started = std::chrono::steady_clock::now();
  struct Touched {
    std::uint32_t reactor = 0;
    std::uint64_t incarnation = 0;
    std::uint64_t seq = 0;
  };
  std::unordered_map<std::string, Touched> touched;
  std::uint64_t messages = 0;
  db_->exec("BEGIN IMMEDIATE");
  auto insert = db_->prepare(
      "INSERT INTO messages (room, seq, ts_ms, sender, identity, text, client_msg_id)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  auto record = db_->prepare(
      "INSERT INTO rooms (name, incarnation, topic, topic_set_by, last_seq, settings)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
      " ON CONFLICT (name) DO UPDATE SET incarnation = ?2, topic = ?3, topic_set_by = ?4,"
      " last_seq = max(last_seq, ?5), settings = ?6");
  for (const StoreMail& w : writes) {
    if (const auto* a = std::get_if<store_mail::Append>(&w)) {
      const v1::RoomMessage& m = a->message;
      insert.bind(1, a->room).bind(2, i64(m.seq())).bind(3, m.timestamp_ms()).bind(4, m.sender());
      insert.bind(5, a->identity).bind(6, m.text()).bind(7, i64(m.client_msg_id())).run();
      touched[a->room] = Touched{a->reactor, a->incarnation, m.seq()};
      ++messages;
    } else if (const auto* r = std::get_if<store_mail::RoomRecord>(&w)) {
      const StoredRoom& room = r->room;
      record.bind(1, room.name).bind(2, i64(room.incarnation)).bind(3, room.topic).bind(4, room.topic_set_by);
      record.bind(5, i64(room.last_seq)).bind_blob(6, room.settings).run();
    }
  }
  auto last = db_->prepare(
      "INSERT INTO rooms (name, incarnation, last_seq) VALUES (?1, ?2, ?3)"
      " ON CONFLICT (name) DO UPDATE SET incarnation = ?2, last_seq = max(last_seq, ?3)");
  for (const auto& [room, t] : touched) last.bind(1, room).bind(2, i64(t.incarnation)).bind(3, i64(t.seq)).run();
  db_->exec("COMMIT");

  for (const auto& [room, t] : touched) {
    last_seq_[room] = t.seq;
    owner_[room] = t.reactor;
    if (first_seq_[room] == 0) first_seq_[room] = 1;
    reactors_[t.reactor]->send(msg::Durable{room, t.seq});
  }
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  counters_.commits.fetch_add(1, std::memory_order_relaxed);
  counters_.committed_messages.fetch_add(messages, std::memory_order_relaxed);
  counters_.commit_micros.fetch_add(static_cast<std::uint64_t>(micros.count()), std::memory_order_relaxed);
}

void SqliteStore::answer(store_mail::Read& r) {
  try {
    auto select = db_->prepare(
        "SELECT seq, ts_ms, sender, identity, text, client_msg_id FROM messages"
        " WHERE room = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq");
    select.bind(1, r.room).bind(2, i64(r.lo)).bind(3, i64(r.hi));
    while (select.step()) {
      v1::RoomMessage* m = r.fill != HistoryStore::Fill::kOwnCopy ? r.reply.mutable_history()->add_messages()
                                                                  : r.reply.mutable_message();
      m->set_room(r.room);
      m->set_seq(u64(select.int64(0)));
      m->set_timestamp_ms(select.int64(1));
      m->set_sender(select.text(2));
      m->set_text(select.text(4));
      if (select.text(3) == r.reader) {
        m->set_client_msg_id(u64(select.int64(5)));
      } else {
        m->clear_client_msg_id();
      }
    }
  } catch (const sqlite::Error& e) {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("store: reading {} of {}: {}", r.lo, r.room, e.what());
  }
  const bool page = r.fill != HistoryStore::Fill::kOwnCopy;
  if (page && trim_page(*r.reply.mutable_history()->mutable_messages(), config_.max_reply_bytes,
                        r.fill == HistoryStore::Fill::kHistoryNewest)) {
    r.reply.mutable_history()->set_truncated(true);
  }
  reactors_[reactor_of(r.session)]->send(
      msg::ToSession{r.session, common::make_shared_frame(r.reply), v1::Error::CODE_UNSPECIFIED, page});
}

void SqliteStore::retain() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_retention_) return;
  next_retention_ = now + std::chrono::seconds(1);
  std::vector<std::pair<std::string, std::uint64_t>> cut;  // room, new first seq
  try {
    if (config_.retain_messages > 0) {
      for (const auto& [room, last] : last_seq_) {
        const std::uint64_t first = first_seq_[room];
        if (first == 0 || last - first + 1 <= config_.retain_messages) continue;
        cut.emplace_back(room, last - config_.retain_messages + 1);
      }
    }
    if (config_.retain_days > 0) {
      const std::int64_t cutoff = now_ms() - static_cast<std::int64_t>(config_.retain_days) * 86'400'000;
      auto old = db_->prepare("SELECT room, MAX(seq) FROM messages WHERE ts_ms < ?1 GROUP BY room");
      old.bind(1, cutoff);
      while (old.step()) cut.emplace_back(old.text(0), u64(old.int64(1)) + 1);
    }
    if (cut.empty()) return;
    auto erase = db_->prepare("DELETE FROM messages WHERE room = ?1 AND seq < ?2");
    db_->exec("BEGIN IMMEDIATE");
    for (const auto& [room, first] : cut) erase.bind(1, room).bind(2, i64(first)).run();
    db_->exec("COMMIT");
  } catch (const sqlite::Error& e) {
    try {
      db_->exec("ROLLBACK");
    } catch (const sqlite::Error&) {
    }
    spdlog::warn("store: retention: {}", e.what());
    return;
  }
  for (const auto& [room, first] : cut) {
    if (first <= first_seq_[room]) continue;
    first_seq_[room] = first;
    if (auto it = owner_.find(room); it != owner_.end()) reactors_[it->second]->send(msg::Retained{room, first});
  }
}

}  // namespace chat::server
