#pragma once
// A Transport over a connected, non-blocking TCP socket (TCP_NODELAY on).
// With a user timeout, data the peer leaves unacknowledged that long kills
// the connection (TCP_USER_TIMEOUT), and keepalive probes a silent one, so a
// link that died silently fails its next read or write within about that
// time instead of after the kernel's retransmissions (~15 minutes).
// Thread safety: reactor-confined.

#include <asio.hpp>

#include "server/net/transport.hpp"

namespace chat::server {

class TcpTransport final : public Transport {
 public:
  // user_timeout_ms 0: the kernel's defaults.
  explicit TcpTransport(asio::ip::tcp::socket socket, std::uint32_t user_timeout_ms = 0);

  std::size_t read_some(std::span<char> into, std::error_code& ec) override;
  std::size_t write_some(std::span<const asio::const_buffer> segments, std::error_code& ec) override;
  void wait_readable(WaitHandler handler) override;
  void wait_writable(WaitHandler handler) override;
  void shutdown_send() override;
  void close() override;
  std::string peer() const override;

  // For a layer on top (tls_transport.hpp): the socket itself.
  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  asio::ip::tcp::socket socket_;
};

}  // namespace chat::server
