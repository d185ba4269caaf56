// Floods from one connection against the real chatd (issue 12, findings 6
// and 7): frames that cost nothing to send (pong, ping), bytes, and requests
// whose cost is what they make the server do (renames and topic changes fan
// out to every member, history pages are large). Each test checks that the
// flooder is held to its budget, that the server's counters say which limit
// held it, and that a bystander on the same reactor chats on
// (support/bystander.hpp: a speaker and a listener; every message reaches
// both, in sequence, and neither sees an error or is dropped). The
// bystander's p99 round trip with and without the flood is printed, not
// asserted (the machine is noisy).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "common/framing.hpp"
#include "support/bystander.hpp"
#include "support/chatd_process.hpp"
#include "support/frames.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point from) { return std::chrono::duration<double>(Clock::now() - from).count(); }

// Writes `pattern` (whole frames) over and over from a thread of its own,
// as fast as the socket takes it, and reads and counts everything that
// comes back, until stop().
class Flooder {
 public:
  struct Seen {
    std::uint64_t patterns_sent = 0;
    std::vector<v1::Error> stalls;    // RATE_LIMITED with request_id 0
    std::vector<v1::Error> refusals;  // RATE_LIMITED for a request
    std::vector<v1::Error> other_errors;
    std::map<int, std::uint64_t> replies;  // by ServerFrame body case
    std::uint64_t bytes_of[64] = {};       // wire bytes by body case
    std::uint64_t renamed = 0;             // rename replies with a new nick
    bool closed = false;
  };

  Flooder(RawConnection& conn, std::string pattern) : fd_(conn.fd()), pattern_(std::move(pattern)) {
    thread_ = std::thread([this] { run(); });
  }
  ~Flooder() { stop(); }
  Seen stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return seen_;
  }
  // While running: stalls so far.
  std::size_t stalls() {
    std::lock_guard lock(mu_);
    return seen_.stalls.size();
  }

 private:
  void run() {
    common::FrameDecoder decoder(64 << 20);
    std::size_t offset = 0;
    std::vector<char> buf(1 << 16);
    while (!stop_) {
      pollfd p{fd_, POLLIN | POLLOUT, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      if ((p.revents & POLLOUT) != 0) {
        const ssize_t n =
            ::send(fd_, pattern_.data() + offset, pattern_.size() - offset, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) offset += static_cast<std::size_t>(n);
        if (offset == pattern_.size()) {
          offset = 0;
          std::lock_guard lock(mu_);
          ++seen_.patterns_sent;
        }
      }
      if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
          std::lock_guard lock(mu_);
          seen_.closed = true;
          return;
        }
        if (n > 0) decoder.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)), [this](auto payload) {
          count(payload);
          return true;
        });
      }
    }
  }
  void count(std::string_view payload) {
    v1::ServerFrame f;
    f.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
    std::lock_guard lock(mu_);
    const int body = static_cast<int>(f.body_case());
    ++seen_.replies[body];
    seen_.bytes_of[body % 64] += payload.size() + common::varint_size(payload.size());
    if (f.has_rename() && f.rename().old_nick() != f.rename().nick()) ++seen_.renamed;
    if (!f.has_error()) return;
    if (f.error().code() != v1::Error::CODE_RATE_LIMITED) {
      seen_.other_errors.push_back(f.error());
    } else {
      (f.request_id() == 0 ? seen_.stalls : seen_.refusals).push_back(f.error());
    }
  }

  const int fd_;
  const std::string pattern_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  Seen seen_;
  std::thread thread_;  // last: starts after the rest is built
};

std::string repeat(const v1::ClientFrame& frame, int n) {
  const std::string one = common::encode_frame(frame);
  std::string out;
  for (int i = 0; i < n; ++i) out += one;
  return out;
}

constexpr int kCalmSays = 40;

// Runs `pattern` from `conn` while the bystander chats; returns what the
// flooder saw. `loud`: the bystander's round trips meanwhile.
Flooder::Seen flood_while_chatting(RawConnection& conn, std::string pattern, Bystander& bystander,
                                   std::vector<double>& loud) {
  Flooder flood(conn, std::move(pattern));
  loud = bystander.chat(kCalmSays);
  return flood.stop();
}

