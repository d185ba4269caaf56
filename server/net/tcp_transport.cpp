#include "server/net/tcp_transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>

namespace chat::server {

namespace {
void set_int(int fd, int level, int name, int value) { ::setsockopt(fd, level, name, &value, sizeof value); }
}  // namespace

TcpTransport::TcpTransport(asio::ip::tcp::socket socket, std::uint32_t user_timeout_ms) : socket_(std::move(socket)) {
  std::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  if (user_timeout_ms == 0) return;
  // Data unacknowledged for user_timeout_ms kills the connection. Probes
  // start after as long a silence, four in that time again: a dead link
  // nobody writes to is found too.
  const int fd = socket_.native_handle();
  const int idle_s = std::max(1, static_cast<int>(user_timeout_ms / 1000));
  set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(user_timeout_ms));
  set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
  set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s);
  set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, std::max(1, idle_s / 4));
  set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 4);
}

std::size_t TcpTransport::read_some(std::span<char> into, std::error_code& ec) {
  return socket_.read_some(asio::buffer(into.data(), into.size()), ec);
}

std::size_t TcpTransport::write_some(std::span<const asio::const_buffer> segments, std::error_code& ec) {
  // One segment (the usual case) goes out with send(), which skips the
  // kernel's iovec import; several with sendmsg().
  if (segments.size() == 1) return socket_.write_some(segments[0], ec);
  return socket_.write_some(segments, ec);
}

void TcpTransport::wait_readable(WaitHandler handler) {
  socket_.async_wait(asio::ip::tcp::socket::wait_read, std::move(handler));
}

void TcpTransport::wait_writable(WaitHandler handler) {
  socket_.async_wait(asio::ip::tcp::socket::wait_write, std::move(handler));
}

void TcpTransport::shutdown_send() {
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

void TcpTransport::close() {
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

std::string TcpTransport::peer() const {
  std::error_code ec;
  const auto endpoint = socket_.remote_endpoint(ec);
  return ec ? std::string() : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace chat::server
