// chat-bench against an in-process server: a short run must deliver every
// message exactly once and in order. Only correctness is checked here, never
// speed: the numbers depend on the machine.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/child_process.hpp"
#include "support/cluster_node.hpp"
#include "support/redis_process.hpp"
#include "support/server_fixture.hpp"

namespace chat::testing {
namespace {

using namespace std::chrono_literals;

struct BenchRun {
  int exit_code = -1;  // 128+signal if killed; -1: still running at the timeout, then killed
  std::string out;     // stdout
};

// Runs chat-bench with `args`, collecting its stdout; kills it after `timeout`.
BenchRun run_bench(std::vector<std::string> args, std::chrono::seconds timeout = 60s) {
  args.insert(args.begin(), CHAT_BENCH_PATH);
  ChildProcess bench(std::move(args));
  bench.close_stdin();
  BenchRun run;
  run.exit_code = bench.wait_exit(timeout).value_or(-1);
  run.out = bench.text();
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

// --logins (issue 13): accounts registered, then logged in to over and
// over; every login answered, none refused.
TEST(ChatBenchTest, LoginModeLogsInWithAPassword) {
  server::Config config = test_config(2);
  config.password_cost = "min";
  config.login_attempts_per_min = 0;
  RunningServer server(config);
  const BenchRun run = run_bench({"--port", std::to_string(server.port()), "--logins", "--threads", "2", "--duration",
                                  "0.5", "--warmup", "0.1", "--server-pid", std::to_string(::getpid()), "--json",
                                  "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("\"mode\":\"logins\""), std::string::npos) << run.out;
  EXPECT_GT(json_number(run.out, "logins").value_or(0), 0) << run.out;
  EXPECT_EQ(json_number(run.out, "errors"), 0) << run.out;
  EXPECT_EQ(json_number(run.out, "refused"), 0) << run.out;
  EXPECT_EQ(server->metrics().accounts_registered, 2u);
  // The server saw at least the logins counted in the window.
  EXPECT_GE(static_cast<double>(server->metrics().logins_ok), json_number(run.out, "logins").value_or(1e18)) << run.out;
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

// --also-port and --also-pid (issue 11): a run over two cluster nodes,
// subscribers of each room on both, every process's CPU counted.
TEST(ChatBenchTest, AClusterRunOverTwoNodesHasNoLossDuplicationOrReordering) {
  if (!have_redis_server()) GTEST_SKIP() << "redis-server is not installed";
  RedisProcess redis;
  const auto a = cluster_node(redis.url(), 0);
  const auto b = cluster_node(redis.url(), 1);
  const BenchRun run = run_bench({"--port", std::to_string(a->port()), "--also-port", std::to_string(b->port()),
                                  "--rooms", "2", "--subs", "6", "--pubs", "2", "--rate", "200", "--duration", "1",
                                  "--warmup", "0.5", "--server-pid", std::to_string(a->pid()), "--also-pid",
                                  std::to_string(b->pid()), "--also-pid", std::to_string(redis.pid()), "--json",
                                  "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  for (const char* field : {"lost", "duplicated", "reordered", "seq_gaps", "disconnects", "errors"}) {
    EXPECT_EQ(json_number(run.out, field), 0) << field << " in " << run.out;
  }
  EXPECT_GT(json_number(run.out, "deliveries").value_or(0), 0) << run.out;
  EXPECT_GT(json_number(run.out, "deliveries_per_server_cpu_s").value_or(0), 0) << run.out;
  EXPECT_GT(a->metric("chatd_connections_accepted_total"), 0);
  EXPECT_GT(b->metric("chatd_connections_accepted_total"), 0) << "connections on both nodes";
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
