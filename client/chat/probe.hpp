#pragma once
// `chat --check`: is a server up and speaking the protocol? Used by the
// demo's healthcheck.
// Thread safety: a free function that runs its own io_context.

#include <chrono>
#include <cstdint>
#include <string>

namespace chat::term {

// Connects, waits for the Welcome, prints one line; 0 if it came in time.
int probe(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

}  // namespace chat::term
