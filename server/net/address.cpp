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
