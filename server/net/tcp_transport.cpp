#include "server/net/tcp_transport.hpp"

namespace chat::server {

TcpTransport::TcpTransport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  std::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
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
