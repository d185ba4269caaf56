// Room ban masks (issue 13): what an op may write, and what each matches.
#include "server/chat/bans.hpp"

#include <gtest/gtest.h>

namespace chat::server {
namespace {

v1::Ban parse(const std::string& mask) {
  std::string error;
  auto ban = parse_ban_mask(mask, 32, error);
  EXPECT_TRUE(ban) << mask << ": " << error;
  return ban.value_or(v1::Ban());
}

bool refused(const std::string& mask) {
  std::string error;
  const bool none = !parse_ban_mask(mask, 32, error).has_value();
  EXPECT_TRUE(!none || !error.empty()) << mask;
  return none;
}

TEST(BansTest, MasksAreANickAnAccountOrAnAddressAndNothingElse) {
  EXPECT_EQ(parse("Bob").nick(), "bob");
  EXPECT_EQ(parse("account:Bob").account(), "bob");
  EXPECT_EQ(parse("address:192.0.2.7").address(), "192.0.2.7");
  EXPECT_EQ(parse("address:10.1.2.3/16").address(), "10.1.0.0/16");
  EXPECT_EQ(parse("address:2001:db8:1:2::99").address(), "2001:db8:1:2::/64");  // IPv6 by its /64
  EXPECT_EQ(parse("address:::ffff:192.0.2.7").address(), "192.0.2.7");          // mapped IPv4 is IPv4
  for (const char* bad : {"", "1bob", "bob!x", "account:", "account:1x", "address:", "address:bob", "address:10.0.0.0/33",
                          "address:10.0.0.0/", "address:10.0.0.0/8x", "address:::/129", "nick:bob"}) {
    EXPECT_TRUE(refused(bad)) << bad;
  }
  EXPECT_TRUE(refused(std::string(33, 'a')));
}

TEST(BansTest, ANickOrAccountBanMatchesItInAnyCase) {
  EXPECT_TRUE(ban_matches(parse("bob"), "BOB", "", "127.0.0.1"));
  EXPECT_FALSE(ban_matches(parse("bob"), "bobby", "", "127.0.0.1"));
  EXPECT_TRUE(ban_matches(parse("account:bob"), "bob", "Bob", "127.0.0.1"));
  EXPECT_FALSE(ban_matches(parse("account:bob"), "bob", "", "127.0.0.1"));  // a guest is no account
}

TEST(BansTest, AnAddressBanMatchesItsBlockAndTheAddressKeysInIt) {
  const v1::Ban one = parse("address:192.0.2.7");
  EXPECT_TRUE(ban_matches(one, "x", "", "192.0.2.7"));
  EXPECT_FALSE(ban_matches(one, "x", "", "192.0.2.8"));
  const v1::Ban block = parse("address:192.0.2.0/30");
  EXPECT_TRUE(ban_matches(block, "x", "", "192.0.2.3"));
  EXPECT_FALSE(ban_matches(block, "x", "", "192.0.2.4"));
  EXPECT_TRUE(ban_matches(parse("address:0.0.0.0/0"), "x", "", "203.0.113.1"));
  // IPv6 peers are counted by their /64 (address_key).
  EXPECT_TRUE(ban_matches(parse("address:2001:db8:1:2::5"), "x", "", "2001:db8:1:2::/64"));
  EXPECT_TRUE(ban_matches(parse("address:2001:db8::/32"), "x", "", "2001:db8:1:2::/64"));
  EXPECT_FALSE(ban_matches(parse("address:2001:db8:1:3::1"), "x", "", "2001:db8:1:2::/64"));
  // A block narrower than the key's /64 cannot tell the key's addresses apart: no match.
  EXPECT_FALSE(ban_matches(parse("address:2001:db8:1:2::/96"), "x", "", "2001:db8:1:2::/64"));
  EXPECT_FALSE(ban_matches(one, "x", "", "2001:db8:1:2::/64"));  // families never mix
  EXPECT_FALSE(ban_matches(one, "x", "", "not an address"));
}

TEST(BansTest, UnbanRemovesWhatTheMaskNamesAndExpiryIsByTheClock) {
  v1::Ban ban = parse("bob");
  ban.set_account("bob");
  ban.set_address("127.0.0.2");
  EXPECT_TRUE(ban_named_by(ban, parse("bob")));
  EXPECT_TRUE(ban_named_by(ban, parse("account:bob")));
  EXPECT_TRUE(ban_named_by(ban, parse("address:127.0.0.2")));
  EXPECT_FALSE(ban_named_by(ban, parse("carol")));
  EXPECT_EQ(describe_ban(ban), "bob account:bob address:127.0.0.2");
  EXPECT_FALSE(ban_expired(ban, 1'000));
  ban.set_expires_at_ms(1'000);
  EXPECT_FALSE(ban_expired(ban, 999));
  EXPECT_TRUE(ban_expired(ban, 1'000));
}

}  // namespace
}  // namespace chat::server
