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
  return write(erase_, "drop an account");
}

}  // namespace chat::server
