// Outbox: small frames copied into one segment, large ones written from
// their reference, partial writes, dropping what has not started, and one
// latency observation per room message written.
#include "server/net/outbox.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/framing.hpp"
#include "server/chat/frames.hpp"
#include "support/fake_transport.hpp"

namespace chat::server {
namespace {

// A frame of `payload` bytes of `fill`, as a room message when sequenced_ns != 0.
LocalFrameRef frame_of(std::size_t payload, char fill, std::int64_t sequenced_ns = 0) {
  std::string bytes(common::varint_size(payload) + payload, fill);
  common::write_varint(payload, bytes.data());
  return LocalFrameRef(std::make_shared<const std::string>(std::move(bytes)), sequenced_ns);
}

std::uint64_t observed(const LatencyHistogram& h) {
  LatencySnapshot s;
  h.add_to(s);
  std::uint64_t n = 0;
  for (auto b : s.buckets) n += b;
  return n;
}

TEST(OutboxTest, WritesSmallAndLargeFramesInOrderThroughPartialWrites) {
  std::vector<char> scratch(64 * 1024);
  Outbox box;
  LatencyHistogram latency;
  auto wire = std::make_shared<testing::FakeWire>();
  testing::FakeTransport t(wire);
  std::string expected;
  std::vector<LocalFrameRef> frames = {frame_of(100, 'a', 1), frame_of(5000, 'B'), frame_of(30, 'c', 1),
                                       frame_of(2000, 'd'), frame_of(9000, 'E', 1), frame_of(1, 'f', 1)};
  for (const auto& f : frames) {
    box.push(f);
    expected += *f;
  }
  EXPECT_EQ(box.bytes(), expected.size());
  wire->per_write = 777;
  EXPECT_EQ(box.write_to(t, scratch, latency, 10), Outbox::Write::kDone);
  EXPECT_EQ(wire->out, expected);
  EXPECT_TRUE(box.empty());
  EXPECT_EQ(box.bytes(), 0u);
  EXPECT_EQ(observed(latency), 4u);  // the four room messages, once each
}

TEST(OutboxTest, ABlockedWriteKeepsEverythingAndGoesOnWhereItStopped) {
  std::vector<char> scratch(64 * 1024);
  Outbox box;
  LatencyHistogram latency;
  auto wire = std::make_shared<testing::FakeWire>();
  testing::FakeTransport t(wire);
  std::string expected;
  for (int i = 0; i < 50; ++i) {
    auto f = frame_of(64 + i, static_cast<char>('a' + i % 26), 1);
    box.push(f);
    expected += *f;
  }
  wire->per_write = 300;
  wire->allow(1000);
  EXPECT_EQ(box.write_to(t, scratch, latency, 10), Outbox::Write::kBlocked);
  EXPECT_EQ(wire->out, expected.substr(0, 1000));
  // bytes() counts the partly written frame whole.
  EXPECT_GT(box.bytes(), expected.size() - 1000);
  EXPECT_LT(box.bytes(), expected.size() - 1000 + 114);
  const std::uint64_t done_so_far = observed(latency);
  EXPECT_GT(done_so_far, 10u);
  EXPECT_LT(done_so_far, 16u);
  auto late = frame_of(10, 'z', 1);
  box.push(late);
  expected += *late;
  wire->allow(1 << 30);
  EXPECT_EQ(box.write_to(t, scratch, latency, 10), Outbox::Write::kDone);
  EXPECT_EQ(wire->out, expected);
  EXPECT_EQ(observed(latency), 51u);
}

TEST(OutboxTest, AFramePartlyWrittenGoesOnWhereItStoppedBeforeTheNextOnes) {
  std::vector<char> scratch(64 * 1024);
  Outbox box;
  LatencyHistogram latency;
  auto wire = std::make_shared<testing::FakeWire>();
  testing::FakeTransport t(wire);
  const auto a = frame_of(100, 'a', 1);
  const auto b = frame_of(100, 'b', 1);
  const auto c = frame_of(3000, 'C', 1);
  box.push(a);
  wire->allow(40);
  EXPECT_EQ(box.write_to(t, scratch, latency, 10), Outbox::Write::kBlocked);
  box.push(b);
  box.push(c);
  EXPECT_EQ(box.bytes(), 101u + 101 + 3002);  // the partly written frame counts whole
  wire->allow(1 << 30);
  EXPECT_EQ(box.write_to(t, scratch, latency, 10), Outbox::Write::kDone);
  EXPECT_EQ(wire->out, *a + *b + *c);
  EXPECT_EQ(observed(latency), 3u);
}

TEST(OutboxTest, DropUnstartedKeepsThePartlyWrittenFrameAndNothingAfterIt) {
  for (const std::size_t cut : {0u, 50u, 101u, 103u, 150u, 202u, 6000u, 9204u}) {
    std::vector<char> scratch(64 * 1024);
    Outbox box;
    LatencyHistogram latency;
    auto wire = std::make_shared<testing::FakeWire>();
    testing::FakeTransport t(wire);
    const auto a = frame_of(100, 'a', 1);   // 101 bytes: [0, 101)
    const auto b = frame_of(100, 'b', 1);   // [101, 202)
    const auto big = frame_of(9000, 'G');   // [202, 9204)
    const auto c = frame_of(10, 'c', 1);
    for (const auto* f : {&a, &b, &big, &c}) box.push(*f);
    wire->allow(cut);
    box.write_to(t, scratch, latency, 10);
    box.drop_unstarted();
    const auto bye = frame_of(20, 'Z');
    box.push(bye);
    wire->allow(1 << 30);
    ASSERT_EQ(box.write_to(t, scratch, latency, 10), Outbox::Write::kDone) << cut;
    std::string expected;
    const std::string all = *a + *b + *big + *c;
    if (cut == 0) expected = "";
    if (cut == 50) expected = all.substr(0, 101);
    if (cut == 103) expected = all.substr(0, 202);
    if (cut == 150) expected = all.substr(0, 202);
    if (cut == 101) expected = all.substr(0, 101);  // a frame boundary: b had not started
    if (cut == 202) expected = all.substr(0, 202);
    if (cut == 6000) expected = all.substr(0, 9204);
    if (cut == 9204) expected = all.substr(0, 9204);
    EXPECT_EQ(wire->out, expected + *bye) << cut;
    // Every frame that went out whole decodes; the stream is intact.
    std::size_t frames = 0;
    common::FrameDecoder decoder(1 << 20);
    EXPECT_EQ(decoder.feed(wire->out, [&](std::string_view) { return ++frames, true; }), common::DecodeError::kNone);
    EXPECT_EQ(decoder.buffered(), 0u) << cut;
  }
}

}  // namespace
}  // namespace chat::server
