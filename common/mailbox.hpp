#pragma once
// A reactor's inbox: many producers, one consumer, lock-free, FIFO per
// producer, with an eventfd that wakes the consumer only when it has said it
// is about to sleep.
//
// The queue is moodycamel::ConcurrentQueue (Debian's libconcurrentqueue-dev);
// each producer holds its own ProducerToken, which is what makes the order
// FIFO per producer.
//
// Wake-up protocol (a Dekker-style handshake on `armed_`):
//   consumer: drain; armed = true; fence; if queue non-empty: disarm, drain again
//             else sleep on the eventfd
//   producer: enqueue; fence; if armed.exchange(false): write the eventfd
// Both fences are seq_cst, so either the consumer's re-check sees the item or
// the producer sees `armed` and writes the eventfd: an item is never left
// behind a sleeping consumer. Under load the consumer is rarely armed, so one
// wake-up carries a whole batch.
//
// Why there is no bound: a mail between reactors is a step of a message's
// path (a say, its Deliver, an answer), and dropping one would lose a
// message for every member, while blocking a producer could deadlock two
// reactors that send to each other. The load is bounded where it enters
// instead: every mail comes from a client request that passed its
// session's token bucket, or from a fan-out of one (one Deliver per
// reactor, not per member), and each reactor drains in bounded batches
// between socket turns. The depth is exported so a backlog shows.

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <concurrentqueue/concurrentqueue.h>
#include <cstdint>
#include <system_error>
#include <utility>

namespace chat::common {

template <class T>
class Mailbox {
 public:
  // Thread safety: one Producer per producing thread; it may be created on
  // any thread but used by one thread at a time.
  class Producer {
   public:
    explicit Producer(Mailbox& box) : box_(&box), token_(box.queue_) {}
    void send(T&& item) {
      box_->queue_.enqueue(token_, std::move(item));
      box_->notify();
    }

   private:
    Mailbox* box_;
    moodycamel::ProducerToken token_;
  };

  Mailbox() : wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), consumer_token_(queue_) {
    if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  ~Mailbox() { ::close(wake_fd_); }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Safe from any thread.
  int wake_fd() const { return wake_fd_; }
  std::uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }
  // Items waiting now, roughly (a gauge: chatd_inbox_depth).
  std::size_t size_approx() const { return queue_.size_approx(); }

  // Consumer only. Calls f(T&&) for up to `max_batch` items; returns how many.
  template <class F>
  std::size_t drain(std::size_t max_batch, F&& f) {
    constexpr std::size_t kChunk = 64;
    T items[kChunk];
    std::size_t total = 0;
    while (total < max_batch) {
      const std::size_t want = std::min(kChunk, max_batch - total);
      const std::size_t got = queue_.try_dequeue_bulk(consumer_token_, items, want);
      for (std::size_t i = 0; i < got; ++i) f(std::move(items[i]));
      total += got;
      if (got < want) break;
    }
    return total;
  }

  // Consumer only, after a drain that emptied the queue: returns true when
  // the consumer may sleep on wake_fd(), false when items arrived meanwhile.
  bool arm() {
    armed_.store(true, std::memory_order_relaxed);
    // Pairs with the fence in notify(): orders our store of `armed_` before
    // our read of the queue, as the producer orders its enqueue before its
    // read of `armed_`.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (queue_.size_approx() == 0) return true;
    // An item slipped in. Take the arm back; if a producer already took it,
    // it has also written the eventfd, which only costs one spurious wake.
    armed_.exchange(false, std::memory_order_relaxed);
    return false;
  }

  // Consumer only: resets the eventfd after it became readable.
  void clear_wake() {
    std::uint64_t count;
    [[maybe_unused]] auto n = ::read(wake_fd_, &count, sizeof count);
  }

 private:
  void notify() {
    // Pairs with the fence in arm(); see the protocol at the top of the file.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!armed_.load(std::memory_order_relaxed)) return;
    if (!armed_.exchange(false, std::memory_order_relaxed)) return;
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }

  int wake_fd_;
  moodycamel::ConcurrentQueue<T> queue_;
  moodycamel::ConsumerToken consumer_token_;
  std::atomic<bool> armed_{false};
  std::atomic<std::uint64_t> wakeups_{0};
};

}  // namespace chat::common
