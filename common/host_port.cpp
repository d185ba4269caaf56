#include "common/host_port.hpp"

namespace chat::common {

namespace {

std::optional<std::uint16_t> parse_port(const std::string& text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const unsigned long value = std::stoul(text);
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<HostPort> split_host_port(const std::string& text, std::string& error) {
  HostPort out;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "expected [IPV6]:PORT, got '" + text + "'";
      return std::nullopt;
    }
    out.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      error = "expected ADDR:PORT, got '" + text + "'";
      return std::nullopt;
    }
    out.host = text.substr(0, colon);
    if (out.host.find(':') != std::string::npos) {
      error = "an IPv6 address needs brackets: [" + out.host + "]:PORT";
      return std::nullopt;
    }
    port = text.substr(colon + 1);
  }
  const auto number = parse_port(port);
  if (!number) {
    error = "bad port '" + port + "' in '" + text + "' (0-65535)";
    return std::nullopt;
  }
  out.port = *number;
  return out;
}

}  // namespace chat::common
