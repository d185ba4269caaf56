#pragma once
// Accounts in the durable store: the `accounts` table (and the DMs kept
// for offline accounts, `stored_directs`) of the same SQLite database as
// the rooms (store/sqlite_open.cpp's schema), through a
// connection of the account service's own. Registrations are rare and
// small, so they commit one at a time, synchronously on that thread, which
// is no reactor's; SQLite's busy timeout lets them take turns with the
// store actor's group commits.
// Thread safety: as AccountStore: opened on the controlling thread after the
// SqliteStore (which creates and migrates the schema), then used by the
// account service's thread only.

#include <memory>
#include <string>

#include "server/auth/account_store.hpp"
#include "server/store/sqlite_db.hpp"

namespace chat::server {

class SqliteAccountStore final : public AccountStore {
 public:
  // `path`: the database the SqliteStore opened. `fsync`: as --fsync.
  SqliteAccountStore(const std::string& path, bool fsync);

  std::vector<std::string> names() override;
  std::optional<AccountRecord> find(const std::string& key) override;
  bool insert(const AccountRecord& account) override;
  bool set_hash(const std::string& key, const std::string& hash) override;
  bool erase(const std::string& key) override;
  std::size_t count_directs(const std::string& key) override;
  bool add_direct(const std::string& key, const msg::StoredDirect& direct) override;
  std::vector<msg::StoredDirect> take_directs(const std::string& key) override;
  bool restore_directs(const std::string& key, const std::vector<msg::StoredDirect>& directs) override;

 private:
  // Runs a write; false, and logged, if SQLite refused it.
  bool write(sqlite::Statement& statement, const char* what);

  sqlite::Db db_;
  sqlite::Statement find_;
  sqlite::Statement insert_;
  sqlite::Statement set_hash_;
  sqlite::Statement erase_;
  sqlite::Statement erase_directs_;
  sqlite::Statement count_directs_;
  sqlite::Statement add_direct_;
  sqlite::Statement list_directs_;
  sqlite::Statement take_directs_;
  sqlite::Statement restore_direct_;
};

}  // namespace chat::server
