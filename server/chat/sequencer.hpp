#pragma once
// The sequencing seam at the room owner: a say gets the room's next gapless
// seq, is stored, and goes out to every member once the store holds it.
// LocalSequencer does it with the room's own counter; a cluster sequencer
// (one atomic script in Redis) replaces it without the sessions or the
// shard's other paths changing.
//
// Exactly-once: a say is named by (identity, client_msg_id). For at least
// kDedupeWindow the sequencer remembers the seq it gave each named say; the
// same say again is not sequenced again, and its sender gets the original
// message (same seq) once more.
// Thread safety: reactor-confined (the room owner's thread).

#include <chrono>
#include <cstdint>
#include <string>

#include "server/chat/fan_out.hpp"
#include "server/chat/room_state.hpp"
#include "server/chat/said_table.hpp"
#include "server/store/history_store.hpp"

namespace chat::server {

class Sequencer {
 public:
  virtual ~Sequencer() = default;
  // `m` comes from a member of `room`.
  virtual void publish(RoomState& room, msg::Publish&& m) = 0;
  // The store holds `room`'s messages up to `seq`.
  virtual void on_durable(RoomState& room, std::uint64_t seq) = 0;
  // Whether the store takes writes; while not, says are refused.
  virtual void on_store_health(const msg::StoreHealth& health) = 0;
  // Named says of `room` from before a restart.
  virtual void remember(const std::string& room, const std::vector<RecentSend>& sends) = 0;
};

class LocalSequencer final : public Sequencer {
 public:
  static constexpr std::chrono::minutes kDedupeWindow{10};
  // The most named says remembered per shard; past it the oldest go first,
  // even inside the window.
  static constexpr std::size_t kMaxRemembered = 1'000'000;

  LocalSequencer(Router& router, HistoryStore& store, FanOut& fan_out)
      : router_(router),
        store_(store),
        fan_out_(fan_out),
        said_(std::chrono::milliseconds(kDedupeWindow).count(), kMaxRemembered) {}
  void publish(RoomState& room, msg::Publish&& m) override;
  void on_durable(RoomState& room, std::uint64_t seq) override;
  void on_store_health(const msg::StoreHealth& health) override { health_ = health; }
  void remember(const std::string& room, const std::vector<RecentSend>& sends) override;

 private:
  using Said = SaidTable::Said;
  // The same say again: its sender gets the original once more.
  void resend(RoomState& room, const Said& said, const msg::Publish& m);
  void deliver(RoomState& room, PendingDelivery& p);

  Router& router_;
  HistoryStore& store_;
  FanOut& fan_out_;
  msg::StoreHealth health_;
  SaidTable said_;
};

}  // namespace chat::server
