#pragma once
// The sequencing seam at the room owner: a say gets the room's next gapless
// seq, is stored, and goes out to every member. LocalSequencer does it with
// the room's own counter; a cluster sequencer (one atomic script in Redis)
// replaces it without the sessions or the shard's other paths changing.
// Thread safety: reactor-confined (the room owner's thread).

#include "server/chat/fan_out.hpp"
#include "server/chat/room_state.hpp"
#include "server/store/history_store.hpp"

namespace chat::server {

class Sequencer {
 public:
  virtual ~Sequencer() = default;
  // `m` comes from a member of `room`.
  virtual void publish(RoomState& room, msg::Publish&& m) = 0;
};

class LocalSequencer final : public Sequencer {
 public:
  LocalSequencer(HistoryStore& store, FanOut& fan_out) : store_(store), fan_out_(fan_out) {}
  void publish(RoomState& room, msg::Publish&& m) override;

 private:
  HistoryStore& store_;
  FanOut& fan_out_;
};

}  // namespace chat::server
