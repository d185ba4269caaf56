#include "common/mailbox.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <thread>
#include <vector>

namespace chat::common {
namespace {

struct Item {
  int producer = 0;
  int n = 0;
};

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

TEST(MailboxTest, KeepsEachProducersOrderAndLosesNothing) {
  constexpr int kProducers = 4;
  constexpr int kItems = 50'000;
  Mailbox<Item> box;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&box, p] {
      Mailbox<Item>::Producer out(box);
      for (int i = 0; i < kItems; ++i) out.send(Item{p, i});
    });
  }
  std::vector<int> next(kProducers, 0);
  int total = 0;
  while (total < kProducers * kItems) {
    total += static_cast<int>(box.drain(256, [&](Item&& item) {
      ASSERT_EQ(item.n, next[item.producer]) << "producer " << item.producer;
      ++next[item.producer];
    }));
    if (total < kProducers * kItems && box.arm()) {
      // Sleep as a reactor would: the producer must wake us.
      ASSERT_TRUE(readable(box.wake_fd(), 5000)) << "a sleeping consumer was not woken";
      box.clear_wake();
    }
  }
  for (auto& t : producers) t.join();
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kItems);
}

TEST(MailboxTest, WakesOnlyAnArmedConsumer) {
  Mailbox<int> box;
  Mailbox<int>::Producer out(box);
  out.send(1);  // not armed: no wake-up
  EXPECT_FALSE(readable(box.wake_fd(), 0));
  EXPECT_FALSE(box.arm()) << "arm must see the queued item";
  EXPECT_EQ(box.drain(10, [](int&&) {}), 1u);
  EXPECT_TRUE(box.arm());
  out.send(2);
  EXPECT_TRUE(readable(box.wake_fd(), 1000));
  out.send(3);  // already woken: no second write
  box.clear_wake();
  EXPECT_FALSE(readable(box.wake_fd(), 0));
  EXPECT_EQ(box.wakeups(), 1u);
  EXPECT_EQ(box.drain(10, [](int&&) {}), 2u);
}

TEST(MailboxTest, DrainsInBoundedBatches) {
  Mailbox<int> box;
  Mailbox<int>::Producer out(box);
  for (int i = 0; i < 1000; ++i) out.send(int{i});
  EXPECT_EQ(box.drain(256, [](int&&) {}), 256u);
  EXPECT_EQ(box.drain(1000, [](int&&) {}), 744u);
}

}  // namespace
}  // namespace chat::common
