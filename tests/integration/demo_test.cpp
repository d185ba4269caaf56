// The docker-compose demo: the compose file is valid, and its topology,
// run without Docker by demo/run-local.sh, has every bot hear every other.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "integration/term_helpers.hpp"

namespace chat::testing {
namespace {

namespace fs = std::filesystem;

TEST(DemoTest, ComposeFileIsAcceptedByDockerCompose) {
  if (run_command("command -v docker-compose >/dev/null").first != 0) GTEST_SKIP() << "docker-compose is not installed";
  const auto [status, out] =
      run_command("docker-compose -f " CHAT_SOURCE_DIR "/docker-compose.yml config -q 2>&1");
  EXPECT_EQ(status, 0) << out;
}

// The bots named in docker-compose.yml (services whose name starts "bot").
std::vector<std::string> compose_bots() {
  std::ifstream in(CHAT_SOURCE_DIR "/docker-compose.yml");
  std::vector<std::string> bots;
  std::string line;
  while (std::getline(in, line)) {
    // "  bot-ada:" at service level, two spaces in.
    if (line.rfind("  bot-", 0) == 0 && line.back() == ':') bots.push_back(line.substr(6, line.size() - 7));
  }
  return bots;
}

TEST(DemoTest, LocalRunOfTheComposeTopologyHasEveryBotHearEveryOther) {
  const auto bots = compose_bots();
  ASSERT_GE(bots.size(), 3u) << "the compose file has at least three bots";
  const fs::path logs = fs::temp_directory_path() / ("chat-demo-" + std::to_string(::getpid()));
  fs::remove_all(logs);
  // run-local.sh finds chat and chatd through CHAT_BIN and CHATD_BIN.
  const std::string command = "CHAT_BIN=" CHAT_PATH " CHATD_BIN=" CHATD_PATH " timeout 120 bash " CHAT_SOURCE_DIR
                              "/demo/run-local.sh --duration 8 --logs " + logs.string() + " 2>&1";
  const auto [status, out] = run_command(command);
  ASSERT_EQ(status, 0) << out;
  for (const auto& bot : bots) {
    std::ifstream in(logs / ("bot-" + bot + ".log"));
    ASSERT_TRUE(in) << "no log for " << bot << "\n" << out;
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NE(text.str().find("-- connected as " + bot), std::string::npos) << text.str();
    for (const auto& other : bots) {
      if (other == bot) continue;
      EXPECT_NE(text.str().find("#lobby <" + other + "> "), std::string::npos)
          << bot << " never heard " << other << "\n" << text.str();
    }
  }
  fs::remove_all(logs);
}

}  // namespace
}  // namespace chat::testing
