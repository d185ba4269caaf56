#include "server/net/outbox.hpp"

#include <array>
#include <cstring>

namespace chat::server {

namespace {
constexpr std::size_t kMaxIov = 64;  // segments per gather write
// Frames up to this size are copied into one segment; larger ones are not.
constexpr std::size_t kCoalesceBytes = 2048;
}  // namespace

void Outbox::push(LocalFrameRef frame) {
  bytes_ += frame.size();
  frames_.push_back(std::move(frame));
}

void Outbox::drop_unstarted() {
  const std::size_t keep = head_ + (head_offset_ > 0 ? 1 : 0);
  frames_.resize(keep);
  bytes_ = 0;
  for (std::size_t i = head_; i < keep; ++i) bytes_ += frames_[i].size();
}

void Outbox::clear() {
  frames_.clear();
  head_ = 0;
  head_offset_ = 0;
  bytes_ = 0;
}

Outbox::Write Outbox::write_to(Transport& transport, std::span<char> scratch, LatencyHistogram& latency,
                               std::int64_t now_ns) {
  std::array<asio::const_buffer, kMaxIov> iov;
  while (head_ < frames_.size()) {
    // Small frames are copied back to back into the scratch buffer and go
    // out as one segment: that copy costs less than the kernel's per-segment
    // work on a long iovec of small frames (+20% deliveries per CPU-second
    // in BENCHMARKS.md). A large frame is its own segment, never copied.
    std::size_t count = 0;
    std::size_t used = 0;           // bytes of scratch taken
    std::size_t segment_start = 0;  // where the open scratch segment began
    bool segment_open = false;      // iov[count - 1] is that segment
    for (std::size_t i = head_; i < frames_.size() && count < kMaxIov; ++i) {
      const LocalFrameRef& f = frames_[i];
      const std::size_t skip = (i == head_) ? head_offset_ : 0;
      const char* data = f.data() + skip;
      const std::size_t len = f.size() - skip;
      if (len > kCoalesceBytes) {
        iov[count++] = asio::buffer(data, len);
        segment_open = false;
        continue;
      }
      if (used + len > scratch.size()) break;
      std::memcpy(scratch.data() + used, data, len);
      used += len;
      if (!segment_open) {
        segment_start = used - len;
        segment_open = true;
        ++count;
      }
      iov[count - 1] = asio::buffer(scratch.data() + segment_start, used - segment_start);
    }
    std::error_code ec;
    const std::size_t n = transport.write_some(std::span<const asio::const_buffer>(iov.data(), count), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return Write::kBlocked;
    if (ec) return Write::kFailed;
    consume(n, now_ns, latency);
  }
  frames_.clear();
  head_ = 0;
  return Write::kDone;
}

void Outbox::consume(std::size_t n, std::int64_t& now_ns, LatencyHistogram& latency) {
  while (n > 0) {
    const std::size_t left = frames_[head_].size() - head_offset_;
    if (n < left) {
      head_offset_ += n;
      return;
    }
    n -= left;
    bytes_ -= frames_[head_].size();
    if (const std::int64_t sequenced = frames_[head_].sequenced_ns(); sequenced != 0) {
      if (now_ns == 0) now_ns = monotonic_ns();
      latency.observe(now_ns - sequenced);
    }
    frames_[head_].reset();
    ++head_;
    head_offset_ = 0;
  }
}

}  // namespace chat::server
