// The docker-compose demo: the compose files are valid, and their
// topologies, run without Docker by demo/run-local.sh, have every bot hear
// every other, for a fixed time or until Ctrl+C: one chatd, or (--cluster)
// Redis and two chatd nodes with bots on both.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "integration/term_helpers.hpp"
#include "support/wait.hpp"

namespace chat::testing {
namespace {

namespace fs = std::filesystem;

TEST(DemoTest, ComposeFilesAreAcceptedByDockerCompose) {
  if (run_command("command -v docker-compose >/dev/null").first != 0) GTEST_SKIP() << "docker-compose is not installed";
  for (const char* file : {"docker-compose.yml", "docker-compose.cluster.yml"}) {
    const auto [status, out] =
        run_command(std::string("docker-compose -f " CHAT_SOURCE_DIR "/") + file + " config -q 2>&1");
    EXPECT_EQ(status, 0) << file << ": " << out;
  }
}

// The bots named in a compose file (services whose name starts "bot").
std::vector<std::string> compose_bots(const std::string& file = "docker-compose.yml") {
  std::ifstream in(CHAT_SOURCE_DIR "/" + file);
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
                              "/demo/run-local.sh --duration 20 --logs " + logs.string() + " 2>&1";
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

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whether each bot's log has a line from every other bot in #lobby.
bool everyone_heard(const fs::path& logs, const std::vector<std::string>& bots) {
  for (const auto& bot : bots) {
    const std::string log = read_file(logs / ("bot-" + bot + ".log"));
    for (const auto& other : bots) {
      if (other != bot && log.find("#lobby <" + other + "> ") == std::string::npos) return false;
    }
  }
  return true;
}

// The processes, the test's descendants or not, whose environment holds
// `marker` ("NAME=value"): everything run-local.sh started, however it was
// started, and however its parent died.
std::vector<std::string> marked_processes(const std::string& marker) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string env = read_file(entry.path() / "environ");  // empty for a zombie, or if it has gone
    if (env.find(std::string(1, '\0') + marker + '\0') == std::string::npos && env.rfind(marker + '\0', 0) != 0) {
      continue;
    }
    std::string cmdline = read_file(entry.path() / "cmdline");
    for (char& ch : cmdline) ch = ch == '\0' ? ' ' : ch;
    found.push_back(pid + ": " + cmdline);
  }
  return found;
}

// The processes whose command line holds `part`: redis-server writes its
// title over its environment, so it is found by the address in its title.
std::vector<std::string> processes_titled(const std::string& part) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file(entry.path() / "cmdline");
    for (char& ch : cmdline) ch = ch == '\0' ? ' ' : ch;
    if (cmdline.find(part) != std::string::npos) found.push_back(pid + ": " + cmdline);
  }
  return found;
}

// Whatever becomes of the test, nothing the script started outlives it.
struct KillMarkedOnExit {
  std::string marker;
  std::string title;  // and, if not empty, processes_titled(title)
  ~KillMarkedOnExit() {
    auto all = marked_processes(marker);
    if (!title.empty()) {
      const auto titled = processes_titled(title);
      all.insert(all.end(), titled.begin(), titled.end());
    }
    for (const auto& p : all) ::kill(std::stoi(p.substr(0, p.find(':'))), SIGKILL);
  }
};

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += i + "\n";
  return out;
}

// The README's way: --duration 0 runs until Ctrl+C (SIGINT) or SIGTERM,
// here on a free port.
void run_until_signal(int sig) {
  const auto bots = compose_bots();
  ASSERT_GE(bots.size(), 3u) << "the compose file has at least three bots";
  const std::string tag = std::to_string(::getpid()) + "-" +
                          std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  const fs::path logs = fs::temp_directory_path() / ("chat-demo-int-" + tag);
  fs::remove_all(logs);
  const std::string marker = "CHAT_DEMO_TEST_RUN=" + tag;
  const KillMarkedOnExit guard{marker, ""};  // destroyed after `script`, which kills the script itself
  ChildProcess script({"/bin/bash", CHAT_SOURCE_DIR "/demo/run-local.sh", "--duration", "0", "--port", "0", "--logs",
                       logs.string()},
                      ChildOptions{{"CHAT_BIN=" CHAT_PATH, "CHATD_BIN=" CHATD_PATH, marker}});
  ASSERT_TRUE(script.wait_line("run-local: Ctrl+C stops everything", 60s)) << script.text();
  const std::regex listening(R"(run-local: server: chatd listening on 127\.0\.0\.1:(\d+) with)");
  std::smatch m;
  const std::string first = script.lines().front();
  ASSERT_TRUE(std::regex_search(first, m, listening)) << script.text();
  const std::string port = m[1];
  EXPECT_NE(port, "0");
  for (const auto& bot : bots) {
    EXPECT_TRUE(script.wait_line("run-local: bot-" + bot + ": env CHAT_HOST=127.0.0.1 CHAT_PORT=" + port + " ", 1s))
        << script.text();
  }
  EXPECT_TRUE(script.wait_line("run-local: talk to them:  CHAT_HOST=127.0.0.1 CHAT_PORT=" + port + " ", 1s))
      << script.text();

  // Let them talk until every bot has heard every other.
  ASSERT_TRUE(wait_until([&] { return everyone_heard(logs, bots); }, 60s, 200ms)) << script.text();
  const auto running = marked_processes(marker);
  // At least the script, chatd, and a chat per bot (the bots' shells and sleeps besides).
  ASSERT_GE(running.size(), 2 + 2 * bots.size()) << joined(running);
  EXPECT_TRUE(std::any_of(running.begin(), running.end(),
                          [](const std::string& p) { return p.find(": chatd ") != std::string::npos; }))
      << joined(running);

  // It stops at once (not after some sleep of its own), stops everything
  // it started, and reports.
  script.signal(sig);
  const auto status = script.wait_exit(30s);
  ASSERT_TRUE(status.has_value()) << "still running 30 s after " << ::strsignal(sig) << "\n" << script.text();
  EXPECT_EQ(*status, 0) << script.text();
  for (const auto& bot : bots) {
    std::string pattern = "run-local: " + bot + " heard";
    for (const auto& other : bots) {
      if (other != bot) pattern += " " + other + ":[1-9][0-9]*";
    }
    EXPECT_TRUE(std::regex_search(script.text(), std::regex(pattern))) << pattern << "\n" << script.text();
  }
  EXPECT_TRUE(script.wait_line("run-local: logs in " + logs.string(), 1s)) << script.text();
  std::vector<std::string> left;
  EXPECT_TRUE(wait_until(
      [&] {
        left = marked_processes(marker);
        return left.empty();
      },
      10s, 100ms))
      << "left running:\n" << joined(left);
  // chatd stopped cleanly: its log ends without a complaint from the sanitizer or the shell.
  EXPECT_EQ(read_file(logs / "server.log").find("ERROR"), std::string::npos) << read_file(logs / "server.log");
  fs::remove_all(logs);
}

