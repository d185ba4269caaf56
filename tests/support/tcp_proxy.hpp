#pragma once
// A TCP proxy on 127.0.0.1:0 in front of a local port, for links that
// break: cut() closes every connection through it (both sides); while
// refusing, new connections are accepted and closed at once; black_hole()
// plays a link that dies silently: from then on it reads and forwards
// nothing in either direction, yet keeps every socket open (no FIN, no
// reset), as when the far end vanished. Only the kernels' socket buffers
// still take a little. lose_answers() lets requests through but drops
// what the target sends back, on the connections open now: a server that
// did the work and whose answer never arrived.
//
//   client ── port() ──► [ proxy: down ⇄ up ] ──► target port
//                          black_hole(): neither side is read again
//
// Thread safety: its methods may be called from any one thread; the proxy
// runs on an io_context thread of its own and they post to it.

#include <asio.hpp>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace chat::testing {

class TcpProxy {
 public:
  explicit TcpProxy(std::uint16_t target);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  std::uint16_t port() const { return port_; }
  // Closes every connection now; returns how many there were.
  int cut();
  void set_refusing(bool refusing);
  // Stops forwarding, both ways, on every connection, for good (new ones
  // are accepted and then left alone too); returns once the proxy's thread
  // has cancelled its reads and writes, so no byte is forwarded after it
  // returns. The sockets stay open until cut() or the destructor.
  void black_hole();
  // From now on, on every connection open now, the target's bytes are read
  // and dropped; the client's still reach the target. New connections
  // are not touched.
  void lose_answers();
  int accepted() const { return accepted_.load(); }

 private:
  struct Pair {
    explicit Pair(asio::io_context& io) : down(io), up(io) {}
    asio::ip::tcp::socket down, up;
    std::array<char, 16384> down_buf{}, up_buf{};
    bool closed = false;
    bool deaf = false;  // lose_answers(): what `up` sends is dropped
  };

  int close_all();
  static void close(Pair& p);
  void accept();
  void pump(const std::shared_ptr<Pair>& pair, asio::ip::tcp::socket& from, asio::ip::tcp::socket& to,
            std::array<char, 16384>& buf);

  asio::io_context io_;
  asio::ip::tcp::endpoint target_;
  asio::ip::tcp::acceptor acceptor_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::uint16_t port_ = 0;
  bool refusing_ = false;  // the io thread's only
  bool holed_ = false;     // the io thread's only
  std::atomic<int> accepted_{0};
  std::vector<std::shared_ptr<Pair>> pairs_;
  std::thread thread_;
};

}  // namespace chat::testing
