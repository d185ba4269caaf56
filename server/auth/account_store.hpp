#pragma once
// The storage seam behind the account service: who is registered, and each
// account's password hash. Two implementations, as for rooms: the memory one
// here (--store memory: nothing survives a restart) and the SQLite one
// (store/sqlite_accounts.hpp, the default: a table beside the rooms).
// Thread safety: names() on the controlling thread before the service
// starts; everything else on the account service's thread only.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/names.hpp"

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
  virtual bool erase(const std::string& key) = 0;
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
    return true;
  }

 private:
  std::unordered_map<std::string, AccountRecord> accounts_;  // fold_case(name) -> account
};

}  // namespace chat::server
