// Issue 12, findings 3 and 4: no reply is larger than the outbox cap (the
// room list is paged, join replays and history pages are cut at
// --max-reply-bytes and say so), a fast reader is never dropped for the
// size of the replies it asked for, and a connection that never reads is
// dropped by the soft limit after its seconds. Each test has a bystander
// that must be unaffected; its say round trip p99 is measured with and
// without the load and reported (RecordProperty), not asserted.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "integration/term_helpers.hpp"
#include "support/bystander.hpp"
#include "support/frames.hpp"
#include "support/server_fixture.hpp"
#include "support/test_client.hpp"
#include "support/wait.hpp"

namespace chat::testing {
namespace {

using namespace std::chrono_literals;

const std::string kBody(4000, 'm');   // "4 KB messages"
const std::string kTopic(512, 't');   // the largest topic by default

server::Config big_config() {
  auto c = test_config(2);
  c.rate_per_sec = 0;  // the setup is quick; the limits under test are in bytes
  // The setup makes thousands of rooms from one connection; the creation
  // budgets (issue 12) are tested in AbuseDmRoomsTest.
  c.room_create_per_min = 1'000'000;
  c.room_create_per_address = 10'000'000;
  c.max_rooms_per_address = 100'000;
  c.topic_rate = 0;  // thousands of topics from one connection; the budget is tested in FanOutFlood
  return c;
}

v1::ClientFrame topic_frame(const std::string& room, const std::string& topic, std::uint64_t rid) {
  v1::ClientFrame f;
  f.set_request_id(rid);
  f.mutable_set_topic()->set_room(room);
  f.mutable_set_topic()->set_topic(topic);
  return f;
}

v1::ClientFrame history_frame(const std::string& room, std::uint64_t before, std::optional<std::uint64_t> after,
                              std::uint32_t limit, std::uint64_t rid) {
  v1::ClientFrame f;
  f.set_request_id(rid);
  auto* h = f.mutable_history();
  h->set_room(room);
  h->set_before_seq(before);
  if (after) h->set_after_seq(*after);
  h->set_limit(limit);
  return f;
}

v1::ClientFrame list_frame(const std::string& cursor, std::uint32_t limit, std::uint64_t rid) {
  v1::ClientFrame f;
  f.set_request_id(rid);
  f.mutable_list_rooms()->set_cursor(cursor);
  f.mutable_list_rooms()->set_limit(limit);
  return f;
}

// Makes each room, with `messages` 4 KB messages and the topic if any, in
// pipelined batches; `leave`: the filler leaves each (a room with a topic
// or messages stays).
void fill(std::uint16_t port, const std::vector<std::string>& rooms, int messages, const std::string& topic,
          bool leave) {
  static int fillers = 0;
  RawConnection filler(port);
  ASSERT_TRUE(login(filler, "filler" + std::to_string(++fillers)).has_hello());
  std::uint64_t rid = 10;
  std::string batch;
  std::size_t frames = 0;
  auto flush = [&] {
    filler.send_bytes(batch);
    batch.clear();
    frames = 0;
    const std::uint64_t last = rid - 1;
    ASSERT_TRUE(filler.read_until([&](const v1::ServerFrame& f) { return f.request_id() == last; }, 60s))
        << "no answer to request " << last;
  };
  for (const auto& room : rooms) {
    batch += common::encode_frame(join_frame(room, rid++));
    if (!topic.empty()) batch += common::encode_frame(topic_frame(room, topic, rid++));
    for (int i = 0; i < messages; ++i) batch += common::encode_frame(say_frame(room, kBody, rid++));
    if (leave) batch += common::encode_frame(leave_frame(room, rid++));
    frames += 3 + static_cast<std::size_t>(messages);
    if (frames >= 60) flush();
  }
  if (frames > 0) flush();
}

std::vector<std::string> names(const std::string& prefix, int n) {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back("#" + prefix + std::to_string(i));
  return out;
}

// The end of a long output (chat prints every 4 KB message).
std::string tail(const std::string& text) { return text.size() > 4000 ? text.substr(text.size() - 4000) : text; }

std::size_t message_bytes(const google::protobuf::RepeatedPtrField<v1::RoomMessage>& page) {
  std::size_t n = 0;
  for (const auto& m : page) n += m.ByteSizeLong() + 3;
  return n;
}

// (a) Hello plus 11 pipelined joins of rooms full of 4 KB messages: the
// replays together are several times the outbox cap. Three times over.
TEST(BigRepliesTest, PipelinedJoinsWhoseReplaysPassTheCapAreAllAnsweredAndNeverDropped) {
  auto config = big_config();
  config.replay_on_join = 100;  // 400 KB a room: cut to 256 KiB, the newest kept
  RunningServer server(config);
  const auto rooms = names("full", 11);
  fill(server.port(), rooms, 100, "", false);
  Bystander bystander(server.port());
  const auto quiet = bystander.chat(200);

  std::atomic<bool> done{false};
  std::thread attack([&] {
    for (int run = 0; run < 3; ++run) {
      RawConnection joiner(server.port());
      std::string bytes = common::encode_frame(hello_frame("joiner" + std::to_string(run), 1));
      for (std::size_t i = 0; i < rooms.size(); ++i) bytes += common::encode_frame(join_frame(rooms[i], 2 + i));
      joiner.send_bytes(bytes);
      std::set<std::uint64_t> answered;
      std::size_t total = 0;
      while (answered.size() < rooms.size()) {
        auto f = joiner.read_frame(30s);
        ASSERT_TRUE(f) << "run " << run << ": closed after " << answered.size() << " joins";
        ASSERT_FALSE(f->has_error()) << f->DebugString();
        if (!f->has_join()) continue;
        const auto& j = f->join();
        answered.insert(f->request_id());
        total += f->ByteSizeLong();
        // The newest of the replay, contiguous up to last_seq, cut to the size.
        EXPECT_TRUE(j.recent_truncated()) << j.room();
        ASSERT_GT(j.recent_size(), 0);
        EXPECT_LT(j.recent_size(), 100);
        EXPECT_LE(message_bytes(j.recent()), config.max_reply_bytes);
        EXPECT_EQ(j.recent(j.recent_size() - 1).seq(), j.last_seq());
        for (int k = 1; k < j.recent_size(); ++k) EXPECT_EQ(j.recent(k).seq(), j.recent(k - 1).seq() + 1);
      }
      EXPECT_GT(total, config.outbox_cap_bytes * 2) << "the replays together pass the cap";
      EXPECT_FALSE(joiner.eof());
    }
    done = true;
  });
  const auto loaded = bystander.chat(50, &done);
  attack.join();
  report_bystander("PipelinedJoins", quiet, loaded);
  const auto m = server->metrics();
  EXPECT_EQ(m.slow_consumer_disconnects, 0u);
  EXPECT_EQ(m.errors_of(v1::Error::CODE_SLOW_CONSUMER), 0u);
  bystander.expect_unaffected();
}

// (b) 2000 rooms with 512-byte topics: about 1.1 MB of room list, over the
// cap. The list comes in pages under max_reply_bytes, in name order, and a
// client that pipelines page requests is not dropped.
TEST(BigRepliesTest, TheRoomListIsPagedUnderTheReplySizeAndPagesThroughEveryRoom) {
  const auto config = big_config();
  RunningServer server(config);
  const auto rooms = names("topic", 2000);
  fill(server.port(), rooms, 0, kTopic, true);
  Bystander bystander(server.port());
  const auto quiet = bystander.chat(200);

  IoThread io;
  TestClient lister(io, server.port(), "lister");
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = lister.call([&](client::Client& c, client::ReplyHandler h) { c.list_rooms(cursor, 0, std::move(h)); });
    ASSERT_TRUE(page.has_list_rooms()) << page.DebugString();
    ++pages;
    EXPECT_LE(page.ByteSizeLong(), config.max_reply_bytes + 64);
    for (const auto& r : page.list_rooms().rooms()) {
      ASSERT_TRUE(seen.empty() || r.name() > seen.back()) << r.name() << " after " << seen.back();
      if (r.name() != "#calm") {
        EXPECT_EQ(r.topic(), kTopic);
      }
      seen.push_back(r.name());
    }
    cursor = page.list_rooms().next_cursor();
    if (!cursor.empty()) {
      EXPECT_EQ(cursor, seen.back());
    }
  } while (!cursor.empty() && pages < 100);
  EXPECT_EQ(seen.size(), rooms.size() + 1);  // and #calm
  EXPECT_GE(pages, 4);
  RecordProperty("list_pages", std::to_string(pages));

