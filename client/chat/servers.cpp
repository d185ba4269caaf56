#include "client/chat/servers.hpp"

#include <charconv>
#include <stdexcept>

namespace chat::term {

std::string Server::str() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

namespace {

std::uint16_t port_of(const std::string& text, const std::string& entry) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    throw std::invalid_argument("bad port in server '" + entry + "'");
  }
  return static_cast<std::uint16_t>(value);
}

Server parse_one(const std::string& entry, std::uint16_t default_port) {
  if (entry.empty()) throw std::invalid_argument("an empty server in the list");
  if (entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string::npos || close == 1) throw std::invalid_argument("bad server '" + entry + "'");
    Server s{entry.substr(1, close - 1), default_port};
    if (close + 1 == entry.size()) return s;
    if (entry[close + 1] != ':') throw std::invalid_argument("bad server '" + entry + "'");
    s.port = port_of(entry.substr(close + 2), entry);
    return s;
  }
  const auto colon = entry.find(':');
  if (colon == std::string::npos || entry.find(':', colon + 1) != std::string::npos) {
    return Server{entry, default_port};  // a name, or a bare IPv6 address
  }
  if (colon == 0) throw std::invalid_argument("bad server '" + entry + "'");
  return Server{entry.substr(0, colon), port_of(entry.substr(colon + 1), entry)};
}

}  // namespace

std::vector<Server> parse_servers(const std::string& list, std::uint16_t default_port) {
  std::vector<Server> out;
  std::size_t start = 0;
  while (true) {
    const auto comma = list.find(',', start);
    out.push_back(parse_one(list.substr(start, comma - start), default_port));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace chat::term
