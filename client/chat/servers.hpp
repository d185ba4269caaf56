#pragma once
// The servers `chat` may use: `--host a,b:7779,[::1]:7780`, each with its
// own port or --port's. A cluster's nodes (chatd --cluster) serve the same
// rooms, so when the one in use goes away the client tries the next, in
// order, and comes round again; a full round of failures backs off as one
// failure does with a single server (reconnect_delay in backoff.hpp).
// Thread safety: plain values and a pure function.

#include <cstdint>
#include <string>
#include <vector>

namespace chat::term {

struct Server {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const;  // host:port, an IPv6 address in brackets
};

// Throws std::invalid_argument naming the entry that is not "host",
// "host:port", "[v6]" or "[v6]:port" (an IPv6 address without brackets is
// taken whole as a host, with `default_port`).
std::vector<Server> parse_servers(const std::string& list, std::uint16_t default_port);

}  // namespace chat::term
