#pragma once
// "HOST:PORT" as an operator or a user writes it: "127.0.0.1:9100",
// "[::1]:9100", "localhost:9100", ":9100". One parser for chatd's
// addresses (--metrics), its Redis (--cluster) and chat's servers (--host).
// Thread safety: a pure function.

#include <cstdint>
#include <optional>
#include <string>

namespace chat::common {

struct HostPort {
  std::string host;  // brackets removed; empty when the text was ":PORT"
  std::uint16_t port = 0;
};
// Splits "HOST:PORT", "[V6]:PORT" or ":PORT"; nothing (and `error`) if the
// text is none of them, the port is not 0-65535, or an IPv6 address is
// missing its brackets.
std::optional<HostPort> split_host_port(const std::string& text, std::string& error);

}  // namespace chat::common
