#pragma once
// A Transport with no socket under it: bytes the test feeds in are what the
// session reads, and what the session writes collects in `out`. Lets a test
// drive a real session (and its reactor, attached to the test's thread)
// request by request.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/framing.hpp"
#include "server/net/transport.hpp"

namespace chat::testing {

// Both ends of the fake connection; the test keeps one reference, the
// transport (owned by the session) the other.
struct FakeWire {
  std::string in;   // not yet read by the session
  std::string out;  // everything the session wrote
  bool closed = false;
  bool fin = false;  // the session sent a FIN; the fake client closes in answer
  server::Transport::WaitHandler reader;
  // Write limits, for partial and blocked writes: at most `per_write` bytes
  // a write and `allowance` in all; past that the transport is full (would
  // block, and a wait to write waits) until allow() gives more.
  std::size_t per_write = SIZE_MAX;
  std::size_t allowance = SIZE_MAX;
  server::Transport::WaitHandler writer;

  void allow(std::size_t bytes) {
    allowance = bytes;
    if (auto wake = std::exchange(writer, nullptr)) wake({});
  }

  // Hands `bytes` to the session, waking it if it waits to read.
  void feed(std::string_view bytes) {
    in.append(bytes);
    if (auto wake = std::exchange(reader, nullptr)) wake({});
  }
  // The frames written so far, decoded.
  std::vector<v1::ServerFrame> frames() const {
    std::vector<v1::ServerFrame> result;
    common::FrameDecoder decoder(1 << 20);
    decoder.feed(out, [&](std::string_view p) {
      result.emplace_back().ParseFromArray(p.data(), static_cast<int>(p.size()));
      return true;
    });
    return result;
  }
};

class FakeTransport : public server::Transport {
 public:
  explicit FakeTransport(std::shared_ptr<FakeWire> wire) : wire_(std::move(wire)) {}

  std::size_t read_some(std::span<char> into, std::error_code& ec) override {
    if (wire_->closed || (wire_->fin && wire_->in.empty())) {
      ec = asio::error::eof;
      return 0;
    }
    if (wire_->in.empty()) {
      ec = asio::error::would_block;
      return 0;
    }
    const std::size_t n = std::min(into.size(), wire_->in.size());
    std::copy_n(wire_->in.data(), n, into.data());
    wire_->in.erase(0, n);
    return n;
  }
  std::size_t write_some(std::span<const asio::const_buffer> segments, std::error_code& ec) override {
    if (wire_->closed) {
      ec = asio::error::broken_pipe;
      return 0;
    }
    const std::size_t budget = std::min(wire_->per_write, wire_->allowance);
    if (budget == 0) {
      ec = asio::error::would_block;
      return 0;
    }
    std::size_t n = 0;
    for (const auto& s : segments) {
      const std::size_t take = std::min(s.size(), budget - n);
      wire_->out.append(static_cast<const char*>(s.data()), take);
      n += take;
      if (n == budget) break;
    }
    wire_->allowance -= n;
    return n;
  }
  void wait_readable(WaitHandler handler) override {
    if (!wire_->in.empty()) {
      handler({});
      return;
    }
    wire_->reader = std::move(handler);
  }
  void wait_writable(WaitHandler handler) override {
    if (wire_->allowance == 0) {
      wire_->writer = std::move(handler);
      return;
    }
    handler({});
  }
  void shutdown_send() override { wire_->fin = true; }
  void close() override {
    wire_->closed = true;
    wire_->reader = nullptr;  // a closed socket's waits never complete here
    wire_->writer = nullptr;
  }
  std::string peer() const override { return "fake"; }

 private:
  std::shared_ptr<FakeWire> wire_;
};

}  // namespace chat::testing
