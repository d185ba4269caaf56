#include "server/net/address.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace chat::server {

namespace {

std::string strip_brackets(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

std::optional<std::uint16_t> parse_port(const std::string& text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const unsigned long value = std::stoul(text);
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<asio::ip::address> resolve_host(const std::string& host, std::string& error) {
  const std::string name = strip_brackets(host);
  std::error_code ec;
  const asio::ip::address numeric = asio::ip::make_address(name, ec);
  if (!ec) return numeric;
  if (name.empty()) {
    error = "empty address";
    return std::nullopt;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &found); rc != 0) {
    error = "cannot resolve '" + name + "': " + ::gai_strerror(rc);
    return std::nullopt;
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  std::optional<asio::ip::address> v6;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    asio::ip::tcp::endpoint endpoint;
    if (a->ai_addrlen > endpoint.capacity()) continue;
    std::memcpy(endpoint.data(), a->ai_addr, a->ai_addrlen);
    if (a->ai_family == AF_INET) return endpoint.address();
    if (a->ai_family == AF_INET6 && !v6) v6 = endpoint.address();
  }
  if (v6) return v6;
  error = "'" + name + "' has no IPv4 or IPv6 address";
  return std::nullopt;
}

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

std::string to_string(const asio::ip::tcp::endpoint& endpoint) {
  const asio::ip::address a = endpoint.address();
  const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

std::string address_key(const std::string& peer) {
  const auto colon = peer.rfind(':');
  std::string host = strip_brackets(colon == std::string::npos ? peer : peer.substr(0, colon));
  std::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return peer;
  if (address.is_v4()) return address.to_string();
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace chat::server
