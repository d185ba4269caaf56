// The client library against a scripted peer: a plain socket that says
// Welcome and then floods presence frames, so reads keep completing.

#include "client/lib/client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/framing.hpp"
#include "support/test_client.hpp"

namespace chat::client {
namespace {

using chat::testing::IoThread;

// Accepts one connection at a time; each gets a Welcome, then presence
// frames until it goes away.
class FloodingPeer {
 public:
  FloodingPeer() : acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {
    thread_ = std::thread([this] {
      for (;;) {
        asio::ip::tcp::socket s(io_);
        std::error_code ec;
        acceptor_.accept(s, ec);
        if (ec || stop_) return;
        v1::ServerFrame welcome;
        welcome.mutable_welcome()->set_epoch(1);
        v1::ServerFrame presence;
        presence.mutable_presence()->set_room("#r");
        presence.mutable_presence()->set_nick("someone");
        std::string burst;
        for (int i = 0; i < 64; ++i) burst += common::encode_frame(presence);
        asio::write(s, asio::buffer(common::encode_frame(welcome)), ec);
        while (!ec) asio::write(s, asio::buffer(burst), ec);
      }
    });
  }
  ~FloodingPeer() {
    stop_ = true;
    asio::ip::tcp::socket wake(io_);
    std::error_code ec;
    wake.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A read that completed just before close() is queued behind it; its data
// must not reach the owner's callbacks, which the owner may free as soon as
// close() returns (the test client does exactly that).
TEST(ClientTest, NoEventReachesTheOwnerAfterClose) {
  FloodingPeer peer;
  IoThread io;
  int events_after_close = 0;  // touched on the io thread only
  for (int round = 0; round < 50; ++round) {
    bool closed = false;
    std::promise<std::error_code> connected;
    std::atomic<int> events{0};
    auto client = io.call([&] {
      Events ev;
      ev.on_presence = [&](const v1::Presence&) {
        if (closed) ++events_after_close;
        ++events;
      };
      auto c = Client::create(io.io(), std::move(ev));
      c->connect("127.0.0.1", peer.port(), [&](std::error_code ec) { connected.set_value(ec); });
      return c;
    });
    ASSERT_FALSE(connected.get_future().get());
    while (events < 100) std::this_thread::yield();  // reads are flowing
    io.call([&] {
      client->close();
      closed = true;
      return 0;
    });
    // Let anything still queued run before looking.
    io.call([] { return 0; });
    io.call([] { return 0; });
    ASSERT_EQ(io.call([&] { return events_after_close; }), 0) << "in round " << round;
  }
}

}  // namespace
}  // namespace chat::client