  // A limit is kept, and its page names the next cursor.
  auto seven = lister.call([](client::Client& c, client::ReplyHandler h) { c.list_rooms("", 7, std::move(h)); });
  ASSERT_EQ(seven.list_rooms().rooms_size(), 7);
  EXPECT_EQ(seven.list_rooms().next_cursor(), seen[6]);

  // Ten full pages asked for at once, read only once all are sent.
  std::atomic<bool> done{false};
  std::thread attack([&] {
    RawConnection raw(server.port());
    ASSERT_TRUE(login(raw, "pager").has_hello());
    std::string bytes;
    for (std::uint64_t i = 0; i < 10; ++i) bytes += common::encode_frame(list_frame("", 0, 100 + i));
    raw.send_bytes(bytes);
    int got = 0;
    while (got < 10) {
      auto f = raw.read_frame(30s);
      ASSERT_TRUE(f) << "closed after " << got << " pages";
      ASSERT_TRUE(f->has_list_rooms()) << f->DebugString();
      EXPECT_EQ(f->list_rooms().rooms(0).name(), seen[0]);
      ++got;
    }
    done = true;
  });
  const auto loaded = bystander.chat(50, &done);
  attack.join();
  report_bystander("RoomList", quiet, loaded);
  EXPECT_EQ(server->metrics().slow_consumer_disconnects, 0u);
  EXPECT_FALSE(lister.disconnected());
  bystander.expect_unaffected();
}

// (c) Two full history pages back to back, one each way: each is cut to the
// reply size and says so, and paging on from its end gets every message.
TEST(BigRepliesTest, BackToBackHistoryPagesAreCutToTheReplySizeAndPagingOnGetsEveryMessage) {
  const auto config = big_config();
  RunningServer server(config);
  fill(server.port(), {"#deep"}, 400, "", false);
  Bystander bystander(server.port());

  RawConnection reader(server.port());
  ASSERT_TRUE(login(reader, "reader").has_hello());
  reader.send_bytes(common::encode_frame(history_frame("#deep", 0, std::nullopt, 200, 2)) +
                    common::encode_frame(history_frame("#deep", 0, 0, 200, 3)));
  auto newest = reader.read_until([](const v1::ServerFrame& f) { return f.request_id() == 2; }, 30s);
  auto oldest = reader.read_until([](const v1::ServerFrame& f) { return f.request_id() == 3; }, 30s);
  ASSERT_TRUE(newest && newest->has_history()) << (newest ? newest->DebugString() : "closed");
  ASSERT_TRUE(oldest && oldest->has_history()) << (oldest ? oldest->DebugString() : "closed");
  for (const auto* page : {&newest->history(), &oldest->history()}) {
    EXPECT_TRUE(page->truncated());
    ASSERT_GT(page->messages_size(), 0);
    EXPECT_LT(page->messages_size(), 200);
    EXPECT_LE(message_bytes(page->messages()), config.max_reply_bytes);
  }
  // A before page keeps the newest, an after page the oldest.
  EXPECT_EQ(newest->history().messages(newest->history().messages_size() - 1).seq(), 400u);
  EXPECT_EQ(oldest->history().messages(0).seq(), 1u);

  // Back from the newest page's start, page by page, to the first message.
  std::vector<std::uint64_t> seqs;
  for (const auto& m : newest->history().messages()) seqs.push_back(m.seq());
  for (std::uint64_t rid = 10; seqs.front() > 1 && rid < 100; ++rid) {
    reader.send_frame(history_frame("#deep", seqs.front(), std::nullopt, 200, rid));
    auto f = reader.read_until([rid](const v1::ServerFrame& s) { return s.request_id() == rid; }, 30s);
    ASSERT_TRUE(f && f->has_history());
    std::vector<std::uint64_t> page;
    for (const auto& m : f->history().messages()) page.push_back(m.seq());
    ASSERT_FALSE(page.empty());
    seqs.insert(seqs.begin(), page.begin(), page.end());
  }
  ASSERT_EQ(seqs.size(), 400u);
  for (std::size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i + 1);
  EXPECT_FALSE(reader.eof());
  EXPECT_EQ(server->metrics().slow_consumer_disconnects, 0u);
  bystander.chat(20);  // and it still chats
  bystander.expect_unaffected();
}

// (d) Finding 4: a connection that asks for history and never reads holds
// more than the soft limit unsent; it is dropped after the soft limit's
// seconds, the counters say slow consumer, and it finds the error last.
TEST(BigRepliesTest, ANonReaderHoldingHistoryIsDroppedByTheSoftLimitAndABystanderChatsOn) {
  auto config = big_config();
  config.outbox_soft_seconds = 2;
  RunningServer server(config);
  fill(server.port(), {"#deep"}, 400, "", false);
  Bystander bystander(server.port());
  const auto quiet = bystander.chat(200);

  RawConnection sink(server.port(), 4096);  // a small receive buffer, never read
  ASSERT_TRUE(login(sink, "sink").has_hello());
  std::string bytes;
  for (std::uint64_t i = 0; i < 8; ++i) bytes += common::encode_frame(history_frame("#deep", 0, std::nullopt, 200, 10 + i));
  sink.send_bytes(bytes);
  std::atomic<bool> done{false};
  std::thread watch([&] {
    wait_until([&] { return server->metrics().slow_consumer_disconnects >= 1; }, 60s);
    done = true;
  });
  const auto loaded = bystander.chat(50, &done);
  watch.join();
  report_bystander("NonReader", quiet, loaded);
  const auto m = server->metrics();
  ASSERT_EQ(m.slow_consumer_disconnects, 1u) << "the non-reader was never dropped";
  EXPECT_EQ(m.errors_of(v1::Error::CODE_SLOW_CONSUMER), 1u);

  // What the kernel held, whole frames, then the typed error, then the close.
  std::optional<v1::ServerFrame> last;
  while (auto f = sink.read_frame(10s)) last = f;
  EXPECT_TRUE(sink.eof());
  ASSERT_TRUE(last && last->has_error());
  EXPECT_EQ(last->error().code(), v1::Error::CODE_SLOW_CONSUMER);
  bystander.expect_unaffected();
}

// (e) The issue's must-show 2: rooms full of 4 KB messages and 512-byte
// topics; the real `chat` joins 12 of them, lists the rooms and fetches
// history, and is never dropped.
TEST(BigRepliesTest, ChatJoinsTwelveFullRoomsListsThemAndFetchesHistoryWithoutBeingDropped) {
  auto config = big_config();
  config.replay_on_join = 100;
  RunningServer server(config);
  const auto rooms = names("big", 12);
  fill(server.port(), rooms, 100, kTopic, true);
  fill(server.port(), names("more", 1500), 0, kTopic, true);

  std::string joins;
  for (const auto& r : rooms) joins += (joins.empty() ? "" : ",") + r;
  ChildProcess chat({CHAT_PATH, "--json", "--host", "127.0.0.1", "--port", std::to_string(server.port()), "--nick",
                     "viewer", "--join", joins});
  ASSERT_TRUE(chat.wait(
      [](const auto& lines) {
        int n = 0;
        for (const auto& l : lines) n += l.find("\"type\":\"joined\"") != std::string::npos ? 1 : 0;
        return n == 12;
      },
      60s))
      << tail(chat.text());
  chat.write_line("/list");
  ASSERT_TRUE(chat.wait_line("\"type\":\"rooms\"", 60s)) << tail(chat.text());
  chat.write_line("/history 200");
  ASSERT_TRUE(chat.wait_for_line(
      [](const std::string& l) { return l.find("history of #big") != std::string::npos && l.find(": 100 messages") != std::string::npos; },
      60s))
      << tail(chat.text());

  std::size_t listed = 0;
  for (const auto& l : chat.lines()) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    if (!j.is_discarded() && j.value("type", "") == "rooms") listed = j["rooms"].size();
    if (!j.is_discarded() && j.value("type", "") == "error") ADD_FAILURE() << l;
    if (!j.is_discarded() && j.value("type", "") == "connection") {
      EXPECT_NE(j.value("state", ""), "reconnecting") << l;
    }
  }
  EXPECT_EQ(listed, 1512u);
  EXPECT_EQ(server->metrics().slow_consumer_disconnects, 0u);
  EXPECT_EQ(server->metrics().errors_of(v1::Error::CODE_SLOW_CONSUMER), 0u);
  chat.write_line("/quit");
  EXPECT_EQ(chat.wait_exit(20s), 0) << tail(chat.text());
}

}  // namespace
}  // namespace chat::testing
