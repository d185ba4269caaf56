#include "support/bystander.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "support/percentile.hpp"

namespace chat::testing {

Bystander::Bystander(std::uint16_t port, const std::string& tag)
    : room_("#" + tag), speaker_(io_, port, tag + "-speaker"), listener_(io_, port, tag + "-listener") {
  const auto spoke = speaker_.join(room_);
  EXPECT_TRUE(spoke.has_join()) << room_ << ": " << spoke.DebugString();
  const auto heard = listener_.join(room_);
  EXPECT_TRUE(heard.has_join()) << room_ << ": " << heard.DebugString();
  joined_ = spoke.has_join() && heard.has_join();
  if (joined_) first_seq_ = heard.join().last_seq() + 1;
}

std::string Bystander::text(std::uint64_t k) const { return room_ + " " + std::to_string(k); }

std::vector<double> Bystander::chat(int n, const std::atomic<bool>* until) {
  std::vector<double> trips;
  while (static_cast<int>(trips.size()) < n || (until != nullptr && !*until)) {
    const std::uint64_t k = said_++;
    const auto sent = std::chrono::steady_clock::now();
    const auto reply = speaker_.say(room_, text(k), k + 1);
    if (!reply.has_message()) {
      ADD_FAILURE() << "the bystander's say " << k << " got " << reply.DebugString();
      break;
    }
    trips.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count());
    EXPECT_EQ(reply.message().seq(), first_seq_ + k);
    EXPECT_EQ(reply.message().text(), text(k));
    std::this_thread::sleep_for(kPace);  // pacing under the rate limit, not waiting for anything
  }
  expect_unaffected();
  return trips;
}

void Bystander::expect_unaffected(std::chrono::milliseconds timeout) const {
  EXPECT_TRUE(listener_.wait_messages(room_, said_, timeout)) << listener_.messages(room_).size() << " of " << said_;
  for (const TestClient* c : {&speaker_, &listener_}) {
    const char* who = c == &speaker_ ? "speaker" : "listener";
    const auto seen = c->messages(room_);
    EXPECT_EQ(seen.size(), said_) << who;
    for (std::size_t i = 0; i < std::min<std::size_t>(seen.size(), said_); ++i) {
      EXPECT_EQ(seen[i].seq(), first_seq_ + i) << who;
      EXPECT_EQ(seen[i].text(), text(i)) << who;
    }
    EXPECT_TRUE(c->errors().empty()) << who << ": " << c->errors().front().DebugString();
    EXPECT_FALSE(c->disconnected()) << who;
  }
}

void report_bystander(const std::string& what, const std::vector<double>& without, const std::vector<double>& with) {
  std::printf("[ bystander ] %s: p99 %.2f ms without the attack (%zu says), %.2f ms with it (%zu says)\n",
              what.c_str(), p99(without), without.size(), p99(with), with.size());
  std::string key = what;
  std::replace(key.begin(), key.end(), ' ', '_');
  ::testing::Test::RecordProperty(key + "_p99_ms_without", std::to_string(p99(without)));
  ::testing::Test::RecordProperty(key + "_p99_ms_with", std::to_string(p99(with)));
}

}  // namespace chat::testing
