// chat-bench against an in-process server: a short run must deliver every
// message exactly once and in order. Only correctness is checked here, never
// speed: the numbers depend on the machine.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/server_fixture.hpp"

namespace chat::testing {
namespace {

using namespace std::chrono_literals;

struct BenchRun {
  int exit_code = -1;  // -1: killed after the timeout
  std::string out;     // stdout
};

// Runs chat-bench with `args`, collecting its stdout; kills it after `timeout`.
BenchRun run_bench(std::vector<std::string> args, std::chrono::seconds timeout = 60s) {
  BenchRun run;
  int out[2];
  if (::pipe(out) != 0) return run;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<char*> argv{const_cast<char*>(CHAT_BENCH_PATH)};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(CHAT_BENCH_PATH, argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  // Read on a thread so a chatty child never blocks on a full pipe.
  std::thread reader([&run, fd = out[0]] {
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0) run.out.append(buffer, static_cast<std::size_t>(n));
    ::close(fd);
  });
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  reader.join();
  if (exited && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

// The number after "name": in a flat JSON object; nothing if absent or null.
std::optional<double> json_number(const std::string& json, const std::string& name) {
  const std::string key = "\"" + name + "\":";
  const auto at = json.find(key);
  if (at == std::string::npos) return std::nullopt;
  const char* begin = json.c_str() + at + key.size();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (end == begin) return std::nullopt;
  return value;
}

TEST(ChatBenchTest, HelpExitsZero) {
  const BenchRun run = run_bench({"--help"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("--rooms"), std::string::npos) << run.out;
}

TEST(ChatBenchTest, SmokeRunHasNoLossDuplicationOrReordering) {
  server::Config config = test_config(2);
  config.rate_per_sec = 0;  // benchmarks run without the per-connection rate limit
  RunningServer server(config);

  const BenchRun run = run_bench({"--port", std::to_string(server.port()), "--rooms", "2", "--subs", "5",
                                  "--pubs", "1", "--rate", "200", "--duration", "1", "--warmup", "0.5",
                                  "--server-pid", std::to_string(::getpid()), "--json", "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  // Exactly one JSON object on stdout.
  ASSERT_FALSE(run.out.empty());
  EXPECT_EQ(run.out.front(), '{') << run.out;
  EXPECT_EQ(run.out.find('{', 1), std::string::npos) << run.out;

  for (const char* field : {"lost", "duplicated", "reordered", "seq_gaps", "disconnects", "errors"}) {
    const auto value = json_number(run.out, field);
    ASSERT_TRUE(value) << field << " missing in " << run.out;
    EXPECT_EQ(*value, 0) << field << " in " << run.out;
  }
  const auto published = json_number(run.out, "published");
  const auto deliveries = json_number(run.out, "deliveries");
  ASSERT_TRUE(published && deliveries) << run.out;
  EXPECT_GT(*published, 0) << run.out;
  EXPECT_GT(*deliveries, 0) << run.out;
  EXPECT_GT(json_number(run.out, "latency_samples").value_or(0), 0) << run.out;
  EXPECT_NE(run.out.find("\"deliveries_per_server_cpu_s\":"), std::string::npos) << run.out;
}

TEST(ChatBenchTest, RateLimitedServerIsReportedAsAnError) {
  server::Config config = test_config(1);
  config.rate_per_sec = 5;
  config.rate_burst = 5;
  RunningServer server(config);
  const BenchRun run = run_bench({"--port", std::to_string(server.port()), "--subs", "1", "--pubs", "1",
                                  "--duration", "1", "--warmup", "0", "--json", "--quiet"});
  EXPECT_EQ(run.exit_code, 2) << run.out;
}

}  // namespace
}  // namespace chat::testing
