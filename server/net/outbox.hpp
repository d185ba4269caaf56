#pragma once
// A session's outbox and its writer: frames queued this turn, written with
// one gather write per turn (as Redis and NATS flush each client once per
// loop pass).
//
//   frames_: [ written and released ... | head_ (partly written: head_offset_) | ... queued ]
//                                         ^ first byte not yet sent
//
// bytes() counts the whole size of every frame from head_ on.
// Thread safety: reactor-confined, like the session that owns it.

#include <cstddef>
#include <span>
#include <vector>

#include "server/net/local_frame.hpp"
#include "server/net/transport.hpp"
#include "server/ops/metrics.hpp"

namespace chat::server {

class Outbox {
 public:
  enum class Write { kDone, kBlocked, kFailed };

  void push(LocalFrameRef frame);
  std::size_t bytes() const { return bytes_; }
  bool empty() const { return head_ == frames_.size(); }
  // Drops every frame not yet started, keeping one that is partly written
  // (its tail must still go out for the stream to stay whole).
  void drop_unstarted();
  void clear();
  // Writes as much as `transport` takes now. `scratch` is the reactor's
  // shared copy buffer: small frames are copied into it back to back and go
  // out as one segment. Each room message written to its end is observed in
  // `latency`: from its sequencing to `now_ns` (0: the clock is read here,
  // once, when the first room message is done).
  Write write_to(Transport& transport, std::span<char> scratch, LatencyHistogram& latency, std::int64_t now_ns = 0);

 private:
  // Releases the n bytes just written; `now_ns` is read on the first
  // finished room message (0 until then).
  void consume(std::size_t n, std::int64_t& now_ns, LatencyHistogram& latency);

  std::vector<LocalFrameRef> frames_;
  std::size_t head_ = 0;
  std::size_t head_offset_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace chat::server
