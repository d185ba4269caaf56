// Request handlers without sockets: a real reactor driven from the test's
// thread, its sessions on fake transports.
#include "server/session/session.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "server/runtime/reactor.hpp"
#include "server/store/memory_store.hpp"
#include "support/fake_transport.hpp"

namespace chat::server {
namespace {

using testing::FakeTransport;
using testing::FakeWire;

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() {
    context_.config.rate_per_sec = 0;
    context_.config.max_body_bytes = 16;
    context_.reactors = 1;
    context_.epoch = 1;
    v1::ServerFrame welcome;
    welcome.mutable_welcome()->set_epoch(1);
    context_.welcome = common::make_shared_frame(welcome);
    reactors_.push_back(std::make_unique<Reactor>(0, context_, store_));
    reactor().connect(reactors_);
    reactor().attach();
  }
  // A wire holds the session's read handler, which holds the session, which
  // holds the wire: break that ring so nothing outlives the test.
  ~SessionTest() override {
    for (auto& w : wires_) w->reader = nullptr;
  }
  Reactor& reactor() { return *reactors_[0]; }

  std::shared_ptr<FakeWire> connect() {
    auto wire = std::make_shared<FakeWire>();
    wires_.push_back(wire);
    reactor().adopt(std::make_unique<FakeTransport>(wire));
    reactor().poll();
    return wire;
  }
  // Feeds `requests` in one chunk, runs the reactor, returns the frames
  // written since the last call.
  std::vector<v1::ServerFrame> exchange(FakeWire& wire, const std::vector<v1::ClientFrame>& requests) {
    std::string bytes;
    for (const auto& r : requests) bytes += common::encode_frame(r);
    const std::size_t seen = wire.frames().size();
    wire.feed(bytes);
    reactor().poll();
    auto all = wire.frames();
    return {all.begin() + static_cast<std::ptrdiff_t>(seen), all.end()};
  }
  static v1::ClientFrame hello(const std::string& nick, std::uint64_t rid) {
    v1::ClientFrame f;
    f.set_request_id(rid);
    f.mutable_hello()->set_nick(nick);
    return f;
  }
  static v1::ClientFrame join(const std::string& room, std::uint64_t rid) {
    v1::ClientFrame f;
    f.set_request_id(rid);
    f.mutable_join()->set_room(room);
    return f;
  }
  static v1::ClientFrame say(const std::string& room, const std::string& text, std::uint64_t rid) {
    v1::ClientFrame f;
    f.set_request_id(rid);
    f.mutable_say()->set_room(room);
    f.mutable_say()->set_text(text);
    f.mutable_say()->set_client_msg_id(rid * 10);
    return f;
  }
  static v1::ClientFrame ping(std::uint64_t rid) {
    v1::ClientFrame f;
    f.set_request_id(rid);
    f.mutable_ping()->set_nonce(rid);
    return f;
  }

  ServerContext context_;
  MemoryStore store_{context_.config.history_per_room, context_.config.history_memory};
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::vector<std::shared_ptr<FakeWire>> wires_;
};

TEST_F(SessionTest, HelloAndTheRequestsPipelinedBehindItAreEachAnsweredOnceInOrder) {
  auto wire = connect();
  ASSERT_EQ(wire->frames().size(), 1u);
  EXPECT_TRUE(wire->frames()[0].has_welcome());
  const auto replies = exchange(*wire, {hello("ann", 1), join("#r", 2), say("#r", "hi", 3)});
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].hello().nick(), "ann");
  EXPECT_EQ(replies[0].request_id(), 1u);
  EXPECT_EQ(replies[1].join().room(), "#r");
  EXPECT_TRUE(replies[2].has_presence()) << "its own join, as every member sees it";
  EXPECT_EQ(replies[3].message().text(), "hi");
  EXPECT_EQ(replies[3].message().seq(), 1u);
  EXPECT_EQ(replies[3].message().client_msg_id(), 30u) << "the sender's own copy carries its id";
  EXPECT_EQ(replies[3].request_id(), 3u);
  EXPECT_EQ(reactor().nick_count(), 1u);
}

TEST_F(SessionTest, RequestsBeforeHelloAreRefusedAndTheConnectionStays) {
  auto wire = connect();
  const auto replies = exchange(*wire, {join("#r", 1), ping(2)});
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].error().code(), v1::Error::CODE_NOT_LOGGED_IN);
  EXPECT_EQ(replies[1].pong().nonce(), 2u);
  EXPECT_FALSE(wire->closed);
}

TEST_F(SessionTest, EachBadRequestGetsItsTypedErrorAndTheConnectionStays) {
  auto wire = connect();
  exchange(*wire, {hello("ann", 1)});
  const auto replies = exchange(*wire, {join("not a room!", 2), say("#r", "hi", 3), join("#r", 4),
                                        say("#r", "", 5), say("#r", std::string(17, 'x'), 6),
                                        hello("bob", 7), ping(8)});
  std::vector<v1::Error::Code> codes;
  for (const auto& r : replies) {
    if (r.has_error()) codes.push_back(r.error().code());
  }
  EXPECT_EQ(codes, (std::vector<v1::Error::Code>{v1::Error::CODE_INVALID_ROOM, v1::Error::CODE_NOT_A_MEMBER,
                                                 v1::Error::CODE_EMPTY_BODY, v1::Error::CODE_BODY_TOO_LONG,
                                                 v1::Error::CODE_ALREADY_LOGGED_IN}));
  // The pong is this reactor's own answer; the join's comes from the room
  // owner, as mail, so the two may arrive in either order.
  EXPECT_EQ(std::count_if(replies.begin(), replies.end(), [](const auto& r) { return r.pong().nonce() == 8u; }), 1);
  EXPECT_FALSE(wire->closed);
}

TEST_F(SessionTest, ANickTakenElsewhereIsRefusedAndTheRequestsBehindItStillRun) {
  auto ann = connect();
  exchange(*ann, {hello("ann", 1)});
  auto other = connect();
  const auto replies = exchange(*other, {hello("ANN", 1), hello("bob", 2)});
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].error().code(), v1::Error::CODE_NICK_TAKEN);
  EXPECT_EQ(replies[1].hello().nick(), "bob");
}

TEST_F(SessionTest, BytesThatAreNotAClientFrameCloseTheConnectionWithMalformedFrame) {
  auto wire = connect();
  const std::string garbage = "\x03\xff\xff\xff";  // a length, then bytes that do not parse
  wire->feed(garbage);
  reactor().poll();
  const auto frames = wire->frames();
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().error().code(), v1::Error::CODE_MALFORMED_FRAME);
  EXPECT_TRUE(wire->closed);
  for (int i = 0; i < 10 && reactor().session_count() > 0; ++i) reactor().poll();
  EXPECT_EQ(reactor().session_count(), 0u);
}

TEST(ReactorTest, MailToItselfRunsAfterTheSendingHandlerHasReturned) {
  ServerContext context;
  context.reactors = 1;
  MemoryStore store(10, 1 << 20);
  std::vector<std::unique_ptr<Reactor>> reactors;
  reactors.push_back(std::make_unique<Reactor>(0, context, store));
  Reactor& reactor = *reactors[0];
  reactor.connect(reactors);
  reactor.attach();
  reactor.send(0, msg::Join{"#r", "ann", make_session_id(0, 1), 1, 1});
  EXPECT_EQ(reactor.metrics().rooms.load(), 0u) << "not inside the send";
  reactor.poll();
  EXPECT_EQ(reactor.metrics().rooms.load(), 1u);
}

}  // namespace
}  // namespace chat::server
