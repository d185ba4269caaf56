// Issue 15: a room of 15,000 members, near this machine's per-process limit
// of 20,000 descriptors, so chatd runs as a process of its own. Joiners are
// answered and never dropped, members hear of the joins in at most one
// PresenceDelta a second, each of bounded size, and who pages through
// everyone.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/chatd_process.hpp"
#include "support/frames.hpp"
#include "support/test_client.hpp"

namespace chat::testing {
namespace {

constexpr int kMembers = 15'000;
constexpr int kBatch = 500;  // joins between two drains of every member's socket
const std::string kRoom = "#big";

std::string nick_of(int i) { return "m" + std::to_string(100'000 + i); }

// What one member has received, drained as it goes.
struct Member {
  std::unique_ptr<RawConnection> conn;
  std::optional<v1::JoinReply> joined;
  std::size_t presences = 0;
  std::size_t deltas = 0;
  std::size_t delta_bytes = 0;
  std::size_t largest_delta = 0;
  std::string trouble;  // the first error or close it saw

  void drain() {
    for (const v1::ServerFrame& f : conn->read_available()) {
      if (f.has_join()) joined = f.join();
      if (f.has_presence()) ++presences;
      if (f.has_presence_delta()) {
        ++deltas;
        delta_bytes += f.ByteSizeLong();
        largest_delta = std::max(largest_delta, f.ByteSizeLong());
      }
      if (f.has_ping()) conn->send_frame(pong_frame(f.ping().nonce()));
      if (f.has_error() && trouble.empty()) trouble = f.error().message();
    }
    if (conn->eof() && trouble.empty()) trouble = "closed by the server";
  }
};

TEST(BigRoomTest, AJoinerOfARoomOf15000MembersIsAnsweredAtOnceAndNobodyIsDropped) {
  rlimit fds{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &fds), 0);
  if (fds.rlim_max < kMembers + 500) {
    GTEST_SKIP() << "needs " << kMembers + 500 << " open files per process; the hard limit here is " << fds.rlim_max;
  }
  const rlimit before = fds;
  fds.rlim_cur = fds.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &fds), 0);
  struct Restore {
    rlimit limit;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &limit); }
  } restore{before};

  // One address plays every member: its caps are off, as for a proxy's.
  ChatdProcess chatd({{"--reactors", "2", "--store", "memory", "--max-connections-per-address", "0",
                       "--connect-rate", "0"}});
  const auto start = std::chrono::steady_clock::now();
  std::vector<Member> members(kMembers);
  for (int i = 0; i < kMembers; ++i) {
    members[i].conn = std::make_unique<RawConnection>(chatd.port());
    members[i].conn->send_bytes(encode_frames({hello_frame(nick_of(i), 1), join_frame(kRoom, 2)}));
    if ((i + 1) % kBatch != 0 && i + 1 != kMembers) continue;
    // Paced: the newest joiner is answered before the next batch connects,
    // so the joins never wait behind a pile of logins.
    auto reply = members[i].conn->read_until([](const v1::ServerFrame& f) { return f.has_join() || f.has_error(); },
                                             std::chrono::seconds(60));
    ASSERT_TRUE(reply && reply->has_join()) << "joiner " << i << ": " << (reply ? reply->DebugString() : "no reply");
    members[i].joined = reply->join();
    for (int k = 0; k <= i; ++k) members[k].drain();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Everyone is answered and still here.
  for (int i = 0; i < kMembers; ++i) {
    auto& m = members[i];
    if (!m.joined) {
      auto reply = m.conn->read_until([](const v1::ServerFrame& f) { return f.has_join() || f.has_error(); });
      if (reply && reply->has_join()) m.joined = reply->join();
    }
    m.drain();
    ASSERT_TRUE(m.joined.has_value()) << "member " << i << " got no join reply";
    ASSERT_TRUE(m.trouble.empty()) << "member " << i << ": " << m.trouble;
    EXPECT_LE(m.joined->members_size(), 200) << "a big room's join reply lists a first page, not everyone";
    EXPECT_GE(m.joined->member_count(), 1u);
  }

  // A latecomer: answered with the count and a first page, and not dropped.
  RawConnection late(chatd.port());
  const v1::ServerFrame reply = login_and_join(late, "latecomer", kRoom, std::chrono::seconds(30));
  ASSERT_TRUE(reply.has_join()) << reply.DebugString();
  EXPECT_EQ(reply.join().member_count(), static_cast<std::uint32_t>(kMembers + 1));
  EXPECT_EQ(reply.join().members_size(), 200);
  EXPECT_LT(reply.ByteSizeLong(), 4096u) << "the join reply does not grow with the room";
  ASSERT_FALSE(reply.join().members_next_cursor().empty());

  // who pages through every member exactly once, in nick order.
  std::vector<std::string> nicks(reply.join().members().begin(), reply.join().members().end());
  std::string cursor = reply.join().members_next_cursor();
  std::uint64_t rid = 10;
  while (!cursor.empty()) {
    late.send_frame(who_page_frame(kRoom, cursor, 0, ++rid));
    auto page = late.read_until([&](const v1::ServerFrame& f) { return f.request_id() == rid; });
    ASSERT_TRUE(page && page->has_who()) << (page ? page->DebugString() : "no who reply");
    EXPECT_EQ(page->who().member_count(), static_cast<std::uint32_t>(kMembers + 1));
    EXPECT_LE(page->who().nicks_size(), 1000);
    nicks.insert(nicks.end(), page->who().nicks().begin(), page->who().nicks().end());
    cursor = page->who().next_cursor();
    ASSERT_LT(rid, 100u) << "more pages than 15,001 members fill";
  }
  std::set<std::string> expected{"latecomer"};
  for (int i = 0; i < kMembers; ++i) expected.insert(nick_of(i));
  EXPECT_EQ(nicks, std::vector<std::string>(expected.begin(), expected.end()));

  // What presence cost the first member: at most one delta a second (and
  // one at the end), each bounded; one Presence per join only while the room
  // was small.
  for (auto& m : members) m.drain();
  const Member& first = members[0];
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LE(first.presences, 200u);
  EXPECT_LE(first.deltas, static_cast<std::size_t>(elapsed) + 2);
  EXPECT_LE(first.largest_delta, 4200u) << "two lists of at most 2 KiB of nicks, and the counts";
  late.send_frame(ping_frame(1, 999));
  EXPECT_TRUE(late.read_until([](const v1::ServerFrame& f) { return f.request_id() == 999; }));
  std::printf("[ measured ] %d joins in %.1f s; member 0 got %zu presences and %zu deltas (%zu bytes, largest %zu)\n",
              kMembers, seconds, first.presences, first.deltas, first.delta_bytes, first.largest_delta);
}

}  // namespace
}  // namespace chat::testing
