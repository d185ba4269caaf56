#pragma once
// TLS over a connected, non-blocking socket, with OpenSSL reading and
// writing the descriptor itself. read() and write() never block: a call that
// cannot go on sets `ec` to asio::error::would_block and says which way the
// socket must become ready before it can (read_waits_for(),
// write_waits_for()); during the handshake a write may wait for the socket
// to be readable, and a read for it to be writable.
//
// Why not asio::ssl::stream: its synchronous calls hand each record to
// asio::write, which on a non-blocking socket returns would_block after a
// partial write with the rest of the record already taken out of OpenSSL,
// so a full socket buffer would corrupt the stream; its asynchronous calls
// need one pending handler per direction and keep two 17 KiB buffers per
// connection, idle or not. The reactor's Transport (read what is there,
// write what fits, wait) maps onto SSL_read and SSL_write directly, and
// SSL_MODE_RELEASE_BUFFERS gives an idle connection's buffers back.
// asio::ssl::context still builds the SSL_CTX (tls_context.hpp).
//
// A write that said would_block must be retried with the same bytes first
// (OpenSSL has encrypted them already): give it at least as many bytes,
// starting with the same ones. Passing at most kRecordBytes at a time, from
// the first unwritten byte, does that.
// Thread safety: confined to the thread that owns the connection. The
// SSL_CTX may be shared by many threads' streams.

#include <openssl/ssl.h>

#include <cstddef>
#include <span>
#include <string>
#include <system_error>

namespace chat::common {

// The most plaintext one TLS record carries.
inline constexpr std::size_t kRecordBytes = 16 * 1024;

class TlsStream {
 public:
  enum class Role { kServer, kClient };
  enum class Wait { kReadable, kWritable };

  // `fd` is not owned: the caller closes it after this is gone. A client
  // names the server (`server_name`) for SNI and for verifying its
  // certificate against it, if `ctx` verifies.
  TlsStream(SSL_CTX* ctx, int fd, Role role, const std::string& server_name = {});
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Runs the handshake as far as it can go; true once it is done.
  bool handshake(std::error_code& ec);
  std::size_t read(std::span<char> into, std::error_code& ec);
  // Writes `bytes` (at most kRecordBytes, see above) as one record, or
  // nothing.
  std::size_t write(std::span<const char> bytes, std::error_code& ec);
  // Sends close_notify once, if the handshake is done; errors are ignored
  // (the TCP FIN after it says the same).
  void close_notify();

  Wait read_waits_for() const { return read_wait_; }
  Wait write_waits_for() const { return write_wait_; }
  // Decrypted bytes OpenSSL holds that the socket no longer shows.
  bool has_pending() const { return SSL_has_pending(ssl_) != 0; }
  bool established() const { return SSL_is_init_finished(ssl_) != 0; }

 private:
  // Maps SSL_get_error for a call that returned `ret` onto ec and `wait`.
  void fail(int ret, Wait& wait, std::error_code& ec);

  SSL* ssl_;
  Wait read_wait_ = Wait::kReadable;
  Wait write_wait_ = Wait::kWritable;
  bool notified_ = false;
};

// OpenSSL's reason for an error it queued, as a std::error_code.
std::error_code last_tls_error();

}  // namespace chat::common
