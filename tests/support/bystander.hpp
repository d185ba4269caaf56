#pragma once
// The survival tests' bystander: an ordinary user chatting while an attack
// runs, who must not notice it. A speaker and a listener, both from
// 127.0.0.1, in a room of their own: the speaker says paced messages, each
// waiting for its own copy, and the listener must get every one of them
// exactly once, in seq order. Neither may see an error or be dropped.
// The round trips are returned for report_bystander(), which prints and
// records their p99: timing is never asserted (the machine is noisy).
// Thread safety: use from one thread; its clients run on an IoThread of
// its own.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "support/test_client.hpp"

namespace chat::testing {

class Bystander {
 public:
  // Frames chatd sends for each say: the speaker's own copy and the listener's.
  static constexpr int kCopiesPerSay = 2;
  // Between two says: 40 a second, under every rate the tests set (the
  // default is 50 a second).
  static constexpr std::chrono::milliseconds kPace{25};

  // Logs in `<tag>-speaker` and `<tag>-listener` and joins both to
  // `#<tag>` (a failed join is a test failure; see joined()).
  explicit Bystander(std::uint16_t port, const std::string& tag = "calm");

  bool joined() const { return joined_; }
  const std::string& room() const { return room_; }
  // The speaker, for tests that use the bystander as a user otherwise too.
  TestClient& speaker() { return speaker_; }
  // Says so far (frames the speaker sent since joining).
  int said() const { return static_cast<int>(said_); }

  // Says `n` messages, kPace apart (and on until `*until` is set, if given);
  // returns their round trips in ms. Each must come back to the speaker as
  // a message with the next seq and its text; then expect_unaffected().
  std::vector<double> chat(int n, const std::atomic<bool>* until = nullptr);

  // Both clients got every message said so far, exactly once, in seq order,
  // with its text; neither got an error or was disconnected.
  void expect_unaffected(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

 private:
  std::string text(std::uint64_t k) const;

  IoThread io_;
  std::string room_;
  TestClient speaker_;
  TestClient listener_;
  bool joined_ = false;
  std::uint64_t first_seq_ = 1;  // the seq of the first say: the room's last_seq on joining, plus one
  std::uint64_t said_ = 0;
};

// Prints the p99 of the bystander's round trips without and with the attack
// (`[ bystander ]` lines) and records them as the test's properties
// `<what>_p99_ms_without` and `<what>_p99_ms_with` (spaces become '_').
void report_bystander(const std::string& what, const std::vector<double>& without, const std::vector<double>& with);

}  // namespace chat::testing
