#include "server/chat/nick_shard.hpp"

#include <gtest/gtest.h>

#include "support/fake_router.hpp"

namespace chat::server {
namespace {

using testing::FakeRouter;

class NickShardTest : public ::testing::Test {
 protected:
  std::vector<std::pair<std::uint32_t, msg::NickClaimed>> claims() const { return router_.sent_of<msg::NickClaimed>(); }

  static constexpr SessionId kAnn = (0ull << kReactorShift) | 1;
  static constexpr SessionId kBob = (1ull << kReactorShift) | 2;
  FakeRouter router_;
  LocalNickRegistry registry_;
  NickShard shard_{router_, registry_};
};

TEST_F(NickShardTest, ClaimsANickOnceIgnoringCaseAndAnswersTheClaimantsReactor) {
  shard_.on(msg::ClaimNick{"Ann", kAnn, 1});
  shard_.on(msg::ClaimNick{"aNN", kBob, 2});
  const auto answers = claims();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].first, 0u);
  EXPECT_TRUE(answers[0].second.ok);
  EXPECT_EQ(answers[1].first, 1u) << "to the claimant's reactor";
  EXPECT_FALSE(answers[1].second.ok);
  EXPECT_EQ(answers[1].second.request_id, 2u);
  EXPECT_EQ(registry_.size(), 1u);
}

TEST_F(NickShardTest, ItsHolderMayRespellItAndOnlyItsHolderMayReleaseIt) {
  shard_.on(msg::ClaimNick{"ann", kAnn, 1});
  shard_.on(msg::ClaimNick{"ANN", kAnn, 2});
  EXPECT_TRUE(claims().back().second.ok);
  shard_.on(msg::ReleaseNick{"ann", kBob});  // stale: not the holder
  EXPECT_EQ(registry_.size(), 1u);
  shard_.on(msg::ReleaseNick{"Ann", kAnn});
  EXPECT_EQ(registry_.size(), 0u);
  shard_.on(msg::ClaimNick{"ann", kBob, 3});
  EXPECT_TRUE(claims().back().second.ok);
}

TEST_F(NickShardTest, RoutesADirectMessageToTheHoldersReactorUnderItsSpelling) {
  shard_.on(msg::ClaimNick{"Bob", kBob, 1});
  router_.sent.clear();
  shard_.on(msg::RouteDirect{"bob", "ann", "psst", kAnn, 7});
  const auto delivered = router_.sent_of<msg::DeliverDirect>();
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].first, 1u);
  EXPECT_EQ(delivered[0].second.target, kBob);
  EXPECT_EQ(delivered[0].second.target_nick, "Bob");
  EXPECT_EQ(delivered[0].second.sender, kAnn);
  const auto frame = FakeRouter::decode(*delivered[0].second.frame);
  EXPECT_EQ(frame.direct().sender(), "ann");
  EXPECT_EQ(frame.direct().text(), "psst");
}

TEST_F(NickShardTest, ADirectMessageToNobodyIsAnErrorForTheSender) {
  shard_.on(msg::RouteDirect{"nobody", "ann", "hello?", kAnn, 9});
  const auto replies = router_.replies_to(kAnn);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].error().code(), v1::Error::CODE_NO_SUCH_NICK);
  EXPECT_EQ(replies[0].request_id(), 9u);
}

// Issue 13: what the nick owner sends about an offline account's DMs.
class FakeOfflineDirects final : public OfflineDirects {
 public:
  void store(msg::StoreDirect&& m) override { stored.push_back(std::move(m)); }
  void fetch(msg::FetchDirects&& m) override { fetched.push_back(std::move(m)); }
  std::vector<msg::StoreDirect> stored;
  std::vector<msg::FetchDirects> fetched;
};

class OfflineNickShardTest : public NickShardTest {
 protected:
  OfflineNickShardTest() { keeping_.add_account("Alice"); }
  FakeOfflineDirects offline_;
  NickShard keeping_{router_, registry_, 5, &offline_};  // a shard that keeps DMs
};

TEST_F(OfflineNickShardTest, ADirectMessageToAnOfflineAccountIsKeptNotRefused) {
  keeping_.on(msg::RouteDirect{"ALICE", "ann", "call me", kAnn, 4});
  ASSERT_EQ(offline_.stored.size(), 1u);
  EXPECT_EQ(offline_.stored[0].account, "Alice") << "as registered";
  EXPECT_EQ(offline_.stored[0].direct.sender, "ann");
  EXPECT_EQ(offline_.stored[0].direct.text, "call me");
  EXPECT_GT(offline_.stored[0].direct.timestamp_ms, 0);
  EXPECT_EQ(offline_.stored[0].sender, kAnn);
  EXPECT_EQ(offline_.stored[0].request_id, 4u);
  EXPECT_TRUE(router_.replies_to(kAnn).empty()) << "the keeper answers";
  // A look-alike of the account is no one.
  keeping_.on(msg::RouteDirect{"a1ice", "ann", "hi", kAnn, 5});
  EXPECT_EQ(offline_.stored.size(), 1u);
  EXPECT_EQ(router_.replies_to(kAnn).back().error().code(), v1::Error::CODE_NO_SUCH_NICK);
}

TEST_F(OfflineNickShardTest, ALoginToTheAccountFetchesWhatWasKeptAndThenDirectMessagesGoToIt) {
  keeping_.on(msg::ClaimNick{"alice", kBob, 1, "Alice"});
  ASSERT_EQ(offline_.fetched.size(), 1u);
  EXPECT_EQ(offline_.fetched[0].account, "Alice");
  EXPECT_EQ(offline_.fetched[0].session, kBob);
  keeping_.on(msg::RouteDirect{"alice", "ann", "live", kAnn, 6});
  EXPECT_TRUE(offline_.stored.empty());
  EXPECT_EQ(router_.sent_of<msg::DeliverDirect>().size(), 1u);
  // A guest's claim, or a refused one, fetches nothing.
  keeping_.on(msg::ClaimNick{"carol", kAnn, 2});
  keeping_.on(msg::ClaimNick{"alice", kAnn, 3});  // a guest: NICK_REGISTERED
  EXPECT_EQ(offline_.fetched.size(), 1u);
}

}  // namespace
}  // namespace chat::server
