// Every row of DESIGN.md's "limits and bad input" table: the limit is
// crossed, the typed error checked, and a well-behaved client on the same
// server is shown to be unaffected.
#include <gtest/gtest.h>

#include <map>

#include "support/frames.hpp"
#include "support/server_fixture.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

class BadInputTest : public ::testing::Test {
 protected:
  explicit BadInputTest(server::Config config = test_config(2)) : server_(std::move(config)) {
    good_ = std::make_unique<TestClient>(io_, server_.port(), "good");
    EXPECT_TRUE(good_->join("#calm").has_join());
  }

  // The bystander can still talk, is still connected, and got no error.
  void expect_good_client_unaffected() {
    const std::string text = "still fine " + std::to_string(++probe_);
    auto own = good_->say("#calm", text, 1000 + probe_);
    ASSERT_TRUE(own.has_message()) << own.DebugString();
    EXPECT_EQ(own.message().text(), text);
    EXPECT_TRUE(good_->ping().has_pong());
    EXPECT_FALSE(good_->disconnected());
    EXPECT_TRUE(good_->errors().empty());
  }

  // A raw connection that has read its Welcome.
  std::unique_ptr<RawConnection> raw() {
    auto conn = std::make_unique<RawConnection>(server_.port());
    auto welcome = conn->read_frame();
    EXPECT_TRUE(welcome && welcome->has_welcome());
    return conn;
  }

  RunningServer server_;
  IoThread io_;
  std::unique_ptr<TestClient> good_;
  int probe_ = 0;
};

TEST_F(BadInputTest, OversizedFrameGetsAnErrorThenTheConnectionCloses) {
  auto conn = raw();
  conn->send_bytes(varint(64 * 1024 + 1) + std::string(1000, 'x'));
  EXPECT_EQ(code_of(conn->read_frame()), v1::Error::CODE_FRAME_TOO_LARGE);
  EXPECT_TRUE(conn->wait_closed());
  EXPECT_EQ(server_->metrics().errors_of(v1::Error::CODE_FRAME_TOO_LARGE), 1u);
  expect_good_client_unaffected();
}

TEST_F(BadInputTest, LengthPrefixOfTwoToTheSixtyThirdIsRefused) {
  auto conn = raw();
  conn->send_bytes(varint(1ull << 63));
  EXPECT_EQ(code_of(conn->read_frame()), v1::Error::CODE_FRAME_TOO_LARGE);
  EXPECT_TRUE(conn->wait_closed());
  expect_good_client_unaffected();
}

TEST_F(BadInputTest, UnparsableFrameGetsAnErrorThenTheConnectionCloses) {
  auto conn = raw();
  const std::string garbage = "\xff\xff\xff\xff\x0f";  // a field number of 0 is never valid
  conn->send_bytes(length_prefixed(garbage));
  EXPECT_EQ(code_of(conn->read_frame()), v1::Error::CODE_MALFORMED_FRAME);
  EXPECT_TRUE(conn->wait_closed());
  expect_good_client_unaffected();
}

TEST_F(BadInputTest, InvalidNickIsRefusedAndTheConnectionStaysUsable) {
  TestClient bad(io_, server_.port());
  for (const std::string& nick : std::vector<std::string>{"", "9lives", "two words", std::string(33, 'a')}) {
    EXPECT_EQ(bad.hello(nick).error().code(), v1::Error::CODE_INVALID_NICK) << nick;
  }
  EXPECT_TRUE(bad.hello("fine").has_hello());
  expect_good_client_unaffected();
}

TEST_F(BadInputTest, TakenNickIsRefusedIgnoringCase) {
  TestClient bad(io_, server_.port());
  EXPECT_EQ(bad.hello("GOOD").error().code(), v1::Error::CODE_NICK_TAKEN);
  EXPECT_TRUE(bad.hello("other").has_hello());
  EXPECT_EQ(bad.hello("again").error().code(), v1::Error::CODE_ALREADY_LOGGED_IN);
  expect_good_client_unaffected();
}

TEST_F(BadInputTest, InvalidRoomIsRefused) {
  TestClient bad(io_, server_.port(), "bad");
  for (const std::string& room : std::vector<std::string>{"", "#", "bad room", "#" + std::string(64, 'r')}) {
    EXPECT_EQ(bad.join(room).error().code(), v1::Error::CODE_INVALID_ROOM) << room;
  }
  EXPECT_TRUE(bad.join("#fine").has_join());
  EXPECT_EQ(bad.join("#FINE").error().code(), v1::Error::CODE_ALREADY_A_MEMBER);
  expect_good_client_unaffected();
}

