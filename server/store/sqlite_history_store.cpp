#include "server/store/sqlite_history_store.hpp"

namespace chat::server {

void SqliteHistoryStore::preload(StoredRoom room, std::uint64_t first_seq,
                                 std::vector<std::pair<v1::RoomMessage, std::string>>&& recent) {
  for (auto& [message, identity] : recent) ring_.push(room.name, std::move(message), std::move(identity));
  Known& known = known_[room.name];
  known.room = room;
  known.room.recent_sends.clear();
  known.first_seq = first_seq;
  loaded_.push_back(std::move(room));
}

std::optional<StoredRoom> SqliteHistoryStore::find(const std::string& room) {
  auto it = known_.find(room);
  if (it == known_.end()) return std::nullopt;
  return it->second.room;
}

std::uint64_t SqliteHistoryStore::create(const std::string& room) {
  Known& known = known_[room];
  known = Known{};
  known.room.name = room;
  known.room.incarnation = new_incarnation();
  ring_.drop(room);
  return known.room.incarnation;
}

bool SqliteHistoryStore::append(const std::string& room, v1::RoomMessage message, const std::string& identity) {
  Known& known = known_[room];
  known.room.last_seq = message.seq();
  if (known.first_seq == 0) known.first_seq = message.seq();
  store_.send(store_mail::Append{shard_, room, known.room.incarnation, message, identity});
  known.pending.emplace_back(std::move(message), identity);
  return false;
}

void SqliteHistoryStore::on_durable(const std::string& room, std::uint64_t seq) {
  auto it = known_.find(room);
  if (it == known_.end()) return;
  auto& pending = it->second.pending;
  while (!pending.empty() && pending.front().first.seq() <= seq) {
    ring_.push(room, std::move(pending.front().first), std::move(pending.front().second));
    pending.pop_front();
  }
}

void SqliteHistoryStore::set_topic(const std::string& room, const std::string& topic, const std::string& set_by) {
  Known& known = known_[room];
  known.room.topic = topic;
  known.room.topic_set_by = set_by;
  store_.send(store_mail::RoomRecord{known.room});
}

void SqliteHistoryStore::set_settings(const std::string& room, const std::string& settings) {
  Known& known = known_[room];
  known.room.settings = settings;
  store_.send(store_mail::RoomRecord{known.room});
}

std::uint64_t SqliteHistoryStore::first_seq(const std::string& room) const {
  auto it = known_.find(room);
  return it == known_.end() ? 0 : it->second.first_seq;
}

void SqliteHistoryStore::on_retained(const std::string& room, std::uint64_t first_seq) {
  auto it = known_.find(room);
  if (it != known_.end() && first_seq > it->second.first_seq) it->second.first_seq = first_seq;
}

bool SqliteHistoryStore::read(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader,
                              MessageList& out) const {
  const std::uint64_t cached = ring_.first(room);
  if (cached == 0 || lo < cached) return false;
  return ring_.read(room, lo, hi, reader, out);
}

void SqliteHistoryStore::read_later(const std::string& room, std::uint64_t lo, std::uint64_t hi,
                                    const std::string& reader, Fill fill, v1::ServerFrame reply, SessionId session) {
  store_.send(store_mail::Read{room, lo, hi, reader, fill, std::move(reply), session});
}

void SqliteHistoryStore::evict(const std::string& room) {
  ring_.drop(room);
  auto it = known_.find(room);
  // A room that never stored a message, a topic or settings is not in the
  // database: forget it here too, or churn over fresh names would grow this map.
  if (it != known_.end() && !it->second.room.worth_keeping()) known_.erase(it);
}

}  // namespace chat::server
