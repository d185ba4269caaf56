#pragma once
// Opens a listening TCP socket on ADDR:PORT (port 0: any free one), with
// SO_REUSEADDR; throws std::system_error naming the address and `listener`
// ("the chat listener (--bind, --port)") if it cannot. Used by the chat
// acceptor and the /metrics page. `bind` is numeric: Config resolved it.
// Thread safety: the returned acceptor belongs to `io`'s thread.

#include <asio.hpp>
#include <cstdint>
#include <string>
#include <system_error>

#include "server/net/address.hpp"

namespace chat::server {

inline asio::ip::tcp::acceptor listen_on(asio::io_context& io, const std::string& bind, std::uint16_t port,
                                         const std::string& listener) {
  std::error_code ec;
  const asio::ip::address address = asio::ip::make_address(bind, ec);
  if (ec) throw std::system_error(ec, "bad address '" + bind + "' for " + listener);
  const asio::ip::tcp::endpoint want(address, port);
  asio::ip::tcp::acceptor acceptor(io);
  auto fail_if = [&](const std::error_code& e) {
    if (e) throw std::system_error(e, "cannot listen on " + to_string(want) + " for " + listener);
  };
  acceptor.open(want.protocol(), ec);
  fail_if(ec);
  acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  fail_if(ec);
  acceptor.bind(want, ec);
  fail_if(ec);
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  fail_if(ec);
  return acceptor;
}

}  // namespace chat::server
