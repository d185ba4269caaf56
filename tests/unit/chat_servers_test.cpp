// `chat --host`'s list of servers (client/chat/servers.hpp).
#include <gtest/gtest.h>

#include <stdexcept>

#include "client/chat/servers.hpp"

namespace chat::term {
namespace {

TEST(ChatServersTest, EachEntryHasItsOwnPortOrTheDefault) {
  const auto s = parse_servers("a,b:7779,[::1],[fe80::2]:7780,::1,127.0.0.1:7", 7777);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[0].str(), "a:7777");
  EXPECT_EQ(s[1].str(), "b:7779");
  EXPECT_EQ(s[2].host, "::1");
  EXPECT_EQ(s[2].str(), "[::1]:7777");
  EXPECT_EQ(s[3].str(), "[fe80::2]:7780");
  EXPECT_EQ(s[4].host, "::1") << "a bare IPv6 address is a host";
  EXPECT_EQ(s[5].str(), "127.0.0.1:7");
  EXPECT_EQ(parse_servers("localhost", 1).at(0).str(), "localhost:1");
}

TEST(ChatServersTest, ABadEntryIsNamed) {
  for (const char* bad : {"", "a,,b", "a,", "a:0", "a:65536", "a:x", ":7777", "[::1", "[]", "[::1]x", "[::1]:"}) {
    EXPECT_THROW(parse_servers(bad, 7777), std::invalid_argument) << bad;
  }
  try {
    parse_servers("good,bad:port", 7777);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("bad:port"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace chat::term
