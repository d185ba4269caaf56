#pragma once
// A Transport over a connected, non-blocking TCP socket (TCP_NODELAY on).
// Thread safety: reactor-confined.

#include <asio.hpp>

#include "server/net/transport.hpp"

namespace chat::server {

class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(asio::ip::tcp::socket socket);

  std::size_t read_some(std::span<char> into, std::error_code& ec) override;
  std::size_t write_some(std::span<const asio::const_buffer> segments, std::error_code& ec) override;
  void wait_readable(WaitHandler handler) override;
  void wait_writable(WaitHandler handler) override;
  void shutdown_send() override;
  void close() override;
  std::string peer() const override;

 private:
  asio::ip::tcp::socket socket_;
};

}  // namespace chat::server
