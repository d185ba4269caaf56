#pragma once
// Opens a listening TCP socket on ADDR:PORT (port 0: any free one), with
// SO_REUSEADDR; throws std::system_error if it cannot. Used by the chat
// acceptor and the /metrics page.
// Thread safety: the returned acceptor belongs to `io`'s thread.

#include <asio.hpp>
#include <cstdint>
#include <string>

namespace chat::server {

inline asio::ip::tcp::acceptor listen_on(asio::io_context& io, const std::string& bind, std::uint16_t port) {
  const asio::ip::tcp::endpoint want(asio::ip::make_address(bind), port);
  asio::ip::tcp::acceptor acceptor(io);
  acceptor.open(want.protocol());
  acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  acceptor.bind(want);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

}  // namespace chat::server
