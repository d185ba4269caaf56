#pragma once
// A Transport speaking TLS over a TcpTransport (the same socket options), for
// connections to the TLS port (--tls-port). The session above sees plaintext
// frames exactly as on the plaintext port.
//
// The handshake runs inside the first reads and writes (the Welcome's write
// waits for the client's hello, so no record goes out before the client's
// first bytes). Those first bytes are looked at before OpenSSL sees them: a
// client that speaks chat's plaintext protocol to this port (its first byte
// is not a TLS handshake record, 0x16) is sent `plaintext_refusal`, a
// plaintext Error frame it can read, and closed; OpenSSL would only have
// answered with a TLS alert it cannot. A TLS client speaks first, a chat
// client waits for the Welcome: one silent for kFirstBytesMs after
// connecting is taken for a plaintext client and sent the refusal too.
//
// A failed handshake fails the read or write with OpenSSL's reason; the
// session closes the connection as for any broken link, and the login
// deadline bounds a handshake that never ends.
// Thread safety: reactor-confined, like the session that owns it.

#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <optional>

#include "common/framing.hpp"
#include "common/tls_stream.hpp"
#include "server/net/tcp_transport.hpp"
#include "server/ops/metrics.hpp"

namespace asio::ssl {
class context;
}

namespace chat::server {

class TlsTransport final : public Transport {
 public:
  // A TLS client's hello comes with its first packet after the TCP
  // handshake; 2 s leaves room for a lost packet's retransmissions.
  static constexpr std::uint32_t kFirstBytesMs = 2000;

  // `metrics`: the reactor's, where handshakes are counted.
  TlsTransport(asio::ip::tcp::socket socket, std::uint32_t user_timeout_ms,
               const std::shared_ptr<asio::ssl::context>& context, common::SharedFrame plaintext_refusal,
               ReactorMetrics& metrics);

  std::size_t read_some(std::span<char> into, std::error_code& ec) override;
  std::size_t write_some(std::span<const asio::const_buffer> segments, std::error_code& ec) override;
  void wait_readable(WaitHandler handler) override;
  void wait_writable(WaitHandler handler) override;
  void shutdown_send() override;
  void close() override;
  std::string peer() const override { return tcp_.peer(); }

 private:
  enum class State { kSniffing, kTls, kRefused };
  // True once the connection speaks TLS with its handshake done; else `ec`
  // says why not (would_block, with `wait` set, or an error).
  bool ready(common::TlsStream::Wait& wait, std::error_code& ec);
  bool sniff(std::error_code& ec);
  void refuse_plaintext();
  void wait(common::TlsStream::Wait for_what, WaitHandler handler);

  TcpTransport tcp_;
  common::TlsStream tls_;
  asio::steady_timer first_bytes_;
  common::SharedFrame plaintext_refusal_;
  ReactorMetrics& metrics_;
  State state_ = State::kSniffing;
  common::TlsStream::Wait read_wait_ = common::TlsStream::Wait::kReadable;
  common::TlsStream::Wait write_wait_ = common::TlsStream::Wait::kWritable;
};

// The error a read or write on a refused plaintext connection returns.
std::error_code plaintext_on_tls_port();

}  // namespace chat::server
