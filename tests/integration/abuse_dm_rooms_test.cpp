// Abuse resistance, findings 8 and 9 of issue 12, against the real chatd:
// DM floods may not push a reader off the server (a per-target budget and a
// backlog check, TARGET_BUSY to the senders), a direct_ack is honest, and
// room slots can be neither held nor churned by one address (creation
// budgets per connection and per address, a cap on rooms an address holds
// alone). Each test has a bystander that must stay unaffected and reads
// the counters that name what happened. Bystander p99s are printed, never
// asserted (the machine is noisy).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "support/bystander.hpp"
#include "support/chatd_process.hpp"
#include "support/frames.hpp"
#include "support/owners.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_client.hpp"
#include "support/wait.hpp"

namespace chat::testing {
namespace {

using Clock = std::chrono::steady_clock;

v1::ClientFrame direct_frame(const std::string& nick, const std::string& text, std::uint64_t request_id) {
  v1::ClientFrame f;
  f.set_request_id(request_id);
  f.mutable_direct()->set_nick(nick);
  f.mutable_direct()->set_text(text);
  return f;
}


// A reader on a slow link: a tiny receive buffer, 4 KiB every 50 ms (about
// 80 KB/s), on a thread of its own. Keeps every DM's text and whether the
// server ever dropped it.
class SlowReader {
 public:
  SlowReader(std::uint16_t port, const std::string& nick) : conn_(port, 4096) {
    logged_in_ = login(conn_, nick).has_hello();
    thread_ = std::thread([this] { run(); });
  }
  ~SlowReader() {
    stop_ = true;
    thread_.join();
  }
  bool logged_in() const { return logged_in_; }
  void read_fast() { fast_ = true; }
  std::vector<std::string> texts() const {
    std::lock_guard lock(mu_);
    return texts_;
  }
  bool dropped() const {
    std::lock_guard lock(mu_);
    return dropped_;
  }

 private:
  void run() {
    common::FrameDecoder decoder(64u << 20);
    char buf[4096];
    while (!stop_) {
      const ssize_t n = ::recv(conn_.fd(), buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        std::lock_guard lock(mu_);
        dropped_ = true;
        return;
      }
      if (n > 0) {
        decoder.feed(std::string_view(buf, static_cast<std::size_t>(n)), [this](std::string_view payload) {
          v1::ServerFrame f;
          f.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
          std::lock_guard lock(mu_);
          if (f.has_direct()) texts_.push_back(f.direct().text());
          if (f.has_error() && f.error().code() == v1::Error::CODE_SLOW_CONSUMER) dropped_ = true;
          return true;
        });
      }
      // Pacing the link, not waiting for a condition.
      std::this_thread::sleep_for(fast_ ? std::chrono::milliseconds(1) : std::chrono::milliseconds(50));
    }
  }

