// chat-bench's zero-copy RoomMessage reader agrees with the generated parser.

#include "client/bench/wire.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "chat/v1/chat.pb.h"

namespace chat::bench {
namespace {

TEST(BenchWireTest, ReadsWhatTheGeneratedSerializerWrites) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    v1::RoomMessage m;
    if (rng() % 2) m.set_room("#room" + std::to_string(rng() % 100));
    if (rng() % 2) m.set_sender("nick" + std::to_string(rng() % 100));
    m.set_text(std::string(rng() % 300, static_cast<char>('a' + rng() % 26)));
    m.set_seq(rng() >> (rng() % 64));
    if (rng() % 2) m.set_timestamp_ms(static_cast<std::int64_t>(rng()));
    if (rng() % 2) m.set_client_msg_id(rng() >> (rng() % 64));
    const std::string bytes = m.SerializeAsString();

    RoomMessageView view;
    ASSERT_TRUE(read_room_message(bytes, view));
    EXPECT_EQ(view.seq, m.seq());
    EXPECT_EQ(view.client_msg_id, m.client_msg_id());
    EXPECT_EQ(view.text, m.text());
  }
}

TEST(BenchWireTest, SkipsFieldsItDoesNotKnow) {
  v1::RoomMessage m;
  m.set_text("hello");
  m.set_seq(42);
  std::string bytes = m.SerializeAsString();
  // Field 99 as a varint, a fixed64, a string and a fixed32, as a newer
  // server might send.
  bytes += std::string("\x98\x06\x05", 3);
  bytes += std::string("\x99\x06", 2) + std::string(8, '\x01');
  bytes += std::string("\x9a\x06\x03xyz", 6);
  bytes += std::string("\x9d\x06", 2) + std::string(4, '\x02');
  RoomMessageView view;
  ASSERT_TRUE(read_room_message(bytes, view));
  EXPECT_EQ(view.seq, 42u);
  EXPECT_EQ(view.text, "hello");
}

// On anything malformed it says no (and the bench falls back to the
// generated parser); whenever both accept, they agree.
TEST(BenchWireTest, AgreesWithTheGeneratedParserOnMangledInput) {
  v1::RoomMessage m;
  m.set_room("#r");
  m.set_sender("s");
  m.set_text("0123456789");
  m.set_seq(300);
  m.set_client_msg_id(7);
  const std::string good = m.SerializeAsString();
  std::mt19937_64 rng(11);
  int compared = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = good;
    switch (i % 3) {
      case 0:  // truncated
        bytes.resize(rng() % bytes.size());
        break;
      case 1:  // a few bytes flipped
        for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
        break;
      case 2:  // random bytes
        bytes.resize(rng() % 40);
        for (auto& c : bytes) c = static_cast<char>(rng());
        break;
    }
    RoomMessageView view;
    if (!read_room_message(bytes, view)) continue;
    v1::RoomMessage parsed;
    // A text that is not UTF-8 is the one thing the generated parser rejects
    // and the view does not check; the bench reads only ASCII headers.
    if (!parsed.ParseFromString(bytes)) continue;
    ++compared;
    EXPECT_EQ(view.seq, parsed.seq());
    EXPECT_EQ(view.client_msg_id, parsed.client_msg_id());
    EXPECT_EQ(view.text, parsed.text());
  }
  EXPECT_GT(compared, 1000);
}

}  // namespace
}  // namespace chat::bench