TEST_F(BadInputTest, TooLongOrEmptyBodyIsRefusedAndNotDelivered) {
  TestClient bad(io_, server_.port(), "bad");
  ASSERT_TRUE(bad.join("#calm").has_join());
  EXPECT_EQ(bad.say("#calm", std::string(4097, 'x'), 1).error().code(), v1::Error::CODE_BODY_TOO_LONG);
  EXPECT_EQ(bad.say("#calm", "", 2).error().code(), v1::Error::CODE_EMPTY_BODY);
  EXPECT_EQ(bad.direct("good", std::string(4097, 'x')).error().code(), v1::Error::CODE_BODY_TOO_LONG);
  auto ok = bad.say("#calm", std::string(4096, 'y'), 3);
  ASSERT_TRUE(ok.has_message());
  ASSERT_TRUE(good_->wait_messages("#calm", 1));
  const auto seen = good_->messages("#calm");
  ASSERT_EQ(seen.size(), 1u) << "only the valid message reaches the room";
  EXPECT_EQ(seen[0].text().size(), 4096u);
  expect_good_client_unaffected();
}

TEST_F(BadInputTest, SpeakingInARoomYouHaveNotJoinedIsRefused) {
  TestClient bad(io_, server_.port(), "bad");
  EXPECT_EQ(bad.say("#calm", "let me in", 1).error().code(), v1::Error::CODE_NOT_A_MEMBER);
  EXPECT_EQ(bad.leave("#calm").error().code(), v1::Error::CODE_NOT_A_MEMBER);
  auto topic = bad.call([](client::Client& c, client::ReplyHandler h) { c.set_topic("#calm", "mine", std::move(h)); });
  EXPECT_EQ(topic.error().code(), v1::Error::CODE_NOT_A_MEMBER);
  expect_good_client_unaffected();
  EXPECT_TRUE(good_->messages("#calm").size() == 1u) << "only the probe's own message";
}

TEST_F(BadInputTest, CommandsBeforeLoginAreRefused) {
  TestClient bad(io_, server_.port());
  EXPECT_EQ(bad.join("#calm").error().code(), v1::Error::CODE_NOT_LOGGED_IN);
  EXPECT_EQ(bad.say("#calm", "hi", 1).error().code(), v1::Error::CODE_NOT_LOGGED_IN);
  EXPECT_EQ(bad.direct("good", "hi").error().code(), v1::Error::CODE_NOT_LOGGED_IN);
  EXPECT_TRUE(bad.ping().has_pong()) << "ping works before login";
  EXPECT_TRUE(bad.hello("late").has_hello());
  EXPECT_TRUE(bad.join("#calm").has_join());
  expect_good_client_unaffected();
}

// hello, join and say pipelined and sent a byte at a time, from a connection
// on each of the two reactors, so that for one of them the nick's owner is
// its own reactor and answers inside the read that completed the hello.
// Each request is answered once, in order.
TEST_F(BadInputTest, PipelinedRequestsSentByteByByteAreEachAnsweredOnce) {
  for (int i = 0; i < 2; ++i) {
    auto conn = raw();
    const std::string nick = "byte" + std::to_string(i);
    const std::string bytes = encode_frames({hello_frame(nick, 1), join_frame("#calm", 2),
                                             say_frame("#calm", "one byte at a time", 3), ping_frame(4, 4)});
    for (char c : bytes) conn->send_bytes(std::string_view(&c, 1));

    // The join and the say are answered by the room's owner, the ping at
    // once, so the answers may come in any order. A who for the same room
    // follows any duplicate join or say on the owner's channel, so once it
    // is answered every duplicate would have arrived.
    std::map<std::uint64_t, int> answers;
    ASSERT_TRUE(conn->read_until([&](const v1::ServerFrame& s) {
      EXPECT_FALSE(s.has_error()) << s.DebugString();
      if (s.request_id() != 0) ++answers[s.request_id()];
      return answers.size() == 4;
    })) << nick;
    conn->send_frame(who_frame("#calm", 5));
    ASSERT_TRUE(conn->read_until([&](const v1::ServerFrame& s) {
      EXPECT_FALSE(s.has_error()) << s.DebugString();
      if (s.request_id() != 0) ++answers[s.request_id()];
      return s.request_id() == 5;
    })) << nick;
    EXPECT_EQ(answers, (std::map<std::uint64_t, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}})) << nick;
  }
  EXPECT_EQ(server_->metrics().errors_of(v1::Error::CODE_ALREADY_LOGGED_IN), 0u);
  expect_good_client_unaffected();
}

