#pragma once
// The storage seam behind the account service: who is registered, each
// account's password hash, and the direct messages kept for it while it is
// offline. Two implementations, as for rooms: the memory one
// here (--store memory: nothing survives a restart) and the SQLite one
// (store/sqlite_accounts.hpp, the default: a table beside the rooms).
// Thread safety: names() on the controlling thread before the service
// starts; everything else on the account service's thread only.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/names.hpp"
#include "server/chat/messages.hpp"

namespace chat::server {

struct AccountRecord {
  std::string name;  // as registered; looked up by fold_case(name)
  std::string hash;  // crypto_pwhash_str's string: algorithm, cost, salt, hash
  std::int64_t created_ms = 0;
};

class AccountStore {
 public:
  virtual ~AccountStore() = default;
  // Every account's name, at start.
  virtual std::vector<std::string> names() = 0;
  // By fold_case(name).
  virtual std::optional<AccountRecord> find(const std::string& key) = 0;
  // Each returns false when the change could not be stored (the disk).
  virtual bool insert(const AccountRecord& account) = 0;
  virtual bool set_hash(const std::string& key, const std::string& hash) = 0;
  // Drops the account and the direct messages kept for it.
  virtual bool erase(const std::string& key) = 0;

  // Direct messages kept for an offline account, by fold_case(name). A
  // read that fails throws, as find does.
  virtual std::size_t count_directs(const std::string& key) = 0;
  // Appends `direct` (its id is the store's to give).
  virtual bool add_direct(const std::string& key, const msg::StoredDirect& direct) = 0;
  // Every one kept, oldest first, and no longer kept.
  virtual std::vector<msg::StoredDirect> take_directs(const std::string& key) = 0;
  // Keeps again what take_directs gave, in its place by id.
  virtual bool restore_directs(const std::string& key, const std::vector<msg::StoredDirect>& directs) = 0;
};

class MemoryAccountStore final : public AccountStore {
 public:
  std::vector<std::string> names() override {
    std::vector<std::string> out;
    for (const auto& [key, account] : accounts_) out.push_back(account.name);
    return out;
  }
  std::optional<AccountRecord> find(const std::string& key) override {
    auto it = accounts_.find(key);
    if (it == accounts_.end()) return std::nullopt;
    return it->second;
  }
  bool insert(const AccountRecord& account) override {
    accounts_.emplace(common::fold_case(account.name), account);
    return true;
  }
  bool set_hash(const std::string& key, const std::string& hash) override {
    auto it = accounts_.find(key);
    if (it != accounts_.end()) it->second.hash = hash;
    return true;
  }
  bool erase(const std::string& key) override {
    accounts_.erase(key);
    directs_.erase(key);
    return true;
  }

  std::size_t count_directs(const std::string& key) override {
    auto it = directs_.find(key);
    return it == directs_.end() ? 0 : it->second.size();
  }
  bool add_direct(const std::string& key, const msg::StoredDirect& direct) override {
    msg::StoredDirect kept = direct;
    kept.id = next_direct_id_++;
    directs_[key].emplace(kept.id, std::move(kept));
    return true;
  }
  std::vector<msg::StoredDirect> take_directs(const std::string& key) override {
    std::vector<msg::StoredDirect> out;
    auto node = directs_.extract(key);
    if (node.empty()) return out;
    for (auto& [id, direct] : node.mapped()) out.push_back(std::move(direct));
    return out;
  }
  bool restore_directs(const std::string& key, const std::vector<msg::StoredDirect>& directs) override {
    if (accounts_.count(key) == 0) return true;  // dropped meanwhile
    for (const auto& direct : directs) directs_[key].emplace(direct.id, direct);
    return true;
  }

 private:
  std::unordered_map<std::string, AccountRecord> accounts_;  // fold_case(name) -> account
  std::unordered_map<std::string, std::map<std::int64_t, msg::StoredDirect>> directs_;  // by id
  std::int64_t next_direct_id_ = 1;
};

}  // namespace chat::server
