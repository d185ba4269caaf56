// Both AccountStores (issue 13) keep an offline account's direct messages
// the same way: counted, handed out oldest first and once, put back in
// their place, and gone with a dropped account. The SQLite one is the
// database a SqliteStore made (and migrated) in a fresh directory.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "server/app/config.hpp"
#include "server/auth/account_store.hpp"
#include "server/store/sqlite_accounts.hpp"
#include "server/store/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace chat::server {
namespace {

msg::StoredDirect dm(const std::string& sender, const std::string& text, std::int64_t ts) {
  return msg::StoredDirect{0, sender, text, ts};
}

std::vector<std::string> texts(const std::vector<msg::StoredDirect>& directs) {
  std::vector<std::string> out;
  for (const auto& d : directs) out.push_back(d.sender + ": " + d.text);
  return out;
}

// A store and what keeps it alive.
struct Made {
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<SqliteStore> rooms;
  std::unique_ptr<AccountStore> accounts;
};

class AccountStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      made_.accounts = std::make_unique<MemoryAccountStore>();
    } else {
      made_.dir = std::make_unique<testing::TempDir>("account-store");
      Config config;
      config.data_dir = made_.dir->str();
      made_.rooms = std::make_unique<SqliteStore>(config);
      made_.accounts = std::make_unique<SqliteAccountStore>(made_.rooms->database_path(), false);
    }
    ASSERT_TRUE(store().insert(AccountRecord{"Alice", "hash", 1}));
    ASSERT_TRUE(store().insert(AccountRecord{"bob", "hash", 1}));
  }
  AccountStore& store() { return *made_.accounts; }
  Made made_;
};

TEST_P(AccountStoreTest, DirectMessagesAreHandedOutOldestFirstAndOnce) {
  EXPECT_EQ(store().count_directs("alice"), 0u);
  EXPECT_TRUE(store().take_directs("alice").empty());
  ASSERT_TRUE(store().add_direct("alice", dm("bob", "one", 10)));
  ASSERT_TRUE(store().add_direct("bob", dm("carol", "for bob", 11)));
  ASSERT_TRUE(store().add_direct("alice", dm("carol", "two", 12)));
  ASSERT_TRUE(store().add_direct("alice", dm("bob", "three", 13)));
  EXPECT_EQ(store().count_directs("alice"), 3u);
  EXPECT_EQ(store().count_directs("bob"), 1u);

  const auto taken = store().take_directs("alice");
  EXPECT_EQ(texts(taken), (std::vector<std::string>{"bob: one", "carol: two", "bob: three"}));
  EXPECT_EQ(taken[1].timestamp_ms, 12);
  EXPECT_LT(taken[0].id, taken[1].id);
  EXPECT_LT(taken[1].id, taken[2].id);
  EXPECT_EQ(store().count_directs("alice"), 0u);
  EXPECT_TRUE(store().take_directs("alice").empty()) << "once";
  EXPECT_EQ(store().count_directs("bob"), 1u) << "another account's are its own";
}

TEST_P(AccountStoreTest, PutBackTheyKeepTheirPlaceBeforeNewerOnes) {
  ASSERT_TRUE(store().add_direct("alice", dm("bob", "one", 10)));
  ASSERT_TRUE(store().add_direct("alice", dm("bob", "two", 11)));
  const auto taken = store().take_directs("alice");
  ASSERT_EQ(taken.size(), 2u);
  ASSERT_TRUE(store().add_direct("alice", dm("bob", "three", 12)));  // while the session was going
  ASSERT_TRUE(store().restore_directs("alice", taken));
  EXPECT_EQ(texts(store().take_directs("alice")), (std::vector<std::string>{"bob: one", "bob: two", "bob: three"}));
}

TEST_P(AccountStoreTest, ADroppedAccountsDirectMessagesGoWithIt) {
  ASSERT_TRUE(store().add_direct("alice", dm("bob", "one", 10)));
  const auto taken = store().take_directs("alice");
  ASSERT_TRUE(store().add_direct("alice", dm("bob", "two", 11)));
  ASSERT_TRUE(store().erase("alice"));
  EXPECT_EQ(store().count_directs("alice"), 0u);
  ASSERT_TRUE(store().restore_directs("alice", taken)) << "put back after the drop: nowhere to go";
  EXPECT_EQ(store().count_directs("alice"), 0u);
  ASSERT_TRUE(store().insert(AccountRecord{"alice", "hash", 2}));
  EXPECT_TRUE(store().take_directs("alice").empty()) << "a new account of the same name starts empty";
}

std::string store_name(const ::testing::TestParamInfo<std::string>& param) { return param.param; }
INSTANTIATE_TEST_SUITE_P(BothStores, AccountStoreTest, ::testing::Values("memory", "sqlite"), store_name);

}  // namespace
}  // namespace chat::server
