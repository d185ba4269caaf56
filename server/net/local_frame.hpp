#pragma once
// An outgoing frame as one reactor's sessions hold it: one shared reference to
// the encoded bytes per reactor, plus a plain (non-atomic) count of the
// outboxes on this reactor that still have to write it. Fan-out to N local
// members then costs N plain increments and decrements instead of N atomic
// ones; in scenario A of BENCHMARKS.md the atomic shared_ptr count per
// delivery was 14% of the server's CPU.
// Thread safety: reactor-confined. A LocalFrameRef is created, copied and
// released on its reactor's thread only (or after that thread was joined).

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "common/framing.hpp"

namespace chat::server {

class LocalFrameRef {
 public:
  LocalFrameRef() = default;
  // `sequenced_ns`: when the room owner sequenced the message this frame
  // carries (0: not a room message); read when the frame has been written.
  explicit LocalFrameRef(common::SharedFrame bytes, std::int64_t sequenced_ns = 0)
      : frame_(new Frame{bytes->data(), bytes->size(), std::move(bytes), 1, sequenced_ns}) {}
  LocalFrameRef(const LocalFrameRef& other) : frame_(other.frame_) {
    if (frame_ != nullptr) ++frame_->refs;
  }
  LocalFrameRef(LocalFrameRef&& other) noexcept : frame_(std::exchange(other.frame_, nullptr)) {}
  LocalFrameRef& operator=(LocalFrameRef other) noexcept {
    std::swap(frame_, other.frame_);
    return *this;
  }
  ~LocalFrameRef() { reset(); }

  void reset() {
    if (frame_ != nullptr && --frame_->refs == 0) delete frame_;
    frame_ = nullptr;
  }
  const std::string& operator*() const { return *frame_->bytes; }
  const std::string* operator->() const { return frame_->bytes.get(); }
  // The bytes without the shared_ptr hop: the outbox reads these for every
  // delivery.
  const char* data() const { return frame_->data; }
  std::size_t size() const { return frame_->size; }
  explicit operator bool() const { return frame_ != nullptr; }
  std::int64_t sequenced_ns() const { return frame_->sequenced_ns; }

 private:
  struct Frame {
    const char* data;  // *bytes's, which never changes
    std::size_t size;
    common::SharedFrame bytes;
    unsigned refs;
    std::int64_t sequenced_ns;
  };
  Frame* frame_ = nullptr;
};

}  // namespace chat::server
