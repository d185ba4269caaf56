#include "client/chat/servers.hpp"

#include <stdexcept>

#include "common/host_port.hpp"

namespace chat::term {

std::string Server::str() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

namespace {

Server parse_one(const std::string& entry, std::uint16_t default_port) {
  if (entry.empty()) throw std::invalid_argument("an empty server in the list");
  const bool bracketed = entry.front() == '[';
  const auto colon = entry.find(':');
  Server s{entry, default_port};
  if (bracketed && entry.back() == ']') {
    s.host = entry.substr(1, entry.size() - 2);  // "[v6]", on the default port
  } else if (bracketed || (colon != std::string::npos && colon == entry.rfind(':'))) {
    std::string error;
    const auto where = common::split_host_port(entry, error);
    if (!where) throw std::invalid_argument("bad server '" + entry + "': " + error);
    if (where->port == 0) throw std::invalid_argument("bad port in server '" + entry + "'");
    s = Server{where->host, where->port};
  }  // else a name, or a bare IPv6 address, on the default port
  if (s.host.empty()) throw std::invalid_argument("bad server '" + entry + "'");
  return s;
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