  RawConnection conn_;
  bool logged_in_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> fast_{false};
  mutable std::mutex mu_;
  std::vector<std::string> texts_;
  bool dropped_ = false;
  std::thread thread_;  // last: starts after the rest is built
};

// What one sender was told about each of its DMs.
struct SenderLog {
  std::vector<std::uint64_t> acked;  // k of each acked DM, in order of the acks
  int busy = 0;
  bool busy_had_retry = true;
  std::string fault;
};

// Sends `n` DMs "i:k:<pad>" to `target`, about 40 a second (under the
// default rate of 50), and reads every answer.
SenderLog send_dms(std::uint16_t port, int i, const std::string& target, int n) {
  SenderLog log;
  RawConnection conn(port);
  if (!login(conn, "sender" + std::to_string(i)).has_hello()) {
    log.fault = "no login";
    return log;
  }
  const std::string pad(4000, static_cast<char>('a' + i % 26));
  int answered = 0;
  auto take = [&](const v1::ServerFrame& f) {
    if (f.request_id() < 100) return;
    ++answered;
    const std::uint64_t k = f.request_id() - 100;
    if (f.has_direct_ack()) {
      log.acked.push_back(k);
    } else if (f.has_error() && f.error().code() == v1::Error::CODE_TARGET_BUSY) {
      ++log.busy;
      log.busy_had_retry = log.busy_had_retry && f.error().retry_after_ms() > 0;
    } else if (log.fault.empty()) {
      log.fault = f.DebugString();
    }
  };
  for (int k = 0; k < n; ++k) {
    conn.send_frame(direct_frame(target, std::to_string(i) + ":" + std::to_string(k) + ":" + pad, 100 + k));
    const auto next = Clock::now() + std::chrono::milliseconds(25);
    while (Clock::now() < next) {
      auto f = conn.read_frame(std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()));
      if (f) take(*f);
    }
  }
  while (answered < n) {
    auto f = conn.read_frame(10s);
    if (!f) break;
    take(*f);
  }
  if (answered < n && log.fault.empty()) log.fault = "answers missing: " + std::to_string(n - answered);
  return log;
}

TEST(AbuseDmRoomsTest, ManySendersCannotFloodAReaderOffAndEveryAckedDmArrives) {
  constexpr int kSenders = 16;
  constexpr int kEach = 160;
  ChatdProcess chatd({{"--reactors", "2", "--dm-rate", "200", "--outbox-cap-bytes", "262144"}});
  Bystander bystander(chatd.port());
  ASSERT_TRUE(bystander.joined());
  const auto quiet = bystander.chat(100);
  EXPECT_EQ(bystander.speaker().welcome().limits().dm_rate_per_sec(), 200u);

  SlowReader reader(chatd.port(), "reader");
  ASSERT_TRUE(reader.logged_in());
  std::vector<SenderLog> logs(kSenders);
  std::vector<std::thread> senders;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back([&, i] { logs[i] = send_dms(chatd.port(), i, "reader", kEach); });
  }
  const auto attacked = bystander.chat(100);
  for (auto& t : senders) t.join();

  std::size_t acked = 0;
  int busy = 0;
  for (int i = 0; i < kSenders; ++i) {
    EXPECT_EQ(logs[i].fault, "") << "sender" << i;
    EXPECT_TRUE(logs[i].busy_had_retry) << "sender" << i << ": a TARGET_BUSY without retry_after_ms";
    acked += logs[i].acked.size();
    busy += logs[i].busy;
  }
  EXPECT_GT(busy, 0) << "the flood was never refused";
  EXPECT_GT(acked, 0u);
  // Now the reader catches up: every acked DM arrives, once, in each
  // sender's order, and nothing that was refused does.
  reader.read_fast();
  EXPECT_TRUE(wait_until([&] { return reader.texts().size() >= acked; }, 60s))
      << reader.texts().size() << " of " << acked << " acked DMs arrived";
  const auto texts = reader.texts();
  EXPECT_FALSE(reader.dropped()) << "the reader was dropped";
  std::map<int, std::vector<std::uint64_t>> got;
  for (const auto& t : texts) {
    const auto colon = t.find(':');
    const auto second = t.find(':', colon + 1);
    got[std::stoi(t.substr(0, colon))].push_back(std::stoull(t.substr(colon + 1, second - colon - 1)));
  }
  for (int i = 0; i < kSenders; ++i) EXPECT_EQ(got[i], logs[i].acked) << "sender" << i;
  EXPECT_EQ(texts.size(), acked);

