// Survival under abuse, against the real chatd process: each test checks the
// behaviour and the server's own counters (/metrics).
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "support/chatd_process.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

// Sanitizer runtimes keep freed memory in quarantine, so RSS says nothing
// about the server's own memory under them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kMeasuresMemory = false;
#else
constexpr bool kMeasuresMemory = true;
#endif

std::string varint(std::uint64_t v) {
  std::string out(common::varint_size(v), '\0');
  common::write_varint(v, out.data());
  return out;
}

v1::ClientFrame hello_frame(const std::string& nick, std::uint64_t id = 1) {
  v1::ClientFrame f;
  f.set_request_id(id);
  f.mutable_hello()->set_nick(nick);
  return f;
}

v1::ClientFrame join_frame(const std::string& room, std::uint64_t id = 2) {
  v1::ClientFrame f;
  f.set_request_id(id);
  f.mutable_join()->set_room(room);
  return f;
}

// A client that logs in, joins, then never reads again (tiny receive buffer).
std::unique_ptr<RawConnection> stalled_member(std::uint16_t port, const std::string& nick, const std::string& room) {
  auto conn = std::make_unique<RawConnection>(port, 4096);
  conn->send_frame(hello_frame(nick));
  conn->send_frame(join_frame(room));
  EXPECT_TRUE(conn->read_until([](const v1::ServerFrame& f) { return f.has_join(); }));
  return conn;
}

TEST(SurvivalTest, StalledReadersAreDroppedOthersGetEverythingMemoryStaysBounded) {
  constexpr std::size_t kCap = 256 * 1024;
  constexpr int kHistory = 200;
  ChatdProcess chatd({{"--reactors", "2", "--rate", "0", "--history", std::to_string(kHistory),
                       "--outbox-cap-bytes", std::to_string(kCap)}});
  IoThread io;
  TestClient watcher(io, chatd.port(), "watcher");
  TestClient publisher(io, chatd.port(), "pub");
  ASSERT_TRUE(watcher.join("#busy").has_join());
  ASSERT_TRUE(publisher.join("#busy").has_join());
  std::vector<std::unique_ptr<RawConnection>> stalled;
  for (int i = 0; i < 3; ++i) stalled.push_back(stalled_member(chatd.port(), "stall" + std::to_string(i), "#busy"));
  const std::size_t rss_before = chatd.rss_bytes();

  const std::string body(4000, 'b');
  int sent = 0;
  auto publish = [&](int n) {
    for (int i = 0; i < n; ++i, ++sent) publisher.say_async("#busy", std::to_string(sent) + " " + body, sent + 1);
    ASSERT_TRUE(publisher.wait([&] { return publisher.replies().size() == static_cast<std::size_t>(sent); }));
  };
  // A steady stream in 40 KB steps, until all three are dropped...
  while (chatd.metric("chatd_slow_consumer_disconnects_total") < 3 && sent < 20'000) publish(10);
  EXPECT_EQ(chatd.metric("chatd_slow_consumer_disconnects_total"), 3);
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_SLOW_CONSUMER\"}"), 3);
  // ...and as much again afterwards.
  const int first_phase = sent;
  while (sent < 2 * first_phase) publish(10);

  ASSERT_TRUE(watcher.wait_messages("#busy", sent, 30s));
  const auto seen = watcher.messages("#busy");
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(sent));
  for (int i = 0; i < sent; ++i) ASSERT_EQ(seen[i].seq(), static_cast<std::uint64_t>(i + 1));
  std::set<std::string> dropped;
  for (const auto& p : watcher.presences()) {
    if (p.reason() == v1::Presence::REASON_SLOW_CONSUMER) dropped.insert(p.nick());
  }
  EXPECT_EQ(dropped, (std::set<std::string>{"stall0", "stall1", "stall2"}));
  for (auto& conn : stalled) EXPECT_TRUE(conn->wait_closed(10s));
  // Counted closed just after the socket is, so the count may trail the EOF.
  EXPECT_TRUE(chatd.wait_metric("chatd_connections_open", 2, 5s))
      << "connections_open is " << chatd.metric("chatd_connections_open");

  const std::size_t published_bytes = static_cast<std::size_t>(sent) * body.size();
  const std::size_t growth = chatd.rss_bytes() > rss_before ? chatd.rss_bytes() - rss_before : 0;
  RecordProperty("published_bytes", std::to_string(published_bytes));
  RecordProperty("rss_growth_bytes", std::to_string(growth));
  if (kMeasuresMemory) {
    // What the server may hold: the history ring, three outboxes at their
    // cap, and allocator slack. A server that buffered for the stalled
    // readers would hold three times what was published.
    const std::size_t allowed = kHistory * (body.size() + 200) + 3 * kCap + 16 * 1024 * 1024;
    EXPECT_LT(growth, allowed) << "published " << published_bytes << " bytes";
  }
}