TEST(FloodTest, PongAndPingFloodsAreReadAtTheRateAndToldOncePerStall) {
  constexpr int kRate = 50;
  constexpr int kBurst = 100;
  for (const bool ping : {false, true}) {
    // A server each: a flooder that has gone still has its buffered frames
    // read at its rate.
    ChatdProcess chatd({{"--reactors", "1", "--rate", std::to_string(kRate), "--burst", std::to_string(kBurst)}});
    Bystander bystander(chatd.port(), "calm");
    const auto quiet = bystander.chat(kCalmSays);
    RawConnection conn(chatd.port());
    ASSERT_TRUE(login(conn, ping ? "pinger" : "ponger").has_hello());
    const double frames_before = chatd.metric("chatd_frames_in_total");
    const int calm_before = bystander.said();
    const double cpu_before = chatd.cpu_seconds();
    const auto from = Clock::now();
    std::vector<double> loud;
    const auto seen = flood_while_chatting(
        conn, ping ? repeat(ping_frame(7, 1), 1000) : repeat(pong_frame(7), 1000), bystander, loud);
    const double seconds = seconds_since(from);
    const double frames_in =
        chatd.metric("chatd_frames_in_total") - frames_before - (bystander.said() - calm_before);
    const double sent = static_cast<double>(seen.patterns_sent) * 1000;
    report_bystander(ping ? "ping flood" : "pong flood", quiet, loud);
    // Reported, not asserted: what the flood cost the server.
    std::printf("[ flood    ] %s: %.0f frames written, %.0f read by chatd, %.2f CPU-s of chatd in %.2f s\n",
                ping ? "ping flood" : "pong flood", static_cast<double>(seen.patterns_sent) * 1000, frames_in,
                chatd.cpu_seconds() - cpu_before, seconds);
    RecordProperty(ping ? "ping_frames_sent" : "pong_frames_sent", std::to_string(sent));
    RecordProperty(ping ? "ping_frames_read" : "pong_frames_read", std::to_string(frames_in));

    EXPECT_FALSE(seen.closed);
    EXPECT_TRUE(seen.other_errors.empty());
    // The server read what the bucket allows (its hello took one token),
    // while the kernel buffered far more for it.
    EXPECT_LE(frames_in, kBurst - 1 + kRate * seconds) << seconds << " s";
    EXPECT_GT(sent, 10 * frames_in);
    // One error per stall, each stall long enough for half the burst.
    ASSERT_GE(seen.stalls.size(), 1u);
    EXPECT_LE(static_cast<double>(seen.stalls.size()), 1 + seconds * kRate / (kBurst / 2.0));
    for (const auto& e : seen.stalls) {
      EXPECT_GT(e.retry_after_ms(), 0u);
      EXPECT_LE(e.retry_after_ms(), 1000u * kBurst / 2 / kRate + 1);
    }
    // A ping is answered only when it is read.
    if (ping) {
      ASSERT_TRUE(seen.replies.count(v1::ServerFrame::kPong));
      EXPECT_LE(static_cast<double>(seen.replies.at(v1::ServerFrame::kPong)), frames_in);
    }
    // The flooder may not have read its last error when it stopped.
    const double stalls = static_cast<double>(seen.stalls.size());
    EXPECT_GE(chatd.metric("chatd_rate_limited_by_total{limit=\"frames\"}"), stalls);
    EXPECT_LE(chatd.metric("chatd_rate_limited_by_total{limit=\"frames\"}"), stalls + 1);
  }
}

TEST(FloodTest, AByteFloodIsReadAtTheByteRate) {
  constexpr int kBytesPerSec = 64 * 1024;
  constexpr int kBytesBurst = 128 * 1024;
  ChatdProcess chatd({{"--reactors", "1", "--rate", "1000", "--burst", "1000", "--rate-bytes",
                       std::to_string(kBytesPerSec), "--rate-bytes-burst", std::to_string(kBytesBurst)}});
  Bystander bystander(chatd.port(), "calm");
  const auto quiet = bystander.chat(kCalmSays);
  RawConnection conn(chatd.port());
  ASSERT_TRUE(login_and_join(conn, "bytes", "#big").has_join());
  const auto say = say_frame("#big", std::string(4000, 'x'), 1);
  const std::size_t say_bytes = common::encode_frame(say).size();
  const auto from = Clock::now();
  std::vector<double> loud;
  const auto seen = flood_while_chatting(conn, repeat(say, 16), bystander, loud);
  const double seconds = seconds_since(from);
  report_bystander("byte flood", quiet, loud);

  EXPECT_FALSE(seen.closed);
  const auto accepted = static_cast<double>(seen.replies.at(v1::ServerFrame::kMessage));
  RecordProperty("says_accepted", std::to_string(accepted));
  // Its copies come back: the says the server read. It reads at most one
  // buffer (64 KiB) past the budget before it stops.
  EXPECT_LE(accepted * static_cast<double>(say_bytes), kBytesBurst + kBytesPerSec * seconds + 64 * 1024)
      << seconds << " s";
  EXPECT_GT(static_cast<double>(seen.patterns_sent) * 16, 2 * accepted);
  ASSERT_GE(seen.stalls.size(), 1u);
  EXPECT_LE(static_cast<double>(seen.stalls.size()), 2 + seconds * kBytesPerSec / (kBytesBurst / 2.0));
  EXPECT_NE(seen.stalls[0].message().find("byte budget"), std::string::npos) << seen.stalls[0].message();
  EXPECT_GE(chatd.metric("chatd_rate_limited_by_total{limit=\"bytes\"}"), static_cast<double>(seen.stalls.size()));
  EXPECT_EQ(chatd.metric("chatd_rate_limited_by_total{limit=\"frames\"}"), 0);
}