  // The counters name it: refusals by reason, and nobody dropped.
  const double by_rate = chatd.metric("chatd_directs_refused_total{reason=\"rate\"}");
  const double by_backlog = chatd.metric("chatd_directs_refused_total{reason=\"backlog\"}");
  std::printf("[ dm flood ] %zu acked, %d busy: %.0f by the rate, %.0f by the backlog\n", acked, busy, by_rate,
              by_backlog);
  EXPECT_GT(by_backlog, 0) << "the reader's backlog was never what refused a DM";
  EXPECT_EQ(by_rate + by_backlog, busy);
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_TARGET_BUSY\"}"), busy);
  EXPECT_EQ(chatd.metric("chatd_slow_consumer_disconnects_total"), 0);

  // The bystander: every say answered and heard in order, never dropped.
  bystander.expect_unaffected();
  RecordProperty("dms_acked", std::to_string(acked));
  RecordProperty("dms_busy", std::to_string(busy));
  report_bystander("dm flood", quiet, attacked);
}

TEST(AbuseDmRoomsTest, ATargetIsHandedAtMostItsDmRateFromAllSendersTogether) {
  // A reader that keeps up: only the target's bucket (5/s, burst 10) refuses.
  ChatdProcess chatd({{"--reactors", "2", "--dm-rate", "5"}});
  IoThread io;
  TestClient reader(io, chatd.port(), "reader");
  std::vector<std::unique_ptr<RawConnection>> senders;
  std::string burst;
  for (int k = 0; k < 15; ++k) burst += common::encode_frame(direct_frame("reader", "dm " + std::to_string(k), 100 + k));
  for (int i = 0; i < 3; ++i) {
    senders.push_back(std::make_unique<RawConnection>(chatd.port()));
    ASSERT_TRUE(login(*senders.back(), "sender" + std::to_string(i)).has_hello());
  }
  for (auto& s : senders) s->send_bytes(burst);  // 45 DMs at once, each sender well under its own rate
  int acked = 0;
  int busy = 0;
  for (auto& s : senders) {
    for (int k = 0; k < 15; ++k) {
      auto f = s->read_until([&](const v1::ServerFrame& r) { return r.request_id() == 100u + k; });
      ASSERT_TRUE(f);
      if (f->has_direct_ack()) {
        ++acked;
      } else {
        ASSERT_EQ(code_of(*f), v1::Error::CODE_TARGET_BUSY) << f->DebugString();
        EXPECT_GT(f->error().retry_after_ms(), 0u);
        EXPECT_LE(f->error().retry_after_ms(), 201u) << "one DM every 200 ms";
        ++busy;
      }
    }
  }
  EXPECT_GE(acked, 10) << "the burst";
  EXPECT_LT(acked, 45);
  EXPECT_EQ(acked + busy, 45);
  ASSERT_TRUE(reader.wait([&] { return reader.directs().size() == static_cast<std::size_t>(acked); }));
  EXPECT_EQ(chatd.metric("chatd_directs_refused_total{reason=\"rate\"}"), busy);
  EXPECT_EQ(chatd.metric("chatd_directs_refused_total{reason=\"backlog\"}"), 0);
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_TARGET_BUSY\"}"), busy);
  EXPECT_EQ(chatd.metric("chatd_rate_limited_total"), 0) << "no sender passed its own rate";
  EXPECT_FALSE(reader.disconnected());
}

