#include "server/store/sqlite_accounts.hpp"

#include <spdlog/spdlog.h>

#include "common/names.hpp"

namespace chat::server {

namespace {
// How long a write waits for the store actor's commit to finish.
constexpr int kBusyTimeoutMs = 5000;
}  // namespace

SqliteAccountStore::SqliteAccountStore(const std::string& path, bool fsync) : db_(path) {
  sqlite3_busy_timeout(db_.handle(), kBusyTimeoutMs);
  db_.exec(fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  find_ = db_.prepare("SELECT name, hash, created_ms FROM accounts WHERE name_key = ?1");
  insert_ = db_.prepare("INSERT INTO accounts (name_key, name, hash, created_ms) VALUES (?1, ?2, ?3, ?4)");
  set_hash_ = db_.prepare("UPDATE accounts SET hash = ?2 WHERE name_key = ?1");
  erase_ = db_.prepare("DELETE FROM accounts WHERE name_key = ?1");
  erase_directs_ = db_.prepare("DELETE FROM stored_directs WHERE account = ?1");
  count_directs_ = db_.prepare("SELECT COUNT(*) FROM stored_directs WHERE account = ?1");
  add_direct_ = db_.prepare("INSERT INTO stored_directs (account, sender, text, ts_ms) VALUES (?1, ?2, ?3, ?4)");
  take_directs_ = db_.prepare("DELETE FROM stored_directs WHERE account = ?1 AND id <= ?2");
  list_directs_ = db_.prepare("SELECT id, sender, text, ts_ms FROM stored_directs WHERE account = ?1 ORDER BY id");
  restore_direct_ = db_.prepare(
      "INSERT OR IGNORE INTO stored_directs (id, account, sender, text, ts_ms)"
      " SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM accounts WHERE name_key = ?2)");
}

std::vector<std::string> SqliteAccountStore::names() {
  std::vector<std::string> out;
  auto all = db_.prepare("SELECT name FROM accounts");
  while (all.step()) out.push_back(all.text(0));
  return out;
}

std::optional<AccountRecord> SqliteAccountStore::find(const std::string& key) {
  std::optional<AccountRecord> out;
  try {
    find_.bind(1, key);
    if (find_.step()) out = AccountRecord{find_.text(0), find_.text(1), find_.int64(2)};
    find_.reset();
  } catch (const sqlite::Error& e) {
    find_.reset();
    spdlog::error("accounts: cannot read {}: {}", key, e.what());
    throw;
  }
  return out;
}

bool SqliteAccountStore::write(sqlite::Statement& statement, const char* what) {
  try {
    statement.run();
    return true;
  } catch (const sqlite::Error& e) {
    statement.reset();
    spdlog::error("accounts: cannot {}: {}", what, e.what());
    return false;
  }
}

bool SqliteAccountStore::insert(const AccountRecord& account) {
  insert_.bind(1, common::fold_case(account.name)).bind(2, account.name).bind(3, account.hash).bind(4, account.created_ms);
  return write(insert_, "register an account");
}

bool SqliteAccountStore::set_hash(const std::string& key, const std::string& hash) {
  set_hash_.bind(1, key).bind(2, hash);
  return write(set_hash_, "store a password");
}

bool SqliteAccountStore::erase(const std::string& key) {
  erase_.bind(1, key);
  if (!write(erase_, "drop an account")) return false;
  erase_directs_.bind(1, key);
  write(erase_directs_, "discard a dropped account's direct messages");  // unreachable without the account
  return true;
}

std::size_t SqliteAccountStore::count_directs(const std::string& key) {
  try {
    count_directs_.bind(1, key);
    const std::size_t n = count_directs_.step() ? static_cast<std::size_t>(count_directs_.int64(0)) : 0;
    count_directs_.reset();
    return n;
  } catch (const sqlite::Error& e) {
    count_directs_.reset();
    spdlog::error("accounts: cannot count the direct messages kept for {}: {}", key, e.what());
    throw;
  }
}

bool SqliteAccountStore::add_direct(const std::string& key, const msg::StoredDirect& direct) {
  add_direct_.bind(1, key).bind(2, direct.sender).bind(3, direct.text).bind(4, direct.timestamp_ms);
  return write(add_direct_, "keep a direct message");
}

std::vector<msg::StoredDirect> SqliteAccountStore::take_directs(const std::string& key) {
  std::vector<msg::StoredDirect> out;
  // Read, then deleted up to the last one read (ids only grow, and this
  // thread is the only writer): no write at all for the usual login with
  // nothing kept, and a crash between the two leaves them kept, never
  // handed out twice (the session gets them only after the delete).
  try {
    list_directs_.bind(1, key);
    while (list_directs_.step()) {
      out.push_back(msg::StoredDirect{list_directs_.int64(0), list_directs_.text(1), list_directs_.text(2),
                                      list_directs_.int64(3)});
    }
    list_directs_.reset();
    if (!out.empty()) take_directs_.bind(1, key).bind(2, out.back().id).run();
  } catch (const sqlite::Error& e) {
    list_directs_.reset();
    take_directs_.reset();
    spdlog::error("accounts: cannot hand {} its direct messages: {}", key, e.what());
    throw;
  }
  return out;
}

bool SqliteAccountStore::restore_directs(const std::string& key, const std::vector<msg::StoredDirect>& directs) {
  bool ok = true;
  for (const auto& d : directs) {
    restore_direct_.bind(1, d.id).bind(2, key).bind(3, d.sender).bind(4, d.text).bind(5, d.timestamp_ms);
    ok = write(restore_direct_, "keep a direct message again") && ok;
  }
  return ok;
}

}  // namespace chat::server
