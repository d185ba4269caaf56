#include "server/net/tls_transport.hpp"

#include <sys/socket.h>

#include <array>
#include <asio/ssl/context.hpp>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "server/net/refusal.hpp"

namespace chat::server {

namespace {

using Wait = common::TlsStream::Wait;

// A TLS connection's first record is a handshake record.
constexpr unsigned char kHandshakeRecord = 0x16;

class TlsPortCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "chat.tls_port"; }
  std::string message(int) const override { return "plaintext sent to the TLS port"; }
};

}  // namespace

std::error_code plaintext_on_tls_port() {
  static const TlsPortCategory kCategory;
  return {1, kCategory};
}

TlsTransport::TlsTransport(asio::ip::tcp::socket socket, std::uint32_t user_timeout_ms,
                           const std::shared_ptr<asio::ssl::context>& context, common::SharedFrame plaintext_refusal,
                           ReactorMetrics& metrics)
    : tcp_(std::move(socket), user_timeout_ms),
      tls_(context->native_handle(), tcp_.socket().native_handle(), common::TlsStream::Role::kServer),
      first_bytes_(tcp_.socket().get_executor()),
      plaintext_refusal_(std::move(plaintext_refusal)),
      metrics_(metrics) {
  first_bytes_.expires_after(std::chrono::milliseconds(kFirstBytesMs));
  // On a destroyed transport the handler runs with operation_aborted and
  // touches nothing.
  first_bytes_.async_wait([this](const std::error_code& ec) {
    if (ec || state_ != State::kSniffing) return;
    std::error_code sniffed;
    if (!sniff(sniffed) && sniffed == asio::error::would_block) refuse_plaintext();
  });
}

bool TlsTransport::ready(Wait& wait, std::error_code& ec) {
  switch (state_) {
    case State::kRefused:
      ec = plaintext_on_tls_port();
      return false;
    case State::kSniffing:
      if (!sniff(ec)) {
        wait = Wait::kReadable;
        return false;
      }
      break;
    case State::kTls:
      break;
  }
  if (tls_.established()) return true;
  if (tls_.handshake(ec)) {
    ReactorMetrics::bump(metrics_.tls_handshakes);
    return true;
  }
  if (ec == asio::error::would_block) {
    wait = tls_.read_waits_for();
  } else {
    ReactorMetrics::bump(metrics_.tls_handshakes_failed);
  }
  return false;
}

bool TlsTransport::sniff(std::error_code& ec) {
  unsigned char first = 0;
  const ssize_t n = ::recv(tcp_.socket().native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 1) {
    if (first == kHandshakeRecord) {
      state_ = State::kTls;
      first_bytes_.cancel();
      return true;
    }
    refuse_plaintext();
    ec = plaintext_on_tls_port();
    return false;
  }
  if (n == 0) {
    ec = asio::error::eof;
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    ec = asio::error::would_block;
  } else {
    ec = std::error_code(errno, std::system_category());
  }
  return false;
}

// As the acceptor refuses a connection (refusal.hpp).
void TlsTransport::refuse_plaintext() {
  ReactorMetrics::bump(metrics_.tls_plaintext_refused);
  state_ = State::kRefused;
  send_refusal(tcp_.socket().native_handle(), std::string_view(plaintext_refusal_->data(), plaintext_refusal_->size()));
}

std::size_t TlsTransport::read_some(std::span<char> into, std::error_code& ec) {
  ec.clear();
  if (!ready(read_wait_, ec)) return 0;
  const std::size_t n = tls_.read(into, ec);
  read_wait_ = ec == asio::error::would_block ? tls_.read_waits_for() : Wait::kReadable;
  return n;
}

// One record at a time, at most kRecordBytes from the first unwritten byte
// (the retry rule in tls_stream.hpp). A segment that fills a record, or the
// last one, is encrypted where it lies; smaller ones are gathered first, so
// a run of small frames becomes one record and one send, not one each.
std::size_t TlsTransport::write_some(std::span<const asio::const_buffer> segments, std::error_code& ec) {
  ec.clear();
  if (!ready(write_wait_, ec)) return 0;
  static thread_local std::array<char, common::kRecordBytes> gathered;
  std::size_t total = 0;
  std::size_t i = 0;       // the segment holding the first unwritten byte
  std::size_t offset = 0;  // and where in it
  while (i < segments.size()) {
    const auto* first = static_cast<const char*>(segments[i].data()) + offset;
    const std::size_t left = segments[i].size() - offset;
    if (left == 0) {
      ++i;
      offset = 0;
      continue;
    }
    std::span<const char> record;
    if (left >= common::kRecordBytes || i + 1 == segments.size()) {
      record = {first, std::min(left, common::kRecordBytes)};
    } else {
      std::size_t used = 0;
      for (std::size_t j = i, skip = offset; j < segments.size() && used < gathered.size(); ++j, skip = 0) {
        const std::size_t take = std::min(segments[j].size() - skip, gathered.size() - used);
        std::memcpy(gathered.data() + used, static_cast<const char*>(segments[j].data()) + skip, take);
        used += take;
      }
      record = {gathered.data(), used};
    }
    std::error_code write_ec;
    std::size_t n = tls_.write(record, write_ec);
    if (write_ec) {
      if (write_ec == asio::error::would_block) write_wait_ = tls_.write_waits_for();
      if (total == 0) ec = write_ec;  // else the next call meets it
      break;
    }
    write_wait_ = Wait::kWritable;
    total += n;
    while (n > 0 && i < segments.size()) {
      const std::size_t step = std::min(n, segments[i].size() - offset);
      n -= step;
      offset += step;
      if (offset == segments[i].size()) {
        ++i;
        offset = 0;
      }
    }
  }
  return total;
}

void TlsTransport::wait(Wait for_what, WaitHandler handler) {
  if (for_what == Wait::kWritable) {
    tcp_.wait_writable(std::move(handler));
  } else {
    tcp_.wait_readable(std::move(handler));
  }
}

void TlsTransport::wait_readable(WaitHandler handler) {
  // Bytes OpenSSL has decrypted already will never make the socket readable.
  if (state_ == State::kTls && tls_.has_pending()) {
    asio::post(tcp_.socket().get_executor(), [handler = std::move(handler)] { handler(std::error_code()); });
    return;
  }
  wait(read_wait_, std::move(handler));
}

void TlsTransport::wait_writable(WaitHandler handler) { wait(write_wait_, std::move(handler)); }

void TlsTransport::shutdown_send() {
  if (state_ == State::kTls) tls_.close_notify();
  tcp_.shutdown_send();
}

void TlsTransport::close() {
  first_bytes_.cancel();
  tcp_.close();
}

}  // namespace chat::server
