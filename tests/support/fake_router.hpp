#pragma once
// A Router that records what the actors under test send instead of routing
// it, and decodes the frames in it. Owned by the test's thread.
#include <string>
#include <utility>
#include <vector>

#include "common/framing.hpp"
#include "server/chat/router.hpp"

namespace chat::testing {

class FakeRouter : public server::Router {
 public:
  explicit FakeRouter(std::uint32_t reactors = 2) : reactors_(reactors) { owner_.bind(); }
  std::uint32_t reactor_count() const override { return reactors_; }
  void send(std::uint32_t to, server::Message&& m) override { sent.emplace_back(to, std::move(m)); }

  // The frames sent to one session: replies, join answers and refusals.
  std::vector<v1::ServerFrame> replies_to(server::SessionId session) const {
    std::vector<v1::ServerFrame> out;
    for (const auto& [to, m] : sent) {
      if (const auto* r = std::get_if<server::msg::ToSession>(&m); r && r->session == session) out.push_back(decode(*r->frame));
      if (const auto* j = std::get_if<server::msg::Joined>(&m); j && j->session == session) out.push_back(decode(*j->reply));
      if (const auto* j = std::get_if<server::msg::JoinRefused>(&m); j && j->session == session) out.push_back(decode(*j->reply));
    }
    return out;
  }
  // Every message of type M sent so far, with the reactor it went to.
  template <class M>
  std::vector<std::pair<std::uint32_t, M>> sent_of() const {
    std::vector<std::pair<std::uint32_t, M>> out;
    for (const auto& [to, m] : sent) {
      if (const auto* x = std::get_if<M>(&m)) out.emplace_back(to, *x);
    }
    return out;
  }
  static v1::ServerFrame decode(const std::string& frame) {
    common::FrameDecoder decoder(1 << 20);
    v1::ServerFrame f;
    decoder.feed(frame, [&](std::string_view p) { return f.ParseFromArray(p.data(), static_cast<int>(p.size())); });
    return f;
  }

  std::vector<std::pair<std::uint32_t, server::Message>> sent;

 private:
  std::uint32_t reactors_;
};

}  // namespace chat::testing
