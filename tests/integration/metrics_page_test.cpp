// The operator's HTTP endpoint of the real chatd: which paths and methods it
// answers, that the page is valid Prometheus text (promtool), and the
// process_*, build-info and delivery-latency metrics on it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <string>

#include "common/version.hpp"
#include "support/chatd_process.hpp"
#include "support/child_process.hpp"
#include "support/test_client.hpp"
#include "support/wait.hpp"

namespace chat::testing {
namespace {

TEST(MetricsPageTest, HealthzAnswers200AndEveryOtherPath404) {
  ChatdProcess chatd({});
  const HttpReply health = chatd.http("GET", "/healthz");
  EXPECT_EQ(health.status, 200) << health.head;
  EXPECT_EQ(health.body, "ok\n");
  for (const char* path : {"/", "/nope", "/metricsx", "/healthz/x", "/metrics/"}) {
    const HttpReply reply = chatd.http("GET", path);
    EXPECT_EQ(reply.status, 404) << path;
    EXPECT_EQ(reply.body.find("chatd_"), std::string::npos) << path << ": the page leaked";
  }
  // A query string does not change the path.
  EXPECT_EQ(chatd.http("GET", "/metrics?x=1").status, 200);
  EXPECT_NE(chatd.http("GET", "/metrics").body.find("chatd_connections_open"), std::string::npos);
}

TEST(MetricsPageTest, OnlyGetAndHeadAreAllowed) {
  ChatdProcess chatd({});
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    const HttpReply reply = chatd.http(method, "/metrics");
    EXPECT_EQ(reply.status, 405) << method;
    EXPECT_NE(reply.head.find("Allow: GET, HEAD"), std::string::npos) << reply.head;
  }
  const HttpReply head = chatd.http("HEAD", "/metrics");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "") << "HEAD has no body";
  EXPECT_NE(head.head.find("Content-Length: "), std::string::npos);
}

TEST(MetricsPageTest, PagePassesPromtoolCheckMetrics) {
  // CI installs promtool (Debian's prometheus package, .ci/install-deps).
  if (::access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  ChatdProcess chatd({{"--reactors", "2"}});
  IoThread io;
  TestClient ann(io, chatd.port(), "ann");
  TestClient bob(io, chatd.port(), "bob");
  ASSERT_TRUE(ann.join("#p").has_join());
  ASSERT_TRUE(bob.join("#p").has_join());
  ASSERT_TRUE(ann.say("#p", "so the histogram has counts").has_message());
  ASSERT_TRUE(bob.wait_messages("#p", 1));
  const HttpReply page = chatd.http("GET", "/metrics");
  ASSERT_EQ(page.status, 200);

  // promtool reads the page on stdin; its findings go to stdout with 2>&1.
  ChildProcess promtool({"/bin/sh", "-c", "/usr/bin/promtool check metrics 2>&1"});
  std::string body = page.body;
  if (!body.empty() && body.back() == '\n') body.pop_back();
  promtool.write_line(body);
  promtool.close_stdin();
  EXPECT_EQ(promtool.wait_exit(60s), 0) << promtool.text() << "\n--- the page:\n" << page.body;
  EXPECT_EQ(promtool.text(), "") << "promtool found problems";
}

TEST(MetricsPageTest, ReportsProcessMetricsBuildInfoAndDeliveryLatency) {
  ChatdProcess chatd({.args = {"--reactors", "2"}, .max_fds = 500});
  IoThread io;
  TestClient ann(io, chatd.port(), "ann");
  TestClient bob(io, chatd.port(), "bob");
  ASSERT_TRUE(ann.join("#lat").has_join());
  ASSERT_TRUE(bob.join("#lat").has_join());
  constexpr int kMessages = 10;
  for (int i = 1; i <= kMessages; ++i) ASSERT_TRUE(ann.say("#lat", "m" + std::to_string(i)).has_message());
  ASSERT_TRUE(bob.wait_messages("#lat", kMessages));
  // Each message went to two members: ann's own copy and bob's. A frame is
  // observed once its write is done, just after the client could read it.
  const std::string count = "chatd_delivery_latency_seconds_count";
  EXPECT_TRUE(wait_until([&] { return chatd.metric(count) == 2 * kMessages; }, 5s)) << chatd.metric(count);

  const auto m = chatd.metrics();
  EXPECT_EQ(m.at("chatd_delivery_latency_seconds_bucket{le=\"+Inf\"}"), 2 * kMessages);
  EXPECT_GT(m.at("chatd_delivery_latency_seconds_sum"), 0);
  EXPECT_LT(m.at("chatd_delivery_latency_seconds_sum"), 2 * kMessages * 1.0) << "over a second per delivery";
  EXPECT_LE(m.at("chatd_delivery_latency_seconds_bucket{le=\"0.001\"}"),
            m.at("chatd_delivery_latency_seconds_bucket{le=\"0.01\"}"));
  EXPECT_EQ(m.at("chatd_build_info{version=\"" + std::string(common::kVersion) + "\"}"), 1);

  EXPECT_EQ(m.at("process_max_fds"), 500);
  // The page was read over one more descriptor than chatd holds between requests.
  EXPECT_NEAR(m.at("process_open_fds"), static_cast<double>(chatd.open_fds()), 2);
  EXPECT_NEAR(m.at("process_resident_memory_bytes"), static_cast<double>(chatd.rss_bytes()), 4 << 20);
  EXPECT_GE(m.at("process_cpu_seconds_total"), 0);
  EXPECT_LE(m.at("process_cpu_seconds_total"), chatd.cpu_seconds() + 0.05);
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(m.at("process_start_time_seconds"), now, 120) << "chatd started a moment ago";
}

}  // namespace
}  // namespace chat::testing
