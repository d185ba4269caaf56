#pragma once
// A connection's byte stream as the session and its writer see it: read what
// is there, gather-write what fits, wait until either is possible, close.
// The session never learns what is underneath (as Redis's connection.h hides
// sockets and TLS behind one type): TCP today (tcp_transport.hpp), TLS next.
//
// Reads and writes never block: a call that cannot make progress sets `ec`
// to asio::error::would_block, and the caller waits.
// Thread safety: reactor-confined, like the session that owns it.

#include <asio.hpp>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <system_error>

namespace chat::server {

class Transport {
 public:
  using WaitHandler = std::function<void(const std::error_code&)>;

  virtual ~Transport() = default;
  virtual std::size_t read_some(std::span<char> into, std::error_code& ec) = 0;
  virtual std::size_t write_some(std::span<const asio::const_buffer> segments, std::error_code& ec) = 0;
  // Calls `handler` once the stream is readable (or writable), or with an
  // error once it is closed.
  virtual void wait_readable(WaitHandler handler) = 0;
  virtual void wait_writable(WaitHandler handler) = 0;
  // Sends a FIN after what was written; reading goes on.
  virtual void shutdown_send() = 0;
  virtual void close() = 0;
  // The peer's address, for logs ("" if unknown).
  virtual std::string peer() const = 0;
};

}  // namespace chat::server
