#include "common/names.hpp"

#include <gtest/gtest.h>

namespace chat::common {
namespace {

TEST(NamesTest, ValidatesNicks) {
  EXPECT_TRUE(is_valid_nick("alice", 32));
  EXPECT_TRUE(is_valid_nick("Bob_2-x", 32));
  EXPECT_FALSE(is_valid_nick("", 32));
  EXPECT_FALSE(is_valid_nick("2bob", 32));
  EXPECT_FALSE(is_valid_nick("bob smith", 32));
  EXPECT_FALSE(is_valid_nick("bøb", 32));
  EXPECT_TRUE(is_valid_nick(std::string(32, 'a'), 32));
  EXPECT_FALSE(is_valid_nick(std::string(33, 'a'), 32));
}

TEST(NamesTest, CanonicalisesRooms) {
  EXPECT_EQ(canonical_room("General", 64), "#general");
  EXPECT_EQ(canonical_room("#dev.ops-1_x", 64), "#dev.ops-1_x");
  EXPECT_FALSE(canonical_room("#", 64));
  EXPECT_FALSE(canonical_room("", 64));
  EXPECT_FALSE(canonical_room("two words", 64));
  EXPECT_FALSE(canonical_room("##x", 64));
  EXPECT_TRUE(canonical_room(std::string(63, 'r'), 64));
  EXPECT_FALSE(canonical_room(std::string(64, 'r'), 64));
}

TEST(NamesTest, LookAlikeNicksShareASkeleton) {
  for (const char* alike : {"alice", "aIice", "a1ice", "ALICE", "AL1CE", "allce"}) {
    EXPECT_EQ(nick_skeleton(alike), nick_skeleton("alice")) << alike;
  }
  EXPECT_EQ(nick_skeleton("bob0"), nick_skeleton("bobO"));
  EXPECT_EQ(nick_skeleton("bob0"), nick_skeleton("bobo"));
  EXPECT_EQ(nick_skeleton("mallory"), nick_skeleton("rnallory"));
  EXPECT_EQ(nick_skeleton("Mallory"), nick_skeleton("RNallory"));
  EXPECT_NE(nick_skeleton("alice"), nick_skeleton("alicf"));
  EXPECT_NE(nick_skeleton("alice"), nick_skeleton("alice_"));
  EXPECT_NE(nick_skeleton("a-b"), nick_skeleton("a_b"));
  EXPECT_NE(nick_skeleton("bob"), nick_skeleton("rob"));
}

TEST(NamesTest, NicksOneFoldApartShareTheirSkeleton) {
  // The nick owner hashes the skeleton: a claim of "Alice" and one of
  // "aLICE" must meet at one owner.
  for (const char* nick : {"Alice", "IVAN", "m0m", "Zed-1_x"}) {
    EXPECT_EQ(nick_skeleton(nick), nick_skeleton(fold_case(nick))) << nick;
  }
}

TEST(NamesTest, FoldsCaseAndHashesStably) {
  EXPECT_EQ(fold_case("AlIcE"), "alice");
  EXPECT_EQ(stable_hash("alice"), stable_hash(fold_case("ALICE")));
  EXPECT_EQ(stable_hash(""), 14695981039346656037ull);  // FNV-1a offset basis
}

}  // namespace
}  // namespace chat::common