// 10 rooms of 20 members: one rename is a presence to each of 200, one
// topic change a presence to each of 20.
class FanOutFlood : public ::testing::Test {
 protected:
  static constexpr int kRooms = 10;
  static constexpr int kMembers = 20;

  FanOutFlood()
      : chatd_({{"--reactors", "1", "--rate", "1000", "--burst", "1000", "--rename-rate", "3", "--topic-rate", "5"}}),
        bystander_(chatd_.port(), "calm") {}

  // Logs in `nick` and joins every room.
  std::unique_ptr<RawConnection> member(const std::string& nick) {
    auto conn = std::make_unique<RawConnection>(chatd_.port());
    std::string frames = common::encode_frame(hello_frame(nick, 1));
    for (int r = 0; r < kRooms; ++r) frames += common::encode_frame(join_frame(room(r), 2 + r));
    conn->send_bytes(frames);
    const auto last = conn->read_until([](const v1::ServerFrame& f) { return f.request_id() == 1 + kRooms; });
    EXPECT_TRUE(last && last->has_join()) << nick;
    return conn;
  }
  static std::string room(int r) { return "#r" + std::to_string(r); }

  void SetUp() override {
    for (int i = 1; i < kMembers; ++i) members_.push_back(member("m" + std::to_string(i)));
    flooder_ = member("flooder");
    quiet_ = bystander_.chat(kCalmSays);
  }

  ChatdProcess chatd_;
  Bystander bystander_;
  std::vector<std::unique_ptr<RawConnection>> members_;
  std::unique_ptr<RawConnection> flooder_;
  std::vector<double> quiet_;
};

