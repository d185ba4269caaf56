#include "common/tls_context.hpp"

#include <openssl/ssl.h>

#include <stdexcept>
#include <system_error>

namespace chat::common {

namespace {

std::shared_ptr<asio::ssl::context> base_context(asio::ssl::context::method method) {
  auto context = std::make_shared<asio::ssl::context>(method);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  return context;
}

void or_throw(const std::error_code& ec, const std::string& what) {
  if (ec) throw std::runtime_error(what + ": " + ec.message());
}

}  // namespace

std::shared_ptr<asio::ssl::context> server_tls_context(const std::string& cert_file, const std::string& key_file) {
  auto context = base_context(asio::ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  // No session cache and no tickets: a chat client reconnects seldom, and
  // each would cost memory (the cache) or bytes (tickets) on every connection.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);
  std::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  or_throw(ec, "cannot use the TLS certificate " + cert_file);
  context->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  or_throw(ec, "cannot use the TLS key " + key_file);
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw std::runtime_error("the TLS key " + key_file + " does not match the certificate " + cert_file);
  }
  return context;
}

std::shared_ptr<asio::ssl::context> client_tls_context(const std::string& ca_file) {
  auto context = base_context(asio::ssl::context::tls_client);
  std::error_code ec;
  if (ca_file.empty()) {
    context->set_default_verify_paths(ec);
    or_throw(ec, "cannot read the system's trusted certificates");
  } else {
    context->load_verify_file(ca_file, ec);
    or_throw(ec, "cannot read the CA file " + ca_file);
  }
  context->set_verify_mode(asio::ssl::verify_peer, ec);
  return context;
}

}  // namespace chat::common