// A reader that lets its socket fill and then catches up gets every frame
// whole and in order. Its outbox holds small frames (coalesced into one
// segment of the gather write) and large ones (segments of their own), and
// the full socket cuts writes anywhere inside either. About 7 MB go out:
// more than the kernel buffers for one socket (tcp_wmem's 4 MiB at most),
// so the server's writes do stop part-way.
TEST(SurvivalTest, AReaderThatFallsBehindThenCatchesUpGetsEveryFrameWholeAndInOrder) {
  ChatdProcess chatd({{"--reactors", "2", "--rate", "0", "--outbox-cap-bytes", std::to_string(64 << 20)}});
  IoThread io;
  TestClient publisher(io, chatd.port(), "pub");
  ASSERT_TRUE(publisher.join("#mix").has_join());
  RawConnection reader(chatd.port(), 4096);
  reader.send_frame(hello_frame("behind"));
  reader.send_frame(join_frame("#mix"));
  const auto joined = reader.read_until([](const v1::ServerFrame& f) { return f.has_join(); });
  ASSERT_TRUE(joined);
  const std::uint64_t first_seq = joined->join().last_seq() + 1;

  // Every 7th message is larger than the coalescing limit (2 KiB); the rest
  // are up to 2 KiB. Each text says which it is.
  constexpr int kMessages = 4000;
  std::vector<std::string> texts;
  for (int i = 0; i < kMessages; ++i) {
    const std::size_t pad = i % 7 == 0 ? 3000 + i % 1000 : 1000 + static_cast<std::size_t>(i * 37 % 1000);
    texts.push_back(std::to_string(i) + ":" + std::string(pad, static_cast<char>('a' + i % 26)));
  }
  for (int i = 0; i < kMessages; ++i) publisher.say_async("#mix", texts[i], static_cast<std::uint64_t>(i + 1));
  ASSERT_TRUE(publisher.wait([&] { return publisher.replies().size() == static_cast<std::size_t>(kMessages); }, 30s));
  for (const auto& r : publisher.replies()) ASSERT_TRUE(r.has_message()) << r.DebugString();

  // Only now does the reader read: everything was queued behind a full socket.
  std::vector<v1::RoomMessage> got;
  while (got.size() < texts.size()) {
    auto f = reader.read_frame(10s);
    ASSERT_TRUE(f) << "the stream ended after " << got.size() << " messages";
    if (f->has_message()) got.push_back(f->message());
  }
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_EQ(got[i].seq(), first_seq + static_cast<std::uint64_t>(i));
    ASSERT_EQ(got[i].text(), texts[i]) << "message " << i;
  }
  EXPECT_EQ(chatd.metric("chatd_slow_consumer_disconnects_total"), 0);
}