TEST(DemoTest, LocalRunUntilCtrlCStopsEverythingAndSaysWhatEachBotHeard) { run_until_signal(SIGINT); }

TEST(DemoTest, LocalRunStopsAtOnceOnSigterm) { run_until_signal(SIGTERM); }

// docker-compose.cluster.yml without Docker: Redis, two nodes, bots on
// both; each bot hears every other across the nodes, and a SIGTERM stops
// it all, Redis too.
TEST(DemoTest, LocalClusterRunHasEveryBotHearEveryOtherAcrossTheNodes) {
  if (run_command("command -v redis-server >/dev/null").first != 0) GTEST_SKIP() << "redis-server is not installed";
  const auto bots = compose_bots("docker-compose.cluster.yml");
  ASSERT_GE(bots.size(), 3u);
  const std::string tag = std::to_string(::getpid()) + "-cluster";
  const fs::path logs = fs::temp_directory_path() / ("chat-demo-" + tag);
  fs::remove_all(logs);
  const std::string marker = "CHAT_DEMO_TEST_RUN=" + tag;
  KillMarkedOnExit guard{marker, ""};
  ChildProcess script({"/bin/bash", CHAT_SOURCE_DIR "/demo/run-local.sh", "--cluster", "--duration", "0", "--logs",
                       logs.string()},
                      ChildOptions{{"CHAT_BIN=" CHAT_PATH, "CHATD_BIN=" CHATD_PATH, marker}});
  ASSERT_TRUE(script.wait_line("run-local: Ctrl+C stops everything", 60s)) << script.text();
  const std::string text = script.text();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(run-local: redis: redis-server on 127\.0\.0\.1:(\d+))")))
      << text;
  guard.title = "redis-server 127.0.0.1:" + m[1].str();
  std::map<std::string, std::string> node_of_port;
  const std::regex node_line(R"(run-local: (node-\w+): chatd listening on 127\.0\.0\.1:(\d+) with)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), node_line); it != std::sregex_iterator(); ++it) {
    node_of_port[(*it)[2]] = (*it)[1];
  }
  ASSERT_EQ(node_of_port.size(), 2u) << "two nodes on two ports\n" << text;
  std::set<std::string> nodes_with_bots;
  for (const auto& bot : bots) {
    ASSERT_TRUE(std::regex_search(text, m, std::regex("run-local: bot-" + bot + R"(: env CHAT_HOST=127\.0\.0\.1 CHAT_PORT=(\d+) )")))
        << text;
    ASSERT_TRUE(node_of_port.contains(m[1])) << bot << " is on no node\n" << text;
    nodes_with_bots.insert(node_of_port[m[1]]);
  }
  EXPECT_EQ(nodes_with_bots.size(), 2u) << "bots on both nodes\n" << text;
  for (const auto& [port, node] : node_of_port) {
    const std::string log = read_file(logs / (node + ".log"));
    EXPECT_NE(log.find("cluster: node " + node + " on Redis at redis://127.0.0.1:"), std::string::npos) << log;
  }
  ASSERT_TRUE(wait_until([&] { return everyone_heard(logs, bots); }, 60s, 200ms)) << script.text();
  EXPECT_EQ(processes_titled(guard.title).size(), 1u) << guard.title;
  script.signal(SIGTERM);
  const auto status = script.wait_exit(30s);
  ASSERT_TRUE(status.has_value()) << script.text();
  EXPECT_EQ(*status, 0) << script.text();
  std::vector<std::string> left;
  EXPECT_TRUE(wait_until(
      [&] {
        left = marked_processes(marker);
        const auto redis = processes_titled(guard.title);
        left.insert(left.end(), redis.begin(), redis.end());
        return left.empty();
      },
      10s, 100ms))
      << "left running:\n" << joined(left);
  for (const auto& [port, node] : node_of_port) {
    EXPECT_EQ(read_file(logs / (node + ".log")).find("ERROR"), std::string::npos) << read_file(logs / (node + ".log"));
  }
  fs::remove_all(logs);
}

}  // namespace
}  // namespace chat::testing