TEST(AbuseDmRoomsTest, ADirectAckSaysHowStaleTheTargetIsAndAGoneTargetIsNoSuchNick) {
  ChatdProcess chatd({{"--reactors", "2"}});
  IoThread io;
  TestClient sender(io, chatd.port(), "sender");
  const auto connecting = Clock::now();  // the server hears the target after this...
  auto target = std::make_unique<TestClient>(io, chatd.port(), "target");
  const auto heard = Clock::now();  // ...and has read its hello before this
  // Staleness to measure, not a wait for a condition.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto sent = Clock::now();
  auto ack = sender.direct("target", "hello");
  ASSERT_TRUE(ack.has_direct_ack()) << ack.DebugString();
  const auto since_heard = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - connecting).count();
  const auto quiet_for = std::chrono::duration_cast<std::chrono::milliseconds>(sent - heard).count();
  const auto heard_ago = static_cast<std::int64_t>(ack.direct_ack().target_heard_ms_ago());
  EXPECT_GE(heard_ago, quiet_for);
  EXPECT_LE(heard_ago, since_heard);
  EXPECT_EQ(ack.direct_ack().nick(), "target");
  ASSERT_TRUE(target->wait([&] { return target->directs().size() == 1; }));

  // A target that took another nick: the old one is nobody's.
  ASSERT_TRUE(target->rename("elsewhere").has_rename());
  EXPECT_EQ(code_of(sender.direct("target", "still there?")), v1::Error::CODE_NO_SUCH_NICK);
  ASSERT_TRUE(sender.direct("elsewhere", "there you are").has_direct_ack());

  // A target that has gone: NO_SUCH_NICK once its session has closed, never
  // an ack for a DM that nobody will read.
  target->close();
  ASSERT_TRUE(chatd.wait_metric("chatd_connections_open", 1, 5s));
  EXPECT_EQ(code_of(sender.direct("elsewhere", "gone?")), v1::Error::CODE_NO_SUCH_NICK);
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_NO_SUCH_NICK\"}"), 2);
  EXPECT_FALSE(sender.disconnected());
}

// What one DM sent to the silent target was answered, and when.
struct DmAnswer {
  Clock::time_point sent;
  Clock::time_point answered;
  v1::ServerFrame reply;
};

