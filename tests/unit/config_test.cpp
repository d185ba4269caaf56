#include "server/app/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace chat::server {
namespace {

TEST(ConfigTest, ReadsFlags) {
  const char* argv[] = {"chatd", "--port", "9000", "--reactors", "3", "--rate", "0", "--history", "5"};
  auto parsed = parse_config(9, argv);
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.port, 9000);
  EXPECT_EQ(parsed.config.effective_reactors(), 3u);
  EXPECT_EQ(parsed.config.rate_per_sec, 0);
  EXPECT_EQ(parsed.config.history_per_room, 5u);
}

TEST(ConfigTest, ReadsTheEnvironment) {
  ::setenv("CHATD_PORT", "9100", 1);
  const char* argv[] = {"chatd"};
  auto parsed = parse_config(1, argv);
  ::unsetenv("CHATD_PORT");
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.port, 9100);
}

TEST(ConfigTest, RejectsABadValue) {
  const char* argv[] = {"chatd", "--port", "not-a-port"};
  testing::internal::CaptureStderr();
  auto parsed = parse_config(3, argv);
  testing::internal::GetCapturedStderr();
  ASSERT_TRUE(parsed.exit_code);
  EXPECT_NE(*parsed.exit_code, 0);
}

TEST(ConfigTest, RejectsABodyLimitThatCannotFitInAFrame) {
  const char* argv[] = {"chatd", "--max-frame-bytes", "4096", "--max-body-bytes", "4096"};
  testing::internal::CaptureStderr();
  auto parsed = parse_config(5, argv);
  testing::internal::GetCapturedStderr();
  ASSERT_TRUE(parsed.exit_code);
  EXPECT_NE(*parsed.exit_code, 0);
}

TEST(ConfigTest, ReadsTheRoomLimits) {
  const char* defaults[] = {"chatd"};
  auto parsed = parse_config(1, defaults);
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.max_rooms, 10'000u);
  EXPECT_EQ(parsed.config.max_joined, 100u);

  ::setenv("CHATD_MAX_JOINED", "7", 1);
  const char* argv[] = {"chatd", "--max-rooms", "50"};
  parsed = parse_config(3, argv);
  ::unsetenv("CHATD_MAX_JOINED");
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.max_rooms, 50u);
  EXPECT_EQ(parsed.config.max_joined, 7u);
}

TEST(ConfigTest, RejectsARoomLimitOfZero) {
  for (const char* flag : {"--max-rooms", "--max-joined"}) {
    const char* argv[] = {"chatd", flag, "0"};
    testing::internal::CaptureStderr();
    auto parsed = parse_config(3, argv);
    testing::internal::GetCapturedStderr();
    ASSERT_TRUE(parsed.exit_code) << flag;
    EXPECT_NE(*parsed.exit_code, 0) << flag;
  }
}

TEST(ConfigTest, RejectsValuesThatWouldBreakTheProtocolOrItsLimits) {
  const std::vector<std::vector<const char*>> bad = {
      {"--max-history-page", "0"},            // a page could never hold a message
      {"--outbox-cap-bytes", "0"},            // every client dropped at its Welcome
      {"--outbox-cap-bytes", "4294967296"},   // over the Welcome's 32-bit field
      {"--rate", "0.5"},                      // announced as 0, which means unlimited
      {"--rate", "-1"},
      {"--burst", "0"},
      {"--history", "20000000"},
      {"--max-topic-bytes", "65000"},         // a topic frame could not fit in a frame
      {"--shutdown-grace-ms", "-5"},
      {"--max-reply-bytes", "1024"},          // under 16 KiB: a page could not hold a message
      {"--max-reply-bytes", "2000000"},       // over the outbox cap: a reply alone could drop its reader
      {"--outbox-soft-bytes", "2000000"},     // over the hard limit: never reached
      {"--outbox-soft-seconds", "0"},
      {"--send-buffer-bytes", "100000000"},
  };
  for (const auto& args : bad) {
    std::vector<const char*> argv = {"chatd"};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::internal::CaptureStderr();
    auto parsed = parse_config(static_cast<int>(argv.size()), argv.data());
    testing::internal::GetCapturedStderr();
    ASSERT_TRUE(parsed.exit_code) << args[0] << " " << args[1];
    EXPECT_NE(*parsed.exit_code, 0) << args[0] << " " << args[1];
  }
}