TEST_F(BadInputTest, UnknownRequestIsRefusedAndTheConnectionStaysUsable) {
  auto conn = raw();
  v1::ClientFrame empty;
  empty.set_request_id(7);
  conn->send_frame(empty);
  auto reply = conn->read_frame();
  EXPECT_EQ(code_of(reply), v1::Error::CODE_UNKNOWN_REQUEST);
  EXPECT_EQ(reply->request_id(), 7u);
  // A field this server does not know (number 99, as a newer client might send).
  const std::string future_field("\x08\x08\x9a\x06\x00", 5);  // request_id 8, field 99 (empty bytes)
  conn->send_bytes(length_prefixed(future_field));
  reply = conn->read_frame();
  EXPECT_EQ(code_of(reply), v1::Error::CODE_UNKNOWN_REQUEST);
  EXPECT_EQ(reply->request_id(), 8u);
  conn->send_frame(ping_frame(1, 9));
  reply = conn->read_frame();
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->has_pong());
  expect_good_client_unaffected();
}

TEST_F(BadInputTest, DirectToAnUnknownNickIsRefused) {
  TestClient bad(io_, server_.port(), "bad");
  EXPECT_EQ(bad.direct("nobody", "hello?").error().code(), v1::Error::CODE_NO_SUCH_NICK);
  EXPECT_EQ(bad.direct("no body", "hello?").error().code(), v1::Error::CODE_INVALID_NICK);
  expect_good_client_unaffected();
}

server::Config rate_limited_config() {
  auto c = test_config(2);
  c.rate_per_sec = 5;
  c.rate_burst = 5;
  return c;
}

class RateLimitTest : public BadInputTest {
 protected:
  RateLimitTest() : BadInputTest(rate_limited_config()) {}
};

// Past its rate a connection is not read until its bucket has refilled to
// half; it is told so once per stall (RATE_LIMITED, request_id 0, with
// retry_after_ms), and none of its requests is dropped.
TEST_F(RateLimitTest, FloodIsSlowedWithOneRetryAfterPerStallAndNothingIsDropped) {
  TestClient flooder(io_, server_.port(), "flood");
  ASSERT_TRUE(flooder.join("#calm").has_join());
  // The byte budget, announced beside the frame rate.
  EXPECT_EQ(flooder.welcome().limits().rate_bytes_per_sec(), 256u * 1024);
  EXPECT_EQ(flooder.welcome().limits().rate_bytes_burst(), 1024u * 1024);
  constexpr int kSent = 20;
  const auto from = std::chrono::steady_clock::now();
  for (int i = 0; i < kSent; ++i) flooder.say_async("#calm", "flood " + std::to_string(i), i + 1);
  ASSERT_TRUE(flooder.wait([&] { return flooder.replies().size() == kSent; }, 20s));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();

  std::vector<std::string> accepted;
  for (const auto& reply : flooder.replies()) {
    ASSERT_TRUE(reply.has_message()) << reply.DebugString();
    accepted.push_back(reply.message().text());
  }
  for (int i = 0; i < kSent; ++i) EXPECT_EQ(accepted[i], "flood " + std::to_string(i)) << "in order";
  // Hello and join took 2 of the 5 tokens; the rest came at 5 a second.
  EXPECT_GE(seconds, (kSent - 3) / 5.0 * 0.9);
  int limited = 0;
  for (const auto& error : flooder.errors()) {
    ASSERT_EQ(error.code(), v1::Error::CODE_RATE_LIMITED);
    EXPECT_EQ(error.request_id(), 0u);
    EXPECT_GT(error.retry_after_ms(), 0u);
    // A stall lasts until half the burst (2.5 tokens) is back: 500 ms at most.
    EXPECT_LE(error.retry_after_ms(), 501u);
    EXPECT_NE(error.message().find("frame rate"), std::string::npos) << error.message();
    ++limited;
  }
  // One per stall, and each stall lets at least 2 requests through.
  EXPECT_GT(limited, 0);
  EXPECT_LE(limited, kSent / 2);
  EXPECT_EQ(server_->metrics().rate_limited, static_cast<std::uint64_t>(limited));
  EXPECT_EQ(server_->metrics().errors_of(v1::Error::CODE_RATE_LIMITED), static_cast<std::uint64_t>(limited));

  // The room got every message, in order.
  ASSERT_TRUE(good_->wait_messages("#calm", accepted.size()));
  std::vector<std::string> seen;
  for (const auto& m : good_->messages("#calm")) seen.push_back(m.text());
  EXPECT_EQ(seen, accepted);

  // After waiting as told, the flooder may speak again. A sleep, because
  // waiting is the point: longer than any retry_after it was given (checked
  // above), and nothing else to wait for.
  std::this_thread::sleep_for(600ms);
  EXPECT_TRUE(flooder.say("#calm", "sorry", 99).has_message());
  // The good client has a bucket of its own, which its hello, join, say and
  // ping (4 of 5 tokens) never empty: no refill to wait for.
  expect_good_client_unaffected();
}

