#include "common/tls_stream.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <asio/error.hpp>
#include <asio/ssl/error.hpp>
#include <cerrno>
#include <climits>
#include <new>

namespace chat::common {

std::error_code last_tls_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return asio::error::make_error_code(asio::error::connection_aborted);
  return {static_cast<int>(code), asio::error::get_ssl_category()};
}

TlsStream::TlsStream(SSL_CTX* ctx, int fd, Role role, const std::string& server_name) : ssl_(SSL_new(ctx)) {
  if (ssl_ == nullptr) throw std::bad_alloc();
  SSL_set_fd(ssl_, fd);
  // One record per write, retried from a buffer that may move (see the header).
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  if (role == Role::kServer) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (server_name.empty()) return;
  // An IP address is matched against the certificate's IP entries and sent
  // as no SNI (which names hosts only); a name against its DNS entries.
  in6_addr ip{};
  if (::inet_pton(AF_INET, server_name.c_str(), &ip) == 1 || ::inet_pton(AF_INET6, server_name.c_str(), &ip) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), server_name.c_str());
    return;
  }
  SSL_set_tlsext_host_name(ssl_, server_name.c_str());
  SSL_set1_host(ssl_, server_name.c_str());
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

bool TlsStream::handshake(std::error_code& ec) {
  if (established()) return true;
  ERR_clear_error();
  errno = 0;  // SSL_ERROR_SYSCALL reads it
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) return true;
  // Whichever call drove the handshake, both directions wait for it.
  fail(ret, read_wait_, ec);
  write_wait_ = read_wait_;
  return false;
}

std::size_t TlsStream::read(std::span<char> into, std::error_code& ec) {
  ec.clear();
  if (!handshake(ec)) return 0;
  ERR_clear_error();
  errno = 0;  // SSL_ERROR_SYSCALL reads it
  const int ret = SSL_read(ssl_, into.data(), static_cast<int>(std::min<std::size_t>(into.size(), INT_MAX)));
  if (ret > 0) return static_cast<std::size_t>(ret);
  fail(ret, read_wait_, ec);
  return 0;
}

std::size_t TlsStream::write(std::span<const char> bytes, std::error_code& ec) {
  ec.clear();
  if (!handshake(ec)) return 0;
  if (bytes.empty()) return 0;
  ERR_clear_error();
  errno = 0;  // SSL_ERROR_SYSCALL reads it
  const int ret = SSL_write(ssl_, bytes.data(), static_cast<int>(std::min(bytes.size(), kRecordBytes)));
  if (ret > 0) return static_cast<std::size_t>(ret);
  fail(ret, write_wait_, ec);
  return 0;
}

void TlsStream::close_notify() {
  if (notified_ || !established()) return;
  notified_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

void TlsStream::fail(int ret, Wait& wait, std::error_code& ec) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      wait = Wait::kReadable;
      ec = asio::error::would_block;
      return;
    case SSL_ERROR_WANT_WRITE:
      wait = Wait::kWritable;
      ec = asio::error::would_block;
      return;
    case SSL_ERROR_ZERO_RETURN:  // close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a bare FIN
      ec = asio::error::eof;
      return;
    case SSL_ERROR_SYSCALL:
      ec = errno != 0 ? std::error_code(errno, std::system_category()) : std::error_code(asio::error::eof);
      ERR_clear_error();
      return;
    default:
      ec = last_tls_error();
      return;
  }
}

}  // namespace chat::common
