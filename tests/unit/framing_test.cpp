#include "common/framing.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/frames.hpp"

namespace chat::common {
namespace {

// encode_frame, given the bytes of a payload (support/frames.cpp).
using chat::testing::length_prefixed;
using chat::testing::varint;

std::vector<std::string> decode_in_chunks(const std::string& stream, const std::vector<std::size_t>& cuts,
                                          DecodeError* error = nullptr) {
  FrameDecoder decoder(1024);
  std::vector<std::string> out;
  std::size_t from = 0;
  auto feed = [&](std::size_t to) {
    auto e = decoder.feed(std::string_view(stream).substr(from, to - from), [&](std::string_view p) {
      out.emplace_back(p);
      return true;
    });
    if (error != nullptr && e != DecodeError::kNone) *error = e;
    from = to;
  };
  for (std::size_t cut : cuts) feed(cut);
  feed(stream.size());
  return out;
}

TEST(VarintTest, RoundTripsEdgeValues) {
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 16383ull, 16384ull, (1ull << 63), ~0ull}) {
    char buf[kMaxVarintBytes];
    char* end = write_varint(v, buf);
    EXPECT_EQ(static_cast<std::size_t>(end - buf), varint_size(v));
    std::uint64_t back = 0;
    std::size_t used = 0;
    ASSERT_EQ(read_varint(std::string_view(buf, end - buf), back, used), VarintStatus::kOk);
    EXPECT_EQ(back, v);
    EXPECT_EQ(used, varint_size(v));
  }
}

TEST(VarintTest, RejectsElevenBytes) {
  std::string bad(10, '\xff');
  bad += '\x01';
  std::uint64_t v;
  std::size_t used;
  EXPECT_EQ(read_varint(bad, v, used), VarintStatus::kMalformed);
}

TEST(FrameDecoderTest, DecodesEveryFrameAtEverySplitPoint) {
  const std::vector<std::string> payloads = {"hello", "", std::string(300, 'x'), "z"};
  std::string stream;
  for (const auto& p : payloads) stream += length_prefixed(p);
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    for (std::size_t j = i; j <= stream.size(); ++j) {
      ASSERT_EQ(decode_in_chunks(stream, {i, j}), payloads) << "cuts at " << i << ", " << j;
    }
  }
}

TEST(FrameDecoderTest, DecodesOneByteAtATime) {
  std::string stream = length_prefixed("abc") + length_prefixed(std::string(200, 'q'));
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  EXPECT_EQ(decode_in_chunks(stream, cuts), (std::vector<std::string>{"abc", std::string(200, 'q')}));
}

TEST(FrameDecoderTest, RejectsOversizedLengthBeforeThePayloadArrives) {
  FrameDecoder decoder(1024);
  int frames = 0;
  EXPECT_EQ(decoder.feed(varint(1025), [&](std::string_view) { return ++frames > 0; }), DecodeError::kFrameTooLarge);
  EXPECT_EQ(frames, 0);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameDecoderTest, AcceptsExactlyTheMaximum) {
  DecodeError error = DecodeError::kNone;
  auto out = decode_in_chunks(length_prefixed(std::string(1024, 'm')), {3}, &error);
  EXPECT_EQ(error, DecodeError::kNone);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 1024u);
}

TEST(FrameDecoderTest, RejectsLengthOfTwoToTheSixtyThird) {
  FrameDecoder decoder(1024);
  EXPECT_EQ(decoder.feed(varint(1ull << 63), [](std::string_view) { return true; }), DecodeError::kFrameTooLarge);
}

TEST(FrameDecoderTest, RejectsMalformedVarint) {
  FrameDecoder decoder(1024);
  EXPECT_EQ(decoder.feed(std::string(11, '\xff'), [](std::string_view) { return true; }),
            DecodeError::kMalformedLength);
}

TEST(FrameDecoderTest, StaysFailedAfterAnError) {
  FrameDecoder decoder(4);
  EXPECT_EQ(decoder.feed(length_prefixed("toolong"), [](std::string_view) { return true; }),
            DecodeError::kFrameTooLarge);
  EXPECT_EQ(decoder.feed(length_prefixed("ok"), [](std::string_view) { return true; }), DecodeError::kFrameTooLarge);
}

TEST(FrameDecoderTest, PausesWhenTheHandlerSaysSoAndResumesOnTheNextFeed) {
  FrameDecoder decoder(1024);
  std::vector<std::string> seen;
  auto take_one = [&](std::string_view p) {
    seen.emplace_back(p);
    return false;
  };
  decoder.feed(length_prefixed("a") + length_prefixed("b") + length_prefixed("c").substr(0, 1), take_one);
  EXPECT_EQ(seen, std::vector<std::string>{"a"});
  decoder.feed("", take_one);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  decoder.feed(length_prefixed("c").substr(1), take_one);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(decoder.buffered(), 0u);
}

}  // namespace
}  // namespace chat::common
