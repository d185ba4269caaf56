// The pieces of issue 12's DM and room-slot limits that need no server:
// the creation budget, the per-address key, the TCP options on accepted
// sockets, and the flags.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <asio.hpp>

#include "server/app/config.hpp"
#include "server/net/address.hpp"
#include "server/net/tcp_transport.hpp"
#include "server/session/creation_budget.hpp"

namespace chat::server {
namespace {

using Clock = CreationBudget::Clock;

TEST(CreationBudgetTest, JoinsInFlightHoldTheirPlacesAndCreationsLeaveTheWindow) {
  CreationBudget budget(2, std::chrono::minutes(1));
  const auto t0 = Clock::now();
  ASSERT_TRUE(budget.try_reserve(t0));
  ASSERT_TRUE(budget.try_reserve(t0));
  EXPECT_FALSE(budget.try_reserve(t0)) << "two pipelined joins hold both places";
  EXPECT_EQ(budget.retry_after_ms(t0), 100u) << "held only by joins in flight";
  budget.settle(false, t0);  // the room existed: nothing charged
  ASSERT_TRUE(budget.try_reserve(t0));
  budget.settle(true, t0);
  budget.settle(true, t0 + std::chrono::seconds(10));
  EXPECT_FALSE(budget.try_reserve(t0 + std::chrono::seconds(20)));
  EXPECT_EQ(budget.retry_after_ms(t0 + std::chrono::seconds(20)), 40'001u);
  EXPECT_TRUE(budget.try_reserve(t0 + std::chrono::seconds(60))) << "the first creation has left the window";
  EXPECT_FALSE(budget.idle(t0 + std::chrono::seconds(60)));
  budget.release(5);
  EXPECT_EQ(budget.in_flight(), 0u);
  EXPECT_TRUE(budget.idle(t0 + std::chrono::seconds(71)));
}

TEST(AddressKeyTest, IPv4IsItselfIPv6CountsByItsSlash64) {
  EXPECT_EQ(address_key("10.1.2.3:5555"), "10.1.2.3");
  EXPECT_EQ(address_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd:5555"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key("[2001:db8:1:2::7]:80"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key("::ffff:10.0.0.9:1234"), "10.0.0.9");
  EXPECT_EQ(address_key("fake"), "fake");
}

int get_int(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  ::getsockopt(fd, level, name, &value, &len);
  return value;
}

TEST(TcpTransportTest, AcceptedSocketsGetAUserTimeoutAndKeepalive) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  asio::ip::tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  asio::ip::tcp::socket accepted = acceptor.accept();
  const int fd = accepted.native_handle();
  TcpTransport transport(std::move(accepted), 20'000);
  EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 20'000);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 20);
  EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 5);

  asio::ip::tcp::socket second(io);
  second.connect(acceptor.local_endpoint());
  asio::ip::tcp::socket plain = acceptor.accept();
  const int plain_fd = plain.native_handle();
  TcpTransport off(std::move(plain), 0);
  EXPECT_EQ(get_int(plain_fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 0) << "0: the kernel's default";
}

ParsedConfig parse(std::vector<const char*> args) {
  args.insert(args.begin(), "chatd");
  testing::internal::CaptureStderr();
  auto parsed = parse_config(static_cast<int>(args.size()), args.data());
  testing::internal::GetCapturedStderr();
  return parsed;
}

TEST(ConfigTest, ReadsTheDmAndRoomSlotLimits) {
  auto parsed = parse({});
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.dm_rate_per_sec, 20u);
  EXPECT_EQ(parsed.config.tcp_user_timeout_ms, 20'000u);
  EXPECT_EQ(parsed.config.room_create_per_min, 20u);
  EXPECT_EQ(parsed.config.room_create_per_address, 100u);
  EXPECT_EQ(parsed.config.max_rooms_per_address, 100u);
  ::setenv("CHATD_MAX_ROOMS_PER_ADDRESS", "7", 1);
  ::setenv("CHATD_DM_RATE", "0", 1);
  parsed = parse({"--room-create-rate", "3", "--room-create-per-address", "9", "--tcp-user-timeout-ms", "0"});
  ::unsetenv("CHATD_MAX_ROOMS_PER_ADDRESS");
  ::unsetenv("CHATD_DM_RATE");
  ASSERT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.config.max_rooms_per_address, 7u);
  EXPECT_EQ(parsed.config.dm_rate_per_sec, 0u) << "0: unlimited";
  EXPECT_EQ(parsed.config.room_create_per_min, 3u);
  EXPECT_EQ(parsed.config.room_create_per_address, 9u);
  EXPECT_EQ(parsed.config.tcp_user_timeout_ms, 0u);
}

TEST(ConfigTest, RejectsDmAndRoomSlotLimitsOutOfRange) {
  const std::vector<std::vector<const char*>> bad = {
      {"--dm-rate", "-1"},         {"--dm-rate", "2000000"},  {"--tcp-user-timeout-ms", "600001"},
      {"--room-create-rate", "0"}, {"--room-create-per-address", "0"}, {"--max-rooms-per-address", "0"},
  };
  for (const auto& args : bad) {
    auto parsed = parse(args);
    ASSERT_TRUE(parsed.exit_code) << args[0] << " " << args[1];
    EXPECT_EQ(*parsed.exit_code, kUsageError) << args[0] << " " << args[1];
  }
}

}  // namespace
}  // namespace chat::server