std::int64_t ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// A link that dies silently: the target's connection goes through a proxy
// that stops forwarding both ways and keeps its sockets open (no FIN, no
// reset). DMs to the target are still acked, and each ack says how long
// the target has been silent; chatd pings it at half the idle timeout,
// hears nothing, and drops it at the timeout. From then on a DM is
// NO_SUCH_NICK and the nick is free.
TEST(AbuseDmRoomsTest, ADmToASilentlyDeadLinkSaysHowLongItIsSilentUntilTheIdleTimeoutDropsIt) {
  constexpr auto kIdle = std::chrono::milliseconds(2000);
  ChatdProcess chatd({{"--reactors", "2", "--idle-timeout-ms", std::to_string(kIdle.count())}});
  Bystander bystander(chatd.port());
  ASSERT_TRUE(bystander.joined());
  const auto quiet = bystander.chat(40);
  IoThread io;
  TestClient sender(io, chatd.port(), "sender");
  TcpProxy link(chatd.port());
  auto target = std::make_unique<TestClient>(io, link.port(), "target");
  ASSERT_TRUE(sender.direct("target", "before").has_direct_ack());
  ASSERT_TRUE(target->wait([&] { return target->directs().size() == 1; }));
  // The target's last frame: chatd reads it after `pinged` and has answered
  // it before `answered`. The link dies right after; the target sends
  // nothing unasked, and chatd's own ping comes only after kIdle / 2 of
  // silence, so chatd hears nothing from it after `answered`.
  const auto pinged = Clock::now();
  ASSERT_TRUE(target->ping().has_pong());
  const auto answered = Clock::now();
  link.black_hole();

  // DMs 100 ms apart (under the DM rate and the sender's) until one is
  // refused, while the bystander chats.
  std::vector<DmAnswer> answers;
  std::atomic<bool> done{false};
  std::thread dms([&] {
    const auto give_up = answered + kIdle + std::chrono::seconds(10);
    while (Clock::now() < give_up) {
      DmAnswer a{Clock::now(), {}, {}};
      a.reply = sender.direct("target", "are you there? " + std::to_string(answers.size()));
      a.answered = Clock::now();
      answers.push_back(a);
      if (!a.reply.has_direct_ack()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // pacing, not waiting for anything
    }
    done = true;
  });
  const auto loud = bystander.chat(40, &done);
  dms.join();

  ASSERT_GE(answers.size(), 2u);
  const DmAnswer& last = answers.back();
  ASSERT_EQ(code_of(last.reply), v1::Error::CODE_NO_SUCH_NICK) << last.reply.DebugString();
  std::uint32_t most_heard = 0;
  std::uint32_t most_unsent = 0;
  for (std::size_t k = 0; k + 1 < answers.size(); ++k) {
    const DmAnswer& a = answers[k];
    ASSERT_TRUE(a.reply.has_direct_ack()) << k << ": " << a.reply.DebugString();
    const auto heard = static_cast<std::int64_t>(a.reply.direct_ack().target_heard_ms_ago());
    // Honest about the silence: at least the time since chatd had last
    // heard the target for sure, at most the time since its last frame left.
    EXPECT_GE(heard, ms_between(answered, a.sent)) << k;
    EXPECT_LE(heard, ms_between(pinged, a.answered) + 1) << k;
    if (k > 0) {
      EXPECT_GT(heard, static_cast<std::int64_t>(most_heard)) << k << ": the silence only grows";
    }
    most_heard = std::max(most_heard, a.reply.direct_ack().target_heard_ms_ago());
    most_unsent = std::max(most_unsent, a.reply.direct_ack().target_unsent_bytes());
  }
  EXPECT_GE(most_heard, kIdle.count() / 2) << "acked past chatd's unanswered ping, saying so";
  // Dropped at the idle timeout after its last frame, and no sooner.
  EXPECT_GE(ms_between(pinged, last.answered), kIdle.count());
  EXPECT_EQ(chatd.metric("chatd_idle_timeouts_total"), 1);
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_IDLE_TIMEOUT\"}"), 1);
  EXPECT_EQ(chatd.metric("chatd_errors_total{code=\"CODE_NO_SUCH_NICK\"}"), 1);
  // The acked DMs went into the dead link: an ack is "queued", not "read".
  EXPECT_EQ(target->directs().size(), 1u);
  std::printf("[ dead link ] %zu DMs acked while silent, the last %u ms after its last frame (idle timeout %lld ms), "
              "%u bytes unsent at most; NO_SUCH_NICK %lld ms after it\n",
              answers.size() - 1, most_heard, static_cast<long long>(kIdle.count()), most_unsent,
              static_cast<long long>(ms_between(pinged, last.answered)));
  RecordProperty("acked_while_silent", std::to_string(answers.size() - 1));
  RecordProperty("most_heard_ms_ago", std::to_string(most_heard));

  // The nick is free: someone else takes it and gets DMs under it.
  TestClient again(io, chatd.port());
  ASSERT_TRUE(again.hello_when_free("target").has_hello());
  ASSERT_TRUE(sender.direct("target", "welcome back").has_direct_ack());
  ASSERT_TRUE(again.wait([&] { return again.directs().size() == 1; }));
  EXPECT_EQ(again.directs()[0].text(), "welcome back");
  EXPECT_FALSE(sender.disconnected());
  bystander.expect_unaffected();
  report_bystander("dead link", quiet, loud);
}

// Joins `room` on a raw connection; the answer (or nothing).
std::optional<v1::ServerFrame> raw_join(RawConnection& conn, const std::string& room, std::uint64_t rid) {
  conn.send_frame(join_frame(room, rid));
  return conn.read_until([rid](const v1::ServerFrame& f) { return f.request_id() == rid; }, 5s);
}