TEST(ConfigTest, AcceptsTheEdgesOfEachRange) {
  const char* argv[] = {"chatd", "--rate", "1", "--burst", "1", "--max-history-page", "1",
                        "--outbox-cap-bytes", "65536", "--history", "0", "--replay", "0"};
  auto parsed = parse_config(13, argv);
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.rate_per_sec, 1);
  EXPECT_EQ(parsed.config.max_history_page, 1u);
  EXPECT_EQ(parsed.config.outbox_cap_bytes, 65536u);
  EXPECT_EQ(parsed.config.history_per_room, 0u);
}

TEST(ConfigTest, HistoryMemoryTakesSizesWithUnitsWithinItsRange) {
  const char* mib[] = {"chatd", "--history-memory", "1MiB"};
  auto parsed = parse_config(3, mib);
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.history_memory, std::size_t{1} << 20);
  const char* bytes[] = {"chatd", "--history-memory", "2097152"};
  parsed = parse_config(3, bytes);
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.history_memory, std::size_t{2} << 20);
  for (const char* bad : {"1000", "0", "2TiB", "lots"}) {
    const char* argv[] = {"chatd", "--history-memory", bad};
    testing::internal::CaptureStderr();
    parsed = parse_config(3, argv);
    testing::internal::GetCapturedStderr();
    ASSERT_TRUE(parsed.exit_code) << bad;
    EXPECT_EQ(*parsed.exit_code, kUsageError) << bad;
  }
}

TEST(ConfigTest, ReplyAndSoftLimitsComeFromFlagsOrTheEnvironmentAndFollowASmallerCap) {
  const char* argv[] = {"chatd", "--max-reply-bytes", "65536", "--outbox-soft-seconds", "3",
                        "--send-buffer-bytes", "0"};
  ::setenv("CHATD_OUTBOX_SOFT_BYTES", "131072", 1);
  auto parsed = parse_config(7, argv);
  ::unsetenv("CHATD_OUTBOX_SOFT_BYTES");
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.max_reply_bytes, 65536u);
  EXPECT_EQ(parsed.config.outbox_soft_bytes, 131072u);
  EXPECT_EQ(parsed.config.outbox_soft_seconds, 3u);
  EXPECT_EQ(parsed.config.send_buffer_bytes, 0u);

  // Left at their defaults, both fit under a smaller cap.
  const char* small[] = {"chatd", "--outbox-cap-bytes", "131072"};
  parsed = parse_config(3, small);
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.max_reply_bytes, 32768u);
  EXPECT_EQ(parsed.config.outbox_soft_bytes, 32768u);
  const Config defaults;
  EXPECT_EQ(defaults.max_reply_bytes, 256u * 1024);
  EXPECT_EQ(defaults.outbox_soft_seconds, 10u);
}