TEST_F(FanOutFlood, RenamesPastTheirBucketAreRefusedAndPresencesStayBounded) {
  constexpr int kRenames = 3;  // per 20 s
  std::string pattern;
  for (int i = 0; i < 50; ++i) {
    pattern += common::encode_frame(rename_frame("n" + std::to_string(i), 1000 + i));
  }
  const auto before = chatd_.metrics();
  const auto from = Clock::now();
  std::vector<double> loud;
  const auto seen = flood_while_chatting(*flooder_, pattern, bystander_, loud);
  const double seconds = seconds_since(from);
  report_bystander("rename flood", quiet_, loud);

  EXPECT_FALSE(seen.closed);
  // A rename to the nick it has already is answered and costs nothing.
  const auto replies = seen.replies.count(v1::ServerFrame::kRename) ? seen.replies.at(v1::ServerFrame::kRename) : 0;
  const auto renamed = seen.renamed;
  RecordProperty("renames_accepted", std::to_string(renamed));
  RecordProperty("renames_refused", std::to_string(seen.refusals.size()));
  EXPECT_GE(renamed, 1u);
  EXPECT_LE(static_cast<double>(renamed), kRenames + kRenames * seconds / 20);
  ASSERT_GT(seen.refusals.size(), 10 * renamed);
  for (const auto& e : seen.refusals) {
    EXPECT_GT(e.retry_after_ms(), 0u);
    EXPECT_LE(e.retry_after_ms(), 20'000u / kRenames + 1);
  }
  EXPECT_NE(seen.refusals[0].message().find("renames are limited to 3 per 20 s"), std::string::npos);
  // What went out: each accepted rename to every member of every room and
  // its reply, one error per refusal or stall, and the bystander's copies
  // (its speaker's and its listener's).
  // The flooder stops reading when the flood stops, while chatd still
  // answers what it had buffered: count those refusals as chatd does, from
  // the same page as frames_out (which the page reads first).
  const auto after = chatd_.metrics();
  const double frames_out = after.at("chatd_frames_out_total") - before.at("chatd_frames_out_total");
  const double refused = after.at("chatd_rate_limited_total") - before.at("chatd_rate_limited_total");
  EXPECT_GE(refused, static_cast<double>(seen.refusals.size() + seen.stalls.size()));
  const double most = static_cast<double>(renamed) * kRooms * kMembers + static_cast<double>(replies) +
                      refused + Bystander::kCopiesPerSay * kCalmSays + 2;
  EXPECT_LE(frames_out, most);
  EXPECT_GE(chatd_.metric("chatd_rate_limited_by_total{limit=\"rename\"}"),
            static_cast<double>(seen.refusals.size()));
}

TEST_F(FanOutFlood, TopicChangesPastTheirBucketAreRefusedAndPresencesStayBounded) {
  constexpr int kTopics = 5;  // per 20 s
  std::string pattern;
  for (int i = 0; i < 50; ++i) pattern += common::encode_frame(set_topic_frame("#r0", std::string(500, 't'), 1000 + i));
  const auto before = chatd_.metrics();
  const auto from = Clock::now();
  std::vector<double> loud;
  const auto seen = flood_while_chatting(*flooder_, pattern, bystander_, loud);
  const double seconds = seconds_since(from);
  report_bystander("topic flood", quiet_, loud);

  EXPECT_FALSE(seen.closed);
  const auto set = seen.replies.count(v1::ServerFrame::kTopic) ? seen.replies.at(v1::ServerFrame::kTopic) : 0;
  RecordProperty("topics_accepted", std::to_string(set));
  EXPECT_GE(set, 1u);
  EXPECT_LE(static_cast<double>(set), kTopics + kTopics * seconds / 20);
  ASSERT_GT(seen.refusals.size(), 10 * set);
  EXPECT_NE(seen.refusals[0].message().find("topic changes are limited to 5 per 20 s"), std::string::npos);
  // The flooder stops reading when the flood stops, while chatd still
  // answers what it had buffered: count those refusals as chatd does, from
  // the same page as frames_out (which the page reads first).
  const auto after = chatd_.metrics();
  const double frames_out = after.at("chatd_frames_out_total") - before.at("chatd_frames_out_total");
  const double refused = after.at("chatd_rate_limited_total") - before.at("chatd_rate_limited_total");
  EXPECT_GE(refused, static_cast<double>(seen.refusals.size() + seen.stalls.size()));
  const double most = static_cast<double>(set) * (kMembers + 1) +
                      refused + Bystander::kCopiesPerSay * kCalmSays + 2;
  EXPECT_LE(frames_out, most);
  EXPECT_GE(chatd_.metric("chatd_rate_limited_by_total{limit=\"topic\"}"), static_cast<double>(seen.refusals.size()));
}

TEST(FloodTest, HistoryPagesAreChargedToTheByteBudget) {
  constexpr int kBytesPerSec = 256 * 1024;
  constexpr int kBytesBurst = 1024 * 1024;
  constexpr int kBurst = 4;
  constexpr int kPage = 50;
  ChatdProcess chatd({{"--reactors", "1", "--store", "memory", "--rate", "100", "--burst", std::to_string(kBurst),
                       "--rate-bytes", std::to_string(kBytesPerSec), "--rate-bytes-burst", std::to_string(kBytesBurst),
                       "--outbox-cap-bytes", std::to_string(64 << 20)}});
  Bystander bystander(chatd.port(), "calm");
  {
    // A room of 4 KB messages: one page of kPage is some 200 KB.
    RawConnection filler(chatd.port());
    ASSERT_TRUE(login_and_join(filler, "filler", "#hist").has_join());
    std::string says;
    for (int i = 0; i < kPage; ++i) says += common::encode_frame(say_frame("#hist", std::string(4000, 'h'), 10 + i));
    filler.send_bytes(says);
    ASSERT_TRUE(filler.read_until([](const v1::ServerFrame& f) { return f.request_id() == 10 + kPage - 1; }, 20s));
  }
  const auto quiet = bystander.chat(kCalmSays);
  RawConnection conn(chatd.port());
  ASSERT_TRUE(login(conn, "reader").has_hello());
  const auto from = Clock::now();
  std::vector<double> loud;
  const auto seen = flood_while_chatting(conn, repeat(history_frame("#hist", kPage, 5), 20), bystander, loud);
  const double seconds = seconds_since(from);
  report_bystander("history flood", quiet, loud);

  EXPECT_FALSE(seen.closed);
  const auto pages = seen.replies.at(v1::ServerFrame::kHistory);
  const double page_bytes =
      static_cast<double>(seen.bytes_of[v1::ServerFrame::kHistory]) / static_cast<double>(pages);
  const double bytes_out = static_cast<double>(seen.bytes_of[v1::ServerFrame::kHistory]);
  RecordProperty("history_pages", std::to_string(pages));
  RecordProperty("history_bytes_out", std::to_string(bytes_out));
  EXPECT_GT(page_bytes, kPage * 4000);
  // The budget, plus the pages asked for before the first of them was
  // charged (a burst of requests read at once).
  EXPECT_LE(bytes_out, kBytesBurst + kBytesPerSec * seconds + kBurst * page_bytes) << seconds << " s";
  ASSERT_GE(seen.stalls.size(), 1u);
  EXPECT_GE(chatd.metric("chatd_rate_limited_by_total{limit=\"bytes\"}"), 1);
  bool named = false;
  for (const auto& e : seen.stalls) named = named || e.message().find("byte budget") != std::string::npos;
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace chat::testing
