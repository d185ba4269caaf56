#pragma once
// A session's outbox and its writer: frames queued this turn, written with
// one gather write per turn (as Redis and NATS flush each client once per
// loop pass).
//
// A small frame is copied into the outbox's run buffer when it is queued
// (as the floor server and Redis's client reply buffer do), so a delivery
// costs one copy and no reference to count up and down; a large one (a
// history page, a join reply) is held by reference and written from where it
// is. The outbox is then a list of pieces in stream order:
//
//   pieces_: [ done ... | head_ (partly written up to written_) | ... ]
//   each piece: a run of copied frames (its bytes in run_), or one large frame
//
// Offsets count bytes of the session's stream since the outbox last
// emptied: pushed_ is the end of what is queued, written_ the end of what
// the socket took. A drained outbox hands its run buffer back to the
// reactor's RunBuffers, so an idle session holds none.
// Thread safety: reactor-confined, like the session that owns it.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "server/net/local_frame.hpp"
#include "server/net/transport.hpp"
#include "server/ops/metrics.hpp"

namespace chat::server {

// The run buffers of a reactor's outboxes that are empty now, kept for the
// next ones to fill (bounded in number and size).
// Thread safety: reactor-confined.
class RunBuffers {
 public:
  std::string take();
  void give(std::string&& buffer);
  std::size_t spare() const { return spare_.size(); }

 private:
  std::vector<std::string> spare_;
};

class Outbox {
 public:
  enum class Write { kDone, kBlocked, kFailed };

  void push(const LocalFrameRef& frame, RunBuffers& buffers);
  // Bytes queued and not yet written.
  std::size_t bytes() const { return static_cast<std::size_t>(pushed_ - written_); }
  bool empty() const { return pushed_ == written_; }
  // Drops every frame not yet started, keeping one that is partly written
  // (its tail must still go out for the stream to stay whole).
  void drop_unstarted();
  void clear(RunBuffers& buffers);
  // Writes as much as `transport` takes now. Each room message written to
  // its end is observed in `latency`: from its sequencing to `now_ns` (0:
  // the clock is read here, once, when the first room message is done).
  Write write_to(Transport& transport, RunBuffers& buffers, LatencyHistogram& latency, std::int64_t now_ns = 0);

 private:
  struct Piece {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    LocalFrameRef large;  // empty: a run, its bytes in run_
  };
  // A room message's end in the stream, and when it was sequenced.
  struct Stamp {
    std::uint64_t end = 0;
    std::int64_t sequenced_ns = 0;
  };

  // Records that the n bytes after written_ are written.
  void consume(std::size_t n, std::int64_t& now_ns, LatencyHistogram& latency);

  std::string run_;            // the runs' bytes, in order; run_read_ is the first not yet written
  std::size_t run_read_ = 0;
  std::vector<Piece> pieces_;
  std::size_t head_ = 0;       // the first piece not fully written
  std::vector<Stamp> stamps_;
  std::size_t stamp_head_ = 0;  // the first stamp not yet observed
  std::uint64_t pushed_ = 0;
  std::uint64_t written_ = 0;
};

}  // namespace chat::server
