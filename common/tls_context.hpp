#pragma once
// The TLS settings chatd and its clients use, as asio::ssl::context (an
// SSL_CTX underneath): TLS 1.2 or newer, no compression, no renegotiation,
// and a bare FIN read as the end of the stream (every frame carries its own
// length, so a cut is seen as a short frame anyway).
// Thread safety: a context is built on one thread, then only read; the
// streams of many threads may share it (OpenSSL's SSL_new is thread-safe).

#include <asio/ssl/context.hpp>
#include <memory>
#include <string>

namespace chat::common {

// A server's context from a PEM certificate chain and its PEM private key.
// Throws std::runtime_error naming the file and OpenSSL's reason if either
// cannot be read or they do not match.
std::shared_ptr<asio::ssl::context> server_tls_context(const std::string& cert_file, const std::string& key_file);

// A client's context that verifies the server's certificate: against
// `ca_file` (PEM) if given, else the system's trust store.
std::shared_ptr<asio::ssl::context> client_tls_context(const std::string& ca_file = {});

}  // namespace chat::common
