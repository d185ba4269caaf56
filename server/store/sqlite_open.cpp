// SqliteStore's start: lock the data directory, open and check the
// database, migrate its schema, read the epoch and every room.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "common/random_id.hpp"
#include "server/store/sqlite_store.hpp"

namespace chat::server {

namespace {

// Each entry brings the schema from version i to i + 1 (PRAGMA user_version).
// Never edit one that has shipped: add the next.
const char* const kMigrations[] = {
    // 0 -> 1: rooms and their messages, and the server's epoch.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE rooms (name TEXT PRIMARY KEY, incarnation INTEGER NOT NULL,"
    " topic TEXT NOT NULL DEFAULT '', topic_set_by TEXT NOT NULL DEFAULT '',"
    " last_seq INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE messages (room TEXT NOT NULL, seq INTEGER NOT NULL, ts_ms INTEGER NOT NULL,"
    " sender TEXT NOT NULL, identity TEXT NOT NULL, text TEXT NOT NULL,"
    " client_msg_id INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (room, seq)) WITHOUT ROWID;",
    // 1 -> 2: messages by time, for --retain-days and the exactly-once window.
    "CREATE INDEX messages_by_time ON messages (ts_ms);",
    // 2 -> 3: accounts (issue 13), by fold_case(name); the account service
    // reads and writes them through a connection of its own.
    "CREATE TABLE accounts (name_key TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL) WITHOUT ROWID;",
    // 3 -> 4: each room's keepers and modes (issue 13), a StoredRoomSettings.
    "ALTER TABLE rooms ADD COLUMN settings BLOB NOT NULL DEFAULT x'';",
    // 4 -> 5: direct messages kept for an offline account (issue 13),
    // handed out in id order; AUTOINCREMENT, so an id is never reused and a
    // message put back keeps its place.
    "CREATE TABLE stored_directs (id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL,"
    " sender TEXT NOT NULL, text TEXT NOT NULL, ts_ms INTEGER NOT NULL);"
    "CREATE INDEX stored_directs_by_account ON stored_directs (account, id);",
};
// How long a commit waits while the account service's connection writes.
constexpr int kBusyTimeoutMs = 5000;
constexpr std::int64_t kSchemaVersion = std::size(kMigrations);
constexpr std::int64_t kDedupeWindowMs = 10 * 60 * 1000;

std::int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int lock_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw StoreError("cannot create the data directory " + dir.string() + ": " + ec.message());
  const std::string path = (dir / "chatd.lock").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw StoreError("cannot open " + path + ": " + std::error_code(errno, std::generic_category()).message());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw StoreError("another chatd is using the data directory " + dir.string() +
                     "; stop it, or give this one its own --data-dir");
  }
  return fd;
}

void migrate(sqlite::Db& db) {
  std::int64_t version = db.user_version();
  if (version > kSchemaVersion) {
    throw StoreError(db.path() + " has schema version " + std::to_string(version) + ", newer than this chatd's " +
                     std::to_string(kSchemaVersion) + ": run the newer chatd that wrote it, or restore a backup");
  }
  for (; version < kSchemaVersion; ++version) {
    db.exec("BEGIN IMMEDIATE");
    db.exec(kMigrations[version]);
    db.exec("PRAGMA user_version = " + std::to_string(version + 1));
    db.exec("COMMIT");
  }
}

std::uint64_t read_epoch(sqlite::Db& db) {
  auto get = db.prepare("SELECT value FROM meta WHERE key = 'epoch'");
  if (get.step()) return static_cast<std::uint64_t>(get.int64(0));
  const std::uint64_t epoch = common::random_id();
  db.prepare("INSERT INTO meta (key, value) VALUES ('epoch', ?1)").bind(1, static_cast<std::int64_t>(epoch)).run();
  return epoch;
}

}  // namespace

std::uint64_t new_incarnation() { return common::random_id(); }

SqliteStore::SqliteStore(const Config& config) : config_(config) {
  const std::filesystem::path dir(config.data_dir);
  lock_fd_ = lock_directory(dir);
  const std::string path = (dir / "chat.db").string();
  try {
    db_ = std::make_unique<sqlite::Db>(path);
    db_->user_version();  // the first read: a file that is not a database fails here
    sqlite3_busy_timeout(db_->handle(), kBusyTimeoutMs);
    db_->exec("PRAGMA journal_mode = WAL");
    db_->exec(config.fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    migrate(*db_);
    epoch_ = read_epoch(*db_);
    load();
    checkpointer_ = std::make_unique<SqliteCheckpointer>(path, *db_);
  } catch (const sqlite::Error& e) {
    ::close(lock_fd_);
    throw StoreError(path + " cannot be used: " + e.what() +
                     ". If it is damaged, restore it from a backup, or move it away to start with an empty store");
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
}

void SqliteStore::load() {
  std::unordered_map<std::string, std::size_t> at;
  auto rooms = db_->prepare("SELECT name, incarnation, topic, topic_set_by, last_seq, settings FROM rooms");
  while (rooms.step()) {
    Loaded room;
    room.room.name = rooms.text(0);
    room.room.incarnation = static_cast<std::uint64_t>(rooms.int64(1));
    room.room.topic = rooms.text(2);
    room.room.topic_set_by = rooms.text(3);
    room.room.last_seq = static_cast<std::uint64_t>(rooms.int64(4));
    room.room.settings = rooms.blob(5);
    last_seq_[room.room.name] = room.room.last_seq;
    at[room.room.name] = loaded_.size();
    loaded_.push_back(std::move(room));
  }
  auto firsts = db_->prepare("SELECT room, MIN(seq) FROM messages GROUP BY room");
  while (firsts.step()) {
    if (auto it = at.find(firsts.text(0)); it != at.end()) {
      loaded_[it->second].first_seq = static_cast<std::uint64_t>(firsts.int64(1));
    }
  }
  auto sends = db_->prepare(
      "SELECT room, identity, client_msg_id, seq, ts_ms FROM messages WHERE ts_ms >= ?1 AND client_msg_id != 0");
  sends.bind(1, wall_ms() - kDedupeWindowMs);
  while (sends.step()) {
    if (auto it = at.find(sends.text(0)); it != at.end()) {
      loaded_[it->second].room.recent_sends.push_back(
          RecentSend{sends.text(1), static_cast<std::uint64_t>(sends.int64(2)),
                     static_cast<std::uint64_t>(sends.int64(3)), sends.int64(4)});
    }
  }
  auto recent = db_->prepare(
      "SELECT seq, ts_ms, sender, identity, text, client_msg_id FROM messages"
      " WHERE room = ?1 AND seq > ?2 ORDER BY seq");
  for (Loaded& room : loaded_) {
    const std::uint64_t from = room.room.last_seq > config_.replay_on_join ? room.room.last_seq - config_.replay_on_join : 0;
    recent.bind(1, room.room.name).bind(2, static_cast<std::int64_t>(from));
    while (recent.step()) {
      v1::RoomMessage m;
      m.set_room(room.room.name);
      m.set_seq(static_cast<std::uint64_t>(recent.int64(0)));
      m.set_timestamp_ms(recent.int64(1));
      m.set_sender(recent.text(2));
      m.set_text(recent.text(4));
      m.set_client_msg_id(static_cast<std::uint64_t>(recent.int64(5)));
      room.recent.emplace_back(std::move(m), recent.text(3));
    }
    recent.reset();
  }
}

SqliteStore::~SqliteStore() {
  stop();
  checkpointer_.reset();
  db_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace chat::server