TEST(AbuseDmRoomsTest, FiveConnectionsFromOneAddressCannotHoldEveryRoomSlot) {
  constexpr int kMaxRooms = 40;
  constexpr int kPerAddress = 10;
  ChatdProcess chatd({{"--reactors", "2", "--rate", "0", "--max-rooms", std::to_string(kMaxRooms),
                       "--max-rooms-per-address", std::to_string(kPerAddress)}});
  Bystander bystander(chatd.port());
  EXPECT_EQ(bystander.speaker().welcome().limits().room_create_per_min(), 20u) << "the default, announced";
  ASSERT_TRUE(bystander.joined());
  const auto quiet = bystander.chat(50);

  // Five connections from 127.0.0.2 each try to sit in 20 rooms of their own.
  std::vector<std::unique_ptr<RawConnection>> holders;
  int held = 0;
  std::map<v1::Error::Code, int> refused;
  for (int c = 0; c < 5; ++c) {
    holders.push_back(std::make_unique<RawConnection>(chatd.port(), 0, "127.0.0.2"));
    ASSERT_TRUE(holders.back()->read_frame());  // welcome
    ASSERT_TRUE(login(*holders.back(), "holder" + std::to_string(c)).has_hello());
    for (int r = 0; r < 20; ++r) {
      auto reply = raw_join(*holders.back(), "#h" + std::to_string(c) + "-" + std::to_string(r), 10 + r);
      ASSERT_TRUE(reply);
      if (reply->has_join()) {
        ++held;
      } else {
        ++refused[code_of(*reply)];
      }
    }
  }
  EXPECT_LE(held, kPerAddress) << "each shard's share of the address cap";
  EXPECT_GT(refused[v1::Error::CODE_TOO_MANY_ROOMS], 0);
  EXPECT_GT(chatd.metric("chatd_room_creations_refused_total{reason=\"address_held\"}"), 0);
  const auto attacked = bystander.chat(50);

  // Slots are left: the bystander creates a room and joins it, another
  // address creates its own, and the holders can still join rooms that exist.
  auto made = bystander.speaker().join("#mine");
  ASSERT_TRUE(made.has_join()) << made.DebugString();
  EXPECT_TRUE(bystander.speaker().say("#mine", "made it", 999).has_message());
  RawConnection other(chatd.port(), 0, "127.0.0.3");
  ASSERT_TRUE(other.read_frame());
  ASSERT_TRUE(login(other, "other").has_hello());
  auto theirs = raw_join(other, "#theirs", 10);
  ASSERT_TRUE(theirs && theirs->has_join());
  auto existing = raw_join(*holders[0], "#mine", 500);
  ASSERT_TRUE(existing && existing->has_join()) << "joining a room that exists is never refused";
  EXPECT_LE(chatd.metric("chatd_rooms"), held + 3);

  bystander.expect_unaffected();
  report_bystander("room holders", quiet, attacked);
}