TEST(SurvivalTest, FloodIsRateLimitedWithRetryAfterAndOthersAreUnaffected) {
  ChatdProcess chatd({{"--reactors", "2", "--rate", "20", "--burst", "20"}});
  IoThread io;
  TestClient listener(io, chatd.port(), "listener");
  TestClient neighbour(io, chatd.port(), "neighbour");
  ASSERT_TRUE(listener.join("#r").has_join());
  ASSERT_TRUE(neighbour.join("#r").has_join());

  RawConnection flood(chatd.port());
  flood.send_frame(hello_frame("flood"));
  flood.send_frame(join_frame("#r"));
  ASSERT_TRUE(flood.read_until([](const v1::ServerFrame& f) { return f.has_join(); }));
  constexpr int kFlood = 500;
  std::string burst;
  for (int i = 0; i < kFlood; ++i) {
    v1::ClientFrame say;
    say.set_request_id(100 + i);
    say.mutable_say()->set_room("#r");
    say.mutable_say()->set_text("flood " + std::to_string(i));
    burst += common::encode_frame(say);
  }
  flood.send_bytes(burst);
  // The neighbour keeps talking during the flood, within its own budget.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(neighbour.say("#r", "calm " + std::to_string(i), i + 1).has_message());

  std::vector<std::string> accepted;
  int limited = 0;
  std::set<std::uint64_t> answered;
  while (answered.size() < kFlood) {
    auto f = flood.read_frame(10s);
    ASSERT_TRUE(f) << "only " << answered.size() << " of " << kFlood << " answered";
    if (f->request_id() < 100) continue;  // presence and the like
    answered.insert(f->request_id());
    if (f->has_message()) {
      accepted.push_back(f->message().text());
    } else {
      ASSERT_EQ(f->error().code(), v1::Error::CODE_RATE_LIMITED);
      EXPECT_GT(f->error().retry_after_ms(), 0u);
      ++limited;
    }
  }
  EXPECT_GT(limited, 0);
  EXPECT_EQ(accepted.size() + limited, static_cast<std::size_t>(kFlood));
  EXPECT_EQ(chatd.metric("chatd_rate_limited_total"), limited);
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_RATE_LIMITED\"}"), limited);

  // The listener saw exactly what was accepted, in order, and all of the neighbour's.
  ASSERT_TRUE(listener.wait_messages("#r", accepted.size() + 10));
  std::vector<std::string> from_flood;
  int from_neighbour = 0;
  for (const auto& m : listener.messages("#r")) {
    if (m.sender() == "flood") from_flood.push_back(m.text());
    if (m.sender() == "neighbour") ++from_neighbour;
  }
  EXPECT_EQ(from_flood, accepted);
  EXPECT_EQ(from_neighbour, 10);
  EXPECT_TRUE(neighbour.errors().empty());
}