TEST(ConfigTest, TheCostLimitsHaveTheirDefaultsRangesAndEnvironment) {
  const char* none[] = {"chatd"};
  auto defaults = parse_config(1, none);
  ASSERT_FALSE(defaults.exit_code);
  EXPECT_EQ(defaults.config.rate_bytes, 256u * 1024);
  EXPECT_EQ(defaults.config.rate_bytes_burst, 1024u * 1024);
  EXPECT_EQ(defaults.config.rename_rate, 3u);
  EXPECT_EQ(defaults.config.topic_rate, 5u);
  EXPECT_EQ(defaults.config.moderation_rate, 30u);
  EXPECT_EQ(defaults.config.effective_rate_bytes(), 256u * 1024);
  const char* no_rate[] = {"chatd", "--rate", "0"};
  auto unlimited = parse_config(3, no_rate);
  ASSERT_FALSE(unlimited.exit_code);
  EXPECT_EQ(unlimited.config.effective_rate_bytes(), 0u) << "--rate 0 turns the byte budget off too";

  const char* argv[] = {"chatd", "--rate-bytes", "0", "--rate-bytes-burst", "65536", "--rename-rate", "0",
                        "--topic-rate", "10000", "--moderation-rate", "0"};
  auto edges = parse_config(11, argv);
  ASSERT_FALSE(edges.exit_code);
  EXPECT_EQ(edges.config.rate_bytes, 0u);  // unlimited
  EXPECT_EQ(edges.config.rate_bytes_burst, 65536u);
  EXPECT_EQ(edges.config.rename_rate, 0u);
  EXPECT_EQ(edges.config.topic_rate, 10000u);
  EXPECT_EQ(edges.config.moderation_rate, 0u);

  ::setenv("CHATD_RATE_BYTES", "4096", 1);
  ::setenv("CHATD_RENAME_RATE", "1", 1);
  auto from_env = parse_config(1, none);
  ::unsetenv("CHATD_RATE_BYTES");
  ::unsetenv("CHATD_RENAME_RATE");
  ASSERT_FALSE(from_env.exit_code);
  EXPECT_EQ(from_env.config.rate_bytes, 4096u);
  EXPECT_EQ(from_env.config.rename_rate, 1u);

  const std::vector<std::vector<const char*>> bad = {
      {"--rate-bytes", "100"},                  // under 1024 and not 0
      {"--rate-bytes", "4294967296"},           // over the Welcome's 32-bit field
      {"--rate-bytes-burst", "1000"},           // a largest frame could never be read
      {"--rate-bytes-burst", "4294967296"},
      {"--rename-rate", "-1"},
      {"--topic-rate", "10001"},
      {"--moderation-rate", "10001"},
  };
  for (const auto& args : bad) {
    std::vector<const char*> bad_argv = {"chatd"};
    bad_argv.insert(bad_argv.end(), args.begin(), args.end());
    testing::internal::CaptureStderr();
    auto parsed = parse_config(static_cast<int>(bad_argv.size()), bad_argv.data());
    const std::string err = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(parsed.exit_code) << args[0] << " " << args[1];
    EXPECT_EQ(*parsed.exit_code, kUsageError) << args[0] << " " << args[1];
    EXPECT_NE(err.find(args[0]), std::string::npos) << "the message names no flag: " << err;
  }
}

// parse_config with `args` after "chatd"; what it wrote to stderr in `err`.
ParsedConfig parse(std::vector<const char*> args, std::string* err = nullptr) {
  args.insert(args.begin(), "chatd");
  testing::internal::CaptureStderr();
  auto parsed = parse_config(static_cast<int>(args.size()), args.data());
  const std::string text = testing::internal::GetCapturedStderr();
  if (err != nullptr) *err = text;
  return parsed;
}

TEST(ConfigTest, EveryBadFlagNamesTheFlagAndExitsTwo) {
  const std::vector<std::vector<const char*>> bad = {
      {"--port", "not-a-port"}, {"--port", "70000"}, {"--reactors", "5000"}, {"--log-level", "loud"},
      {"--no-such-flag"}, {"--port"}, {"--bind", "no.such.host.invalid"}, {"--metrics", "9100"},
      {"--metrics", "[::1]9100"}, {"--metrics", "[::1]:"}, {"--metrics", "127.0.0.1:99999"},
      {"--metrics", "::1:9100"}, {"--max-body-bytes", "65000"}, {"--rate", "0.5"}, {"--max-topic-bytes", "65000"},
      {"--history", "20000000"}, {"--max-joined", "0"}, {"--idle-timeout-ms", "5"}};
  for (const auto& args : bad) {
    std::string err;
    auto parsed = parse(args, &err);
    ASSERT_TRUE(parsed.exit_code) << args[0];
    EXPECT_EQ(*parsed.exit_code, kUsageError) << args[0] << ": " << err;
    EXPECT_NE(err.find(args[0]), std::string::npos) << "the message names no flag: " << err;
  }
}

TEST(ConfigTest, ResolvesHostNamesAndBracketedAddresses) {
  auto parsed = parse({"--bind", "localhost", "--metrics", "[::1]:9100"});
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.bind, "127.0.0.1") << "a name binds its IPv4 address first";
  EXPECT_EQ(parsed.config.metrics_bind, "::1");
  EXPECT_EQ(parsed.config.metrics_port, 9100);

  parsed = parse({"--bind", "[::1]", "--metrics", "localhost:0"});
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.bind, "::1");
  EXPECT_EQ(parsed.config.metrics_bind, "127.0.0.1");
  EXPECT_EQ(parsed.config.metrics_port, 0);
}

