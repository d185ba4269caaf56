// The terminal client and a room's keepers (issue 13), in line mode: the
// founder kicks, sets modes, invites, gives a role and bans with chat's own
// commands, and the member on the other end reads each in words.
#include <gtest/gtest.h>

#include "integration/term_helpers.hpp"
#include "support/server_fixture.hpp"

namespace chat::testing {
namespace {

// Waits until `n` lines contain `needle` (wait_line finds the first one).
bool wait_lines(const ChildProcess& c, const std::string& needle, std::size_t n) {
  return c.wait([&](const ChildProcess::Lines& lines) {
    std::size_t seen = 0;
    for (const auto& line : lines) seen += line.find(needle) != std::string::npos ? 1 : 0;
    return seen >= n;
  });
}

TEST(TerminalKeepersTest, TheFounderKicksSetsModesInvitesOpsAndBansWithChatsCommands) {
  auto config = test_config(2);
  config.rate_per_sec = 0;
  RunningServer server(config);
  auto alice = start_plain(server.port(), "alice", {"--join", "#team"});
  ASSERT_TRUE(alice->wait_line("-- joined #team")) << alice->text();
  auto bob = start_plain(server.port(), "bob", {"--join", "#team"});
  ASSERT_TRUE(bob->wait_line("-- joined #team")) << bob->text();
  ASSERT_TRUE(alice->wait_line("* bob joined #team")) << alice->text();

  bob->write_line("/kick alice");
  ASSERT_TRUE(bob->wait_line("! NOT_AN_OP")) << bob->text();

  alice->write_line("/kick bob flooding");
  ASSERT_TRUE(bob->wait_line("* you were kicked from #team by alice (flooding)")) << bob->text();
  ASSERT_TRUE(alice->wait_line("* bob was kicked from #team by alice (flooding)")) << alice->text();

  alice->write_line("/mode +i");
  ASSERT_TRUE(alice->wait_line("* alice set +i in #team")) << alice->text();
  bob->write_line("/join #team");
  ASSERT_TRUE(bob->wait_line("! INVITE_ONLY")) << bob->text();

  alice->write_line("/invite bob");
  ASSERT_TRUE(bob->wait_line("* you were invited to #team by alice")) << bob->text();
  bob->write_line("/join #team");
  ASSERT_TRUE(wait_lines(*alice, "* bob joined #team", 2)) << alice->text();

  alice->write_line("/op bob");
  ASSERT_TRUE(bob->wait_line("* you are now an op in #team (by alice)")) << bob->text();
  alice->write_line("/deop bob");
  ASSERT_TRUE(bob->wait_line("* you are now a plain member in #team (by alice)")) << bob->text();

  alice->write_line("/ban bob 10m spam");
  ASSERT_TRUE(bob->wait_line("* you were banned from #team by alice for 10m (spam)")) << bob->text();
  alice->write_line("/mode");
  ASSERT_TRUE(alice->wait_line("-- modes of #team: +i")) << alice->text();
  ASSERT_TRUE(alice->wait_line("-- 1 ban on #team:")) << alice->text();
  bob->write_line("/join #team");
  ASSERT_TRUE(bob->wait_line("! BANNED")) << bob->text();

  for (auto* c : {alice.get(), bob.get()}) {
    c->write_line("/quit");
    EXPECT_EQ(c->wait_exit(20s), 0) << c->text();
  }
}

}  // namespace
}  // namespace chat::testing