TEST(SurvivalTest, OutOfFileDescriptorsKeepsServingDoesNotSpinAndRecovers) {
  ChatdProcess chatd({{"--reactors", "2"}, 64});
  IoThread io;
  std::vector<std::unique_ptr<TestClient>> members;
  for (int i = 0; i < 8; ++i) {
    members.push_back(std::make_unique<TestClient>(io, chatd.port(), "m" + std::to_string(i)));
    ASSERT_TRUE(members.back()->join("#fd").has_join());
  }
  // Far more connections than the server has descriptors left.
  std::vector<std::unique_ptr<RawConnection>> hogs;
  for (int i = 0; i < 120; ++i) hogs.push_back(std::make_unique<RawConnection>(chatd.port()));
  std::this_thread::sleep_for(300ms);
  EXPECT_LT(chatd.metric("chatd_connections_open"), 0) << "even /metrics should be out of reach at the limit";

  // Connected clients are served as before.
  ASSERT_TRUE(members[0]->say("#fd", "still here", 1).has_message());
  for (auto& m : members) EXPECT_TRUE(m->wait_messages("#fd", 1));

  // Not spinning: over a second at the limit, the server is nearly idle.
  const double cpu_before = chatd.cpu_seconds();
  std::this_thread::sleep_for(1s);
  EXPECT_LT(chatd.cpu_seconds() - cpu_before, 0.5);

  // Free the descriptors; a new client gets in.
  hogs.clear();
  std::unique_ptr<TestClient> late;
  for (int tries = 0; tries < 50 && !late; ++tries) {
    try {
      late = std::make_unique<TestClient>(io, chatd.port(), "late");
    } catch (const std::exception&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  ASSERT_TRUE(late) << "the server never accepted again";
  EXPECT_GT(chatd.metric("chatd_accept_errors_total"), 0) << "the limit was never reached";
  ASSERT_TRUE(late->join("#fd").has_join());
  EXPECT_TRUE(late->say("#fd", "made it", 1).has_message());
}

TEST(SurvivalTest, ConnectionChurnLeavesNoDescriptorsOrMemoryBehind) {
  ChatdProcess chatd({{"--reactors", "2", "--rate", "0"}});
  const auto frame_bytes = [](const v1::ClientFrame& f) { return common::encode_frame(f); };
  auto churn = [&](int n) {
    for (int i = 0; i < n; ++i) {
      RawConnection c(chatd.port());
      switch (i % 4) {
        case 0:  // connect and go
          break;
        case 1:  // half a frame, then go
          c.send_bytes(frame_bytes(hello_frame("half" + std::to_string(i))).substr(0, 4));
          break;
        case 2:  // log in, join, say, go
          c.send_bytes(frame_bytes(hello_frame("churn" + std::to_string(i))) + frame_bytes(join_frame("#churn")));
          break;
        case 3:  // a length prefix and no frame
          c.send_bytes(varint(60'000));
          break;
      }
    }
  };
  // Connections finish in the kernel's backlog before the server accepts
  // them, so wait for the server to have seen them all, then for them to close.
  auto settle = [&](double accepted) {
    for (int tries = 0; tries < 500; ++tries) {
      const auto m = chatd.metrics();
      if (m.at("chatd_connections_accepted_total") >= accepted && m.at("chatd_connections_open") == 0) break;
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(chatd.metric("chatd_connections_accepted_total"), accepted);
    EXPECT_EQ(chatd.metric("chatd_connections_open"), 0);
  };
  // The descriptor count once it has stopped moving (a /metrics exchange
  // closes its socket just after answering).
  auto settled_fds = [&] {
    std::size_t last = chatd.open_fds();
    for (int tries = 0; tries < 50; ++tries) {
      std::this_thread::sleep_for(50ms);
      const std::size_t now = chatd.open_fds();
      if (now == last) break;
      last = now;
    }
    return last;
  };
  churn(400);  // warm up allocators and the kernel's socket caches
  settle(400);
  const std::size_t fds_before = settled_fds();
  const std::size_t rss_before = chatd.rss_bytes();
  churn(3000);
  settle(3400);
  EXPECT_EQ(settled_fds(), fds_before);
  if (kMeasuresMemory) {
    EXPECT_LT(chatd.rss_bytes(), rss_before + 4 * 1024 * 1024)
        << "RSS grew from " << rss_before << " to " << chatd.rss_bytes();
  }
  // And it still works.
  IoThread io;
  TestClient after(io, chatd.port(), "after");
  EXPECT_TRUE(after.join("#churn").has_join());
}

TEST(SurvivalTest, RoomChurnLeavesNoRoomsBehindAndRoomsWithHistoryStopAtTheCap) {
  ChatdProcess chatd({{"--reactors", "2", "--rate", "0", "--max-rooms", "10", "--history", "50"}});
  IoThread io;
  TestClient keeper(io, chatd.port(), "keeper");
  EXPECT_EQ(keeper.welcome().limits().max_rooms(), 10u);
  ASSERT_TRUE(keeper.join("#home").has_join());
  ASSERT_TRUE(keeper.say("#home", "home", 1).has_message());
  const double baseline = chatd.metric("chatd_rooms");
  EXPECT_EQ(baseline, 1);
  auto rooms_settle_at = [&](double expected) {
    for (int tries = 0; tries < 250 && chatd.metric("chatd_rooms") != expected; ++tries) {
      std::this_thread::sleep_for(20ms);
    }
    return chatd.metric("chatd_rooms");
  };

  // 1000 fresh names, joined and left in pipelined batches of 50: far more
  // than the cap of 10 (5 per reactor), and every join works because a room
  // that empties without a message or topic is deleted.
  RawConnection churner(chatd.port());
  ASSERT_TRUE(churner.read_frame());
  churner.send_frame(hello_frame("churner"));
  ASSERT_TRUE(churner.read_until([](const v1::ServerFrame& f) { return f.has_hello(); }));
  std::uint64_t id = 10;
  for (int batch = 0; batch < 20; ++batch) {
    std::string bytes;
    std::set<std::uint64_t> waiting;
    for (int i = 0; i < 50; ++i) {
      const std::string room = "#fresh" + std::to_string(batch * 50 + i);
      bytes += common::encode_frame(join_frame(room, id));
      waiting.insert(id++);
      v1::ClientFrame leave;
      leave.set_request_id(id);
      leave.mutable_leave()->set_room(room);
      bytes += common::encode_frame(leave);
      waiting.insert(id++);
    }
    churner.send_bytes(bytes);
    while (!waiting.empty()) {
      auto f = churner.read_frame(10s);
      ASSERT_TRUE(f) << "batch " << batch << ": " << waiting.size() << " unanswered";
      if (f->request_id() == 0) continue;
      ASSERT_TRUE(f->request_id() % 2 == 0 ? f->has_join() : f->has_leave()) << f->DebugString();
      waiting.erase(f->request_id());
    }
    ASSERT_EQ(rooms_settle_at(baseline), baseline) << "after batch " << batch;
  }
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_TOO_MANY_ROOMS\"}"), 0);

  // A room that had a message outlives its members, and so does its history.
  TestClient visitor(io, chatd.port(), "visitor");
  ASSERT_TRUE(visitor.join("#kept").has_join());
  ASSERT_TRUE(visitor.say("#kept", "remember me", 1).has_message());
  ASSERT_TRUE(visitor.leave("#kept").has_leave());
  EXPECT_EQ(rooms_settle_at(baseline + 1), baseline + 1);
  auto rejoin = visitor.join("#kept");
  ASSERT_TRUE(rejoin.has_join());
  ASSERT_EQ(rejoin.join().recent_size(), 1);
  EXPECT_EQ(rejoin.join().recent(0).text(), "remember me");
  EXPECT_EQ(rejoin.join().last_seq(), 1u);
  ASSERT_TRUE(visitor.leave("#kept").has_leave());

  // Join, fill the history, leave, with new names: the rooms stay (their
  // history must not vanish under clients that catch up), but only up to
  // the cap; past it, creating a room is refused.
  const std::string text(1000, 'h');
  int refused = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string room = "#fill" + std::to_string(i);
    auto join = visitor.join(room);
    if (!join.has_join()) {
      ASSERT_EQ(join.error().code(), v1::Error::CODE_TOO_MANY_ROOMS) << join.DebugString();
      ++refused;
      continue;
    }
    for (int n = 0; n < 60; ++n) ASSERT_TRUE(visitor.say(room, text, n + 1).has_message());
    ASSERT_TRUE(visitor.leave(room).has_leave());
  }
  EXPECT_EQ(chatd.metric("chatd_rooms"), 10);
  EXPECT_EQ(40 - refused, 10 - 2) << "#home and #kept hold two of the ten";
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_TOO_MANY_ROOMS\"}"), refused);

  // The keeper was never disturbed, and rooms that exist still take joins.
  EXPECT_TRUE(keeper.say("#home", "still home", 2).has_message());
  EXPECT_TRUE(keeper.errors().empty());
  EXPECT_TRUE(visitor.join("#home").has_join());
  ASSERT_TRUE(keeper.wait_messages("#home", 2));
}