TEST(ConfigTest, MetricsColonPortMeansEveryAddressAndEmptyMeansOff) {
  auto parsed = parse({"--metrics", ":9100"});
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.metrics_bind, "0.0.0.0");
  EXPECT_EQ(parsed.config.metrics_port, 9100);
  parsed = parse({"--metrics", ""});
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.metrics_bind, "") << "off";
}

TEST(ConfigTest, VersionAndHelpExitZero) {
  for (const char* flag : {"--version", "--help"}) {
    testing::internal::CaptureStdout();
    auto parsed = parse({flag});
    const std::string out = testing::internal::GetCapturedStdout();
    ASSERT_TRUE(parsed.exit_code) << flag;
    EXPECT_EQ(*parsed.exit_code, 0) << flag;
    EXPECT_NE(out.find("chatd"), std::string::npos) << flag << ": " << out;
  }
}

// Admission (issue 12): each flag read, each range edge taken and each
// value past it refused naming the flag, and the caps derived from the
// open-file limit.
TEST(ConfigTest, ReadsTheAdmissionFlagsAndChecksTheirRanges) {
  auto parsed = parse({"--max-connections", "0", "--max-connections-per-address", "0", "--connect-rate", "0",
                       "--connect-burst", "1", "--max-pre-login", "0", "--login-timeout-ms", "100",
                       "--max-pre-login-frames", "1"});
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.max_connections_per_address, 0u);
  EXPECT_EQ(parsed.config.connect_rate, 0);
  EXPECT_EQ(parsed.config.login_timeout_ms, 100u);
  EXPECT_EQ(parsed.config.max_pre_login_frames, 1u);
  parsed = parse({"--max-connections", "10000000", "--max-connections-per-address", "10000000", "--connect-rate",
                  "1000000", "--connect-burst", "1000000", "--max-pre-login", "10000000", "--login-timeout-ms",
                  "3600000", "--max-pre-login-frames", "1000"});
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.max_connections, 10'000'000u);
  ::setenv("CHATD_LOGIN_TIMEOUT_MS", "2500", 1);
  ::setenv("CHATD_MAX_CONNECTIONS_PER_ADDRESS", "7", 1);
  parsed = parse({});
  ::unsetenv("CHATD_LOGIN_TIMEOUT_MS");
  ::unsetenv("CHATD_MAX_CONNECTIONS_PER_ADDRESS");
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.login_timeout_ms, 2500u);
  EXPECT_EQ(parsed.config.max_connections_per_address, 7u);

  const std::vector<std::vector<const char*>> bad = {
      {"--max-connections", "-1"},          {"--max-connections", "10000001"},
      {"--max-connections-per-address", "-1"}, {"--connect-rate", "-1"},
      {"--connect-rate", "1000001"},        {"--connect-burst", "0"},
      {"--max-pre-login", "10000001"},      {"--login-timeout-ms", "99"},
      {"--login-timeout-ms", "3600001"},    {"--max-pre-login-frames", "0"},
      {"--max-pre-login-frames", "1001"}};
  for (const auto& args : bad) {
    std::string err;
    parsed = parse(args, &err);
    ASSERT_TRUE(parsed.exit_code) << args[0] << " " << args[1];
    EXPECT_EQ(*parsed.exit_code, kUsageError) << args[0] << " " << args[1];
    EXPECT_NE(err.find(args[0]), std::string::npos) << err;
  }
}

TEST(ConfigTest, DerivesTheConnectionCapsFromTheOpenFileLimit) {
  Config c;
  EXPECT_EQ(c.effective_max_connections(1024), 960u);     // 64 kept for the store, /metrics, listeners
  EXPECT_EQ(c.effective_max_pre_login(1024), 480u);       // half of it by default
  EXPECT_EQ(c.effective_max_connections(100), 50u);       // a tiny limit: half of it
  c.max_connections = 5000;
  EXPECT_EQ(c.effective_max_connections(1024), 960u);     // a flag is capped to what the limit allows
  EXPECT_EQ(c.effective_max_connections(1'048'576), 5000u);
  c.max_pre_login = 9000;
  EXPECT_EQ(c.effective_max_pre_login(1'048'576), 5000u);  // never more than the total
  c.max_pre_login = 10;
  EXPECT_EQ(c.effective_max_pre_login(1'048'576), 10u);
}

}  // namespace
}  // namespace chat::server
