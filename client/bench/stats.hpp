#pragma once
// Measurement helpers for chat-bench: a latency histogram with percentiles,
// and the bookkeeping that finds lost, duplicated and reordered messages.
// Thread safety: plain values; each instance is confined to one thread, and
// the main thread merges them only after the worker threads have joined.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>

namespace chat::bench {

// Log-linear histogram of nanosecond values (the idea of HdrHistogram): 128
// linear sub-buckets per power of two, so any value is recorded to within
// 1/128 (< 0.8%) of itself, in fixed memory, with O(1) recording.
class LatencyHistogram {
 public:
  void record(std::uint64_t value) {
    ++counts_[index(value)];
    ++count_;
    max_ = std::max(max_, value);
  }

  void merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }

  // The value at quantile q (0 < q <= 1): the middle of the bucket holding
  // the ceil(q * count)-th smallest value, never above the true maximum.
  std::uint64_t percentile(double q) const {
    if (count_ == 0) return 0;
    auto target = static_cast<std::uint64_t>(q * static_cast<double>(count_) + 0.999999);
    target = std::clamp<std::uint64_t>(target, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= target) return std::min(middle(i), max_);
    }
    return max_;
  }

 private:
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSub = 1u << kSubBits;  // 128
  // Shifts 0..56 cover every 64-bit value.
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) * kSub;

  // Values below 128 map to themselves; above, the top 8 significant bits
  // (a leading 1 and 7 more) and the shift pick the bucket.
  static std::size_t index(std::uint64_t v) {
    if (v < kSub) return static_cast<std::size_t>(v);
    const int shift = (63 - std::countl_zero(v)) - kSubBits;
    const std::uint64_t mantissa = v >> shift;  // in [128, 256)
    return static_cast<std::size_t>((shift + 1) * kSub + (mantissa - kSub));
  }

  static std::uint64_t middle(std::size_t i) {
    if (i < kSub) return i;
    const int shift = static_cast<int>(i / kSub) - 1;
    const std::uint64_t mantissa = kSub + i % kSub;
    const std::uint64_t low = mantissa << shift;
    return low + ((std::uint64_t{1} << shift) >> 1);
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

// Which of one publisher's messages one receiver has seen. Counters normally
// arrive as 0, 1, 2, ...; a jump leaves a gap, kept as an interval, so memory
// stays small however long the run. A counter inside a gap that arrives
// later was reordered; a counter seen before is a duplicate; whatever is left
// in the gaps (or never reached) at the end was lost.
class CounterTracker {
 public:
  enum class Arrival { kInOrder, kAfterGap, kReordered, kDuplicate };

  Arrival on_counter(std::uint64_t c) {
    if (c == next_) {
      ++next_;
      return Arrival::kInOrder;
    }
    if (c > next_) {
      missing_.emplace(next_, c);
      next_ = c + 1;
      return Arrival::kAfterGap;
    }
    auto it = missing_.upper_bound(c);  // the first gap starting after c
    if (it == missing_.begin()) return Arrival::kDuplicate;
    --it;
    const auto [start, end] = *it;
    if (c >= end) return Arrival::kDuplicate;
    missing_.erase(it);
    if (start < c) missing_.emplace(start, c);
    if (c + 1 < end) missing_.emplace(c + 1, end);
    return Arrival::kReordered;
  }

  // How many counters in [lo, hi) never arrived.
  std::uint64_t missing_in(std::uint64_t lo, std::uint64_t hi) const {
    std::uint64_t n = overlap(next_, std::numeric_limits<std::uint64_t>::max(), lo, hi);
    for (const auto& [start, end] : missing_) n += overlap(start, end, lo, hi);
    return n;
  }

 private:
  static std::uint64_t overlap(std::uint64_t a, std::uint64_t b, std::uint64_t lo, std::uint64_t hi) {
    const std::uint64_t from = std::max(a, lo);
    const std::uint64_t to = std::min(b, hi);
    return to > from ? to - from : 0;
  }

  std::uint64_t next_ = 0;
  std::map<std::uint64_t, std::uint64_t> missing_;  // gap start -> end (exclusive)
};

}  // namespace chat::bench