TEST(SurvivalTest, GarbageAndHalfOpenConnectionsGetATypedErrorOrACleanClose) {
  ChatdProcess chatd({{"--reactors", "2", "--idle-timeout-ms", "600"}});
  std::mt19937 rng(20261122);
  int typed_errors = 0;
  for (int i = 0; i < 60; ++i) {  // random bytes
    RawConnection c(chatd.port());
    ASSERT_TRUE(c.read_frame());  // welcome
    std::string junk(1 + rng() % 4096, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    c.send_bytes(junk);
    // Whatever it makes of the bytes, the connection ends: by an error frame
    // then close, or at the latest by the idle timeout.
    std::optional<v1::ServerFrame> last;
    while (auto f = c.read_frame(5s)) last = f;
    EXPECT_TRUE(c.eof()) << "connection " << i << " neither answered nor closed";
    if (last && last->has_error()) ++typed_errors;
  }
  EXPECT_GT(typed_errors, 0);

  {  // a length prefix of 2^63
    RawConnection c(chatd.port());
    c.send_bytes(varint(1ull << 63));
    auto e = c.read_until([](const v1::ServerFrame& f) { return f.has_error(); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->error().code(), v1::Error::CODE_FRAME_TOO_LARGE);
    EXPECT_TRUE(c.wait_closed());
  }
  {  // a valid frame, one byte per write
    RawConnection c(chatd.port());
    for (char byte : common::encode_frame(hello_frame("slowpoke"))) {
      c.send_bytes(std::string(1, byte));
      std::this_thread::sleep_for(2ms);
    }
    auto hello = c.read_until([](const v1::ServerFrame& f) { return f.has_hello() || f.has_error(); });
    ASSERT_TRUE(hello);
    EXPECT_TRUE(hello->has_hello());
  }
  {  // half a frame, then silence: closed by the idle timeout
    RawConnection c(chatd.port());
    c.send_bytes(common::encode_frame(hello_frame("halfopen")).substr(0, 3));
    auto e = c.read_until([](const v1::ServerFrame& f) { return f.has_error(); }, 5s);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->error().code(), v1::Error::CODE_IDLE_TIMEOUT);
    EXPECT_TRUE(c.wait_closed());
  }
  const auto m = chatd.metrics();
  EXPECT_GE(m.at("chatd_errors_total{code=\"CODE_FRAME_TOO_LARGE\"}"), 1);
  EXPECT_GE(m.at("chatd_idle_timeouts_total"), 1);
  IoThread io;
  TestClient good(io, chatd.port(), "good");
  EXPECT_TRUE(good.join("#ok").has_join());
  EXPECT_TRUE(good.say("#ok", "alive", 1).has_message());
}

TEST(SurvivalTest, ShutdownUnderLoadDeliversEveryAckedMessageThenExitsZero) {
  ChatdProcess chatd({{"--reactors", "2", "--rate", "0"}});
  IoThread io_a;
  IoThread io_b;
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<TestClient>(i % 2 ? io_a : io_b, chatd.port(), "c" + std::to_string(i)));
    ASSERT_TRUE(clients.back()->join("#load").has_join());
  }
  // Three publishers keep a window of messages in flight until the server goes.
  std::atomic<bool> stop{false};
  std::vector<std::thread> publishers;
  for (int p = 0; p < 3; ++p) {
    publishers.emplace_back([&, p] {
      auto& c = *clients[p];
      for (int n = 0; !stop && !c.disconnected(); ++n) {
        c.say_async("#load", "p" + std::to_string(p) + " " + std::to_string(n), n + 1);
        if (n % 20 == 19) c.wait([&] { return c.replies().size() + 10 >= static_cast<std::size_t>(n); }, 1s);
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  // With one room, the count of sequenced messages is also the last seq
  // assigned so far: every one of them must reach every member.
  const auto before = chatd.metrics();
  EXPECT_EQ(before.at("chatd_connections_open"), 6);
  const auto sequenced = static_cast<std::uint64_t>(before.at("chatd_messages_published_total"));
  EXPECT_GT(sequenced, 0u);
  const auto status = chatd.stop(SIGTERM, 15s);
  stop = true;
  for (auto& t : publishers) t.join();
  ASSERT_TRUE(status) << "chatd did not exit";
  EXPECT_EQ(*status, 0);

  // Every message a publisher saw acknowledged reached every member.
  std::set<std::string> acked;
  for (int p = 0; p < 3; ++p) {
    for (const auto& r : clients[p]->replies()) {
      if (r.has_message()) acked.insert(r.message().text());
    }
  }
  EXPECT_GT(acked.size(), 0u);
  for (auto& c : clients) {
    EXPECT_TRUE(c->wait([&] { return c->got_shutdown() && c->disconnected(); }));
    std::set<std::string> got;
    std::uint64_t expected_seq = 1;
    for (const auto& m : c->messages("#load")) {
      got.insert(m.text());
      EXPECT_EQ(m.seq(), expected_seq++);
    }
    for (const auto& text : acked) ASSERT_TRUE(got.contains(text)) << "lost: " << text;
    EXPECT_GE(expected_seq - 1, sequenced) << "a message sequenced before SIGTERM did not arrive";
  }
}

}  // namespace
}  // namespace chat::testing
