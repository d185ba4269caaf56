#pragma once
// chat-bench settings from the command line.
// Thread safety: immutable after parsing; every thread reads it.

#include <asio/ssl/context.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chat::bench {

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7777;
  // A cluster's other nodes (chatd --cluster): connection i goes to the
  // (i mod n)-th of port, then these, in turn.
  std::vector<std::uint16_t> also_ports;
  // --tls (and --tls-ca): every connection speaks TLS, verifying --host.
  std::shared_ptr<asio::ssl::context> tls;

  unsigned rooms = 1;
  unsigned subs = 10;  // subscribers per room
  unsigned pubs = 1;   // publishers per room
  std::size_t size = 128;  // message text bytes, header included
  double rate = 0;         // messages per second per publisher; 0: as fast as the window allows
  unsigned window = 64;    // own echoes a publisher may wait for at once
  double duration_s = 5;
  double warmup_s = 1;
  double drain_s = 2;  // longest wait after publishing stops for the last deliveries
  unsigned threads = 1;

  int server_pid = 0;  // 0: no server CPU or memory figures
  std::vector<int> also_pids;  // their CPU counts as the server's too (other nodes, Redis)
  unsigned idle = 0;   // > 0: idle mode with this many connections
  bool logins = false;  // login mode (issue 13): logins with a password
  std::string nick_prefix = "b";
  bool json = false;
  bool quiet = false;

  std::size_t connections() const {
    if (logins) return threads;
    return idle > 0 ? idle : std::size_t{rooms} * (std::size_t{subs} + pubs);
  }
};

// Parses flags; exit_code is set when the program should stop (--help, a bad flag).
struct ParsedOptions {
  Options options;
  std::optional<int> exit_code;
};
ParsedOptions parse_options(int argc, const char* const* argv);

}  // namespace chat::bench
