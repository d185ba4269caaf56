#pragma once
// Records which thread owns an object and checks it at reactor-only entry
// points, as muduo's EventLoop::assertInLoopThread() does. The check costs
// nothing in release builds.
// Thread safety: bind() once, before or on the owning thread; then read-only.

#include <cassert>
#include <thread>

namespace chat::common {

class ThreadOwner {
 public:
  void bind() { owner_ = std::this_thread::get_id(); }
  bool is_owner() const { return owner_ == std::this_thread::get_id(); }
  void assert_owner() const { assert(is_owner() && "called off the owning reactor thread"); }

 private:
  std::thread::id owner_;
};

}  // namespace chat::common
