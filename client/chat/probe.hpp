#pragma once
// `chat --check`: is a server up and speaking the protocol? Used by the
// demo's healthcheck.
// Thread safety: a free function that runs its own io_context.

#include <asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace chat::term {

// Connects (over TLS with `tls`, else plaintext), waits for the Welcome,
// prints one line; 0 if it came in time.
int probe(const std::string& host, std::uint16_t port, const std::shared_ptr<asio::ssl::context>& tls,
          std::chrono::milliseconds timeout);

}  // namespace chat::term