TEST(AbuseDmRoomsTest, ChurningRoomsIsStoppedByTheCreationLimitsAndIdleHistorySurvives) {
  // 30 slots per shard; 25 idle rooms with history on each.
  ChatdProcess chatd({{"--reactors", "2", "--rate", "0", "--max-rooms", "60", "--room-create-rate", "5",
                       "--room-create-per-address", "16"}});  // the default store: sqlite
  std::vector<std::string> idle;
  for (int shard = 0; shard < 2; ++shard) {
    int found = 0;
    for (int i = 0; found < 25; ++i) {
      const std::string name = "#idle" + std::to_string(shard) + "-" + std::to_string(i);
      if (room_owner(name, 2) != static_cast<std::uint32_t>(shard)) continue;
      idle.push_back(name);
      ++found;
    }
  }
  // Made by ten connections from ten addresses, five rooms each.
  for (int a = 0; a < 10; ++a) {
    const std::string source = "127.0.1." + std::to_string(a + 1);
    RawConnection maker(chatd.port(), 0, source.c_str());
    ASSERT_TRUE(maker.read_frame());
    ASSERT_TRUE(login(maker, "maker" + std::to_string(a)).has_hello());
    for (int r = 0; r < 5; ++r) {
      const std::string& room = idle[a * 5 + r];
      auto joined = raw_join(maker, room, 10 + 3 * r);
      ASSERT_TRUE(joined && joined->has_join()) << room << ": " << (joined ? joined->DebugString() : "no answer");
      maker.send_frame(say_frame(room, "history of " + room, 11 + 3 * r));
      ASSERT_TRUE(maker.read_until([&](const v1::ServerFrame& f) { return f.request_id() == 11u + 3 * r; }));
      maker.send_frame(leave_frame(room, 12 + 3 * r));
      ASSERT_TRUE(maker.read_until([&](const v1::ServerFrame& f) { return f.request_id() == 12u + 3 * r; }));
    }
  }
  ASSERT_EQ(chatd.metric("chatd_rooms"), 50);

  // The churner: join a new room, say, leave, over and over, reconnecting
  // whenever refused, from 127.0.0.2.
  int created = 0;
  int refusals = 0;
  bool retry_given = true;
  int k = 0;
  for (int c = 0; c < 6; ++c) {
    RawConnection churner(chatd.port(), 0, "127.0.0.2");
    ASSERT_TRUE(churner.read_frame());
    ASSERT_TRUE(login(churner, "churner" + std::to_string(c)).has_hello());
    for (int n = 0; n < 100; ++n, ++k) {  // bounded: without the limits the loop would not end
      const std::string room = "#churn" + std::to_string(k);
      auto reply = raw_join(churner, room, 100 + 3 * k);
      ASSERT_TRUE(reply);
      if (!reply->has_join()) {
        EXPECT_EQ(code_of(*reply), v1::Error::CODE_RATE_LIMITED) << reply->DebugString();
        retry_given = retry_given && reply->error().retry_after_ms() > 0;
        ++refusals;
        ++k;
        break;
      }
      ++created;
      churner.send_frame(say_frame(room, "churn", 101 + 3 * k));
      churner.send_frame(leave_frame(room, 102 + 3 * k));
      ASSERT_TRUE(churner.read_until([&](const v1::ServerFrame& f) { return f.request_id() == 102u + 3 * k; }));
    }
  }
  EXPECT_EQ(refusals, 6);
  EXPECT_TRUE(retry_given);
  EXPECT_LE(created, 16) << "the address's budget (8 per reactor)";
  EXPECT_GT(chatd.metric("chatd_room_creations_refused_total{reason=\"connection_rate\"}"), 0);
  EXPECT_GT(chatd.metric("chatd_room_creations_refused_total{reason=\"address_rate\"}"), 0);
  const double reclaimed = chatd.metric("chatd_rooms_reclaimed_total");
  EXPECT_LE(reclaimed, created);
  RecordProperty("churn_created", std::to_string(created));
  RecordProperty("rooms_reclaimed", std::to_string(reclaimed));

  // Every idle room still has its history: a reclaimed one comes back from
  // the database when it is made again. Checked from fresh addresses (a
  // check may make a reclaimed room again, itself a creation).
  for (std::size_t r = 0; r < idle.size(); ++r) {
    const std::string source = "127.0.2." + std::to_string(r + 1);
    RawConnection checker(chatd.port(), 0, source.c_str());
    ASSERT_TRUE(checker.read_frame());
    ASSERT_TRUE(login(checker, "check" + std::to_string(r)).has_hello());
    auto joined = raw_join(checker, idle[r], 10);
    ASSERT_TRUE(joined && joined->has_join()) << idle[r] << ": " << (joined ? joined->DebugString() : "no answer");
    EXPECT_EQ(joined->join().last_seq(), 1u) << idle[r];
    // The replay holds what is in memory; the page reads the database.
    v1::ClientFrame history;
    history.set_request_id(11);
    history.mutable_history()->set_room(idle[r]);
    history.mutable_history()->set_limit(10);
    checker.send_frame(history);
    auto page = checker.read_until([](const v1::ServerFrame& f) { return f.request_id() == 11; });
    ASSERT_TRUE(page && page->has_history()) << idle[r];
    ASSERT_EQ(page->history().messages_size(), 1) << idle[r];
    EXPECT_EQ(page->history().messages(0).text(), "history of " + idle[r]);
  }
}

}  // namespace
}  // namespace chat::testing
