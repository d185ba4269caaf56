#pragma once
// Addresses as an operator writes them: a numeric IPv4 or IPv6 address (an
// IPv6 one may be in brackets, "[::1]") or a host name (ADDR:PORT pairs
// are common/host_port.hpp's). Also the inverse, an endpoint printed so
// that it can be pasted back: "[::1]:7777".
// Thread safety: free functions with no shared state (getaddrinfo is
// thread-safe).

#include <asio.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace chat::server {

// The address `host` names: itself if numeric, else the first IPv4 address
// the resolver gives for it, or its first IPv6 address if it has no IPv4
// one. On failure returns nothing and says why in `error`.
std::optional<asio::ip::address> resolve_host(const std::string& host, std::string& error);

// The address a peer is counted by, for per-address limits: an IPv4
// address itself, an IPv6 one by its /64 ("2001:db8:1:2::/64"), an IPv4
// address mapped into IPv6 as IPv4. `peer` is "ADDR:PORT" as
// Transport::peer() gives it; text that is no address is its own key.
std::string address_key(const std::string& peer);

// "1.2.3.4:5" or "[::1]:5".
std::string to_string(const asio::ip::tcp::endpoint& endpoint);

}  // namespace chat::server
