#include "server/net/outbox.hpp"

#include <algorithm>
#include <array>

#include "common/framing.hpp"

namespace chat::server {

namespace {
constexpr std::size_t kMaxIov = 64;  // segments per gather write
// Frames up to this size are copied into the run; larger ones are not.
constexpr std::size_t kCoalesceBytes = 2048;
// A run buffer starts at this and grows as the string does.
constexpr std::size_t kRunStartBytes = 4096;
// Spare run buffers a reactor keeps, and the largest it keeps.
constexpr std::size_t kMaxSpare = 256;
constexpr std::size_t kMaxSpareBytes = 256 * 1024;
// Vectors that grew past these while busy are released when drained.
constexpr std::size_t kKeepPieces = 16;
constexpr std::size_t kKeepStamps = 256;

template <class T>
void clear_keeping_at_most(std::vector<T>& v, std::size_t keep) {
  if (v.capacity() > keep) {
    std::vector<T>().swap(v);
  } else {
    v.clear();
  }
}
}  // namespace

std::string RunBuffers::take() {
  if (spare_.empty()) {
    std::string fresh;
    fresh.reserve(kRunStartBytes);
    return fresh;
  }
  std::string buffer = std::move(spare_.back());
  spare_.pop_back();
  return buffer;
}

void RunBuffers::give(std::string&& buffer) {
  if (buffer.capacity() < kRunStartBytes) return;  // not one of ours: nothing taken
  if (spare_.size() >= kMaxSpare || buffer.capacity() > kMaxSpareBytes) {
    std::string().swap(buffer);
    return;
  }
  buffer.clear();
  spare_.push_back(std::move(buffer));
  buffer = std::string();
}

void Outbox::push(const LocalFrameRef& frame, RunBuffers& buffers) {
  const std::size_t len = frame.size();
  const std::uint64_t start = pushed_;
  pushed_ += len;
  if (len > kCoalesceBytes) {
    pieces_.push_back(Piece{start, pushed_, frame});
  } else {
    if (run_.capacity() < kRunStartBytes) run_ = buffers.take();  // none yet (an empty string's is its inline 15)
    run_.append(frame.data(), len);
    if (head_ < pieces_.size() && !pieces_.back().large) {
      pieces_.back().end = pushed_;  // the open run grows
    } else {
      pieces_.push_back(Piece{start, pushed_, {}});
    }
  }
  if (const std::int64_t sequenced = frame.sequenced_ns(); sequenced != 0) {
    stamps_.push_back(Stamp{pushed_, sequenced});
  }
}

void Outbox::drop_unstarted() {
  if (head_ == pieces_.size()) return;
  const Piece& head = pieces_[head_];
  std::uint64_t keep_to = written_;  // the end of the frame being written, if one is
  if (written_ > head.start) {
    if (head.large) {
      keep_to = head.end;
    } else {
      // Walk the run's frames (a varint length, then the payload) from its
      // start to the end of the one being written.
      std::size_t at = run_read_ - static_cast<std::size_t>(written_ - head.start);
      keep_to = head.start;
      while (keep_to < written_ && keep_to < head.end) {
        std::uint64_t len = 0;
        std::size_t varint = 0;
        common::read_varint(std::string_view(run_).substr(at), len, varint);
        at += varint + static_cast<std::size_t>(len);
        keep_to += varint + len;
      }
    }
  }
  const bool keep_head = keep_to > written_;
  const bool run_kept = keep_head && !head.large;
  pieces_.resize(keep_head ? head_ + 1 : head_);
  if (keep_head) pieces_[head_].end = keep_to;
  run_.resize(run_read_ + (run_kept ? static_cast<std::size_t>(keep_to - written_) : 0));
  pushed_ = keep_to;
  while (stamps_.size() > stamp_head_ && stamps_.back().end > pushed_) stamps_.pop_back();
}

void Outbox::clear(RunBuffers& buffers) {
  pieces_.clear();
  stamps_.clear();
  head_ = 0;
  stamp_head_ = 0;
  run_read_ = 0;
  pushed_ = 0;
  written_ = 0;
  buffers.give(std::move(run_));
}

Outbox::Write Outbox::write_to(Transport& transport, RunBuffers& buffers, LatencyHistogram& latency,
                               std::int64_t now_ns) {
  std::array<asio::const_buffer, kMaxIov> iov;
  while (written_ < pushed_) {
    std::size_t count = 0;
    std::size_t run_at = run_read_;
    std::uint64_t from = written_;  // where piece i's unwritten bytes start
    for (std::size_t i = head_; i < pieces_.size() && count < kMaxIov; ++i) {
      const Piece& p = pieces_[i];
      const auto len = static_cast<std::size_t>(p.end - from);
      if (p.large) {
        iov[count++] = asio::buffer(p.large.data() + (from - p.start), len);
      } else {
        iov[count++] = asio::buffer(run_.data() + run_at, len);
        run_at += len;
      }
      from = p.end;
    }
    std::error_code ec;
    const std::size_t n = transport.write_some(std::span<const asio::const_buffer>(iov.data(), count), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return Write::kBlocked;
    if (ec) return Write::kFailed;
    consume(n, now_ns, latency);
  }
  clear_keeping_at_most(pieces_, kKeepPieces);
  clear_keeping_at_most(stamps_, kKeepStamps);
  head_ = 0;
  stamp_head_ = 0;
  run_read_ = 0;
  pushed_ = 0;
  written_ = 0;
  buffers.give(std::move(run_));
  return Write::kDone;
}

void Outbox::consume(std::size_t n, std::int64_t& now_ns, LatencyHistogram& latency) {
  while (n > 0) {
    Piece& p = pieces_[head_];
    const auto left = static_cast<std::size_t>(p.end - written_);
    const std::size_t took = std::min(n, left);
    if (!p.large) run_read_ += took;
    written_ += took;
    n -= took;
    if (took == left) {
      p.large.reset();
      ++head_;
    }
  }
  while (stamp_head_ < stamps_.size() && stamps_[stamp_head_].end <= written_) {
    if (now_ns == 0) now_ns = monotonic_ns();
    latency.observe(now_ns - stamps_[stamp_head_].sequenced_ns);
    ++stamp_head_;
  }
}

}  // namespace chat::server