server::Config slow_consumer_config() {
  auto c = test_config(2);
  c.rate_per_sec = 0;
  c.outbox_cap_bytes = 256 * 1024;
  return c;
}

class SlowConsumerTest : public BadInputTest {
 protected:
  SlowConsumerTest() : BadInputTest(slow_consumer_config()) {}
};

TEST_F(SlowConsumerTest, AClientThatStopsReadingIsDroppedAndOthersGetEverything) {
  // The slow client shrinks its receive buffer, logs in, joins, and then
  // never reads again.
  RawConnection slow(server_.port(), 4096);
  ASSERT_TRUE(login_and_join(slow, "slow", "#calm").has_join());

  TestClient publisher(io_, server_.port(), "pub");
  ASSERT_TRUE(publisher.join("#calm").has_join());
  auto slow_dropped = [&] {
    for (const auto& p : good_->presences()) {
      if (p.nick() == "slow" && p.reason() == v1::Presence::REASON_SLOW_CONSUMER) return true;
    }
    return false;
  };
  const std::string body(4000, 'b');
  int sent = 0;
  // Bursts of 40 KB stay well under the cap, so readers that keep up are
  // never at risk; the slow reader's backlog only grows.
  while (!slow_dropped() && sent < 20'000) {
    for (int i = 0; i < 10; ++i, ++sent) publisher.say_async("#calm", std::to_string(sent) + body, sent + 1);
    ASSERT_TRUE(publisher.wait([&] { return publisher.replies().size() == static_cast<std::size_t>(sent); }));
  }
  ASSERT_TRUE(good_->wait(slow_dropped)) << "the slow client was never dropped";
  EXPECT_EQ(server_->metrics().slow_consumer_disconnects, 1u);

  // Everyone else got every message, in order, with no gap.
  ASSERT_TRUE(good_->wait_messages("#calm", sent, 30s));
  const auto seen = good_->messages("#calm");
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(sent));
  for (int i = 0; i < sent; ++i) {
    ASSERT_EQ(seen[i].seq(), static_cast<std::uint64_t>(i + 1));
    ASSERT_EQ(seen[i].text().substr(0, std::to_string(i).size()), std::to_string(i));
  }
  // The slow client finds its connection closed once it reads again.
  EXPECT_TRUE(slow.wait_closed(10s));
  expect_good_client_unaffected();
}

server::Config idle_config() {
  auto c = test_config(2);
  c.idle_timeout_ms = 400;
  return c;
}

class IdleTest : public BadInputTest {
 protected:
  IdleTest() : BadInputTest(idle_config()) {}
};

TEST_F(IdleTest, ASilentConnectionIsPingedThenClosed) {
  auto conn = raw();
  auto ping = conn->read_until([](const v1::ServerFrame& f) { return f.has_ping(); }, 3s);
  ASSERT_TRUE(ping) << "no ping before the timeout";
  auto error = conn->read_until([](const v1::ServerFrame& f) { return f.has_error(); }, 3s);
  EXPECT_EQ(code_of(error), v1::Error::CODE_IDLE_TIMEOUT);
  EXPECT_TRUE(conn->wait_closed());
  EXPECT_GE(server_->metrics().idle_timeouts, 1u);
  // The good client answers pings (the library does), so it outlives several
  // timeouts. A sleep, because the time passing is what is tested: three
  // idle timeouts' worth of it.
  std::this_thread::sleep_for(1200ms);
  expect_good_client_unaffected();
}

}  // namespace
}  // namespace chat::testing
