#include "client/bench/options.hpp"

#include <CLI/CLI.hpp>

#include "client/bench/payload.hpp"
#include "common/tls_context.hpp"

namespace chat::bench {

ParsedOptions parse_options(int argc, const char* const* argv) {
  ParsedOptions parsed;
  Options& o = parsed.options;
  CLI::App app{
      "chat-bench: load generator for chatd. Rooms of subscribers and publishers; every message\n"
      "carries its send time and a per-publisher counter, so subscribers measure end-to-end\n"
      "latency and count lost, duplicated and reordered messages. Start the server with\n"
      "--rate 0, or its per-connection rate limit throttles the publishers.",
      "chat-bench"};
  app.get_formatter()->column_width(36);

  auto flag = [&app](const std::string& name, auto& value, const std::string& help) {
    return app.add_option(name, value, help)->capture_default_str();
  };
  flag("--host", o.host, "Server address");
  flag("--port", o.port, "Server port");
  app.add_option("--also-port", o.also_ports,
                 "A cluster's other node on --host (repeatable): connections go to --port and these in turn");
  bool tls = false;
  std::string tls_ca;
  app.add_flag("--tls", tls, "Connect with TLS (chatd's --tls-port), verifying --host's certificate");
  flag("--tls-ca", tls_ca, "PEM file of the CAs to trust with --tls (default: the system's)");
  flag("--rooms", o.rooms, "Rooms")->check(CLI::Range(1u, 100'000u));
  flag("--subs", o.subs, "Subscribers per room")->check(CLI::Range(0u, 1'000'000u));
  flag("--pubs", o.pubs, "Publishers per room")->check(CLI::Range(1u, 10'000u));
  flag("--size", o.size, "Message text bytes (at least the " + std::to_string(kHeaderBytes) +
                             "-byte header)")
      ->check(CLI::Range(kHeaderBytes, std::size_t{1} << 20));
  flag("--rate", o.rate, "Messages per second per publisher (0: as fast as --window allows)")
      ->check(CLI::Range(0.0, 1e9));
  flag("--window", o.window, "Own messages a publisher may have in flight (not yet echoed)")
      ->check(CLI::Range(1u, 1'000'000u));
  flag("--duration", o.duration_s, "Measured seconds")->check(CLI::Range(0.01, 86'400.0));
  flag("--warmup", o.warmup_s, "Seconds of publishing before measuring")
      ->check(CLI::Range(0.0, 86'400.0));
  flag("--drain", o.drain_s, "Most seconds to wait for the last deliveries after publishing stops")
      ->check(CLI::Range(0.0, 600.0));
  flag("--threads", o.threads, "Generator threads, one io_context each")
      ->check(CLI::Range(1u, 256u));
  flag("--server-pid", o.server_pid,
       "The server's pid, for its CPU time (/proc/PID/stat) and memory (/proc/PID/status)")
      ->check(CLI::Range(0, 1 << 30));
  app.add_option("--also-pid", o.also_pids,
                 "Another process whose CPU counts as the server's (repeatable: the other nodes, Redis)")
      ->check(CLI::Range(1, 1 << 30));
  flag("--idle", o.idle,
       "Idle mode: open this many logged-in connections, each joined to one of --rooms rooms, and "
       "report the server's RSS growth per connection (needs --server-pid; best on a freshly "
       "started server)")
      ->check(CLI::Range(0u, 10'000'000u));
  app.add_flag("--logins", o.logins,
               "Login mode: each of --threads threads logs in to an account of its own with a password, over "
               "and over (--rate: logins a second each; run chatd with --login-attempts 0 and --connect-rate 0 for "
               "the most it does); logins a second, their latency, server CPU per login");
  flag("--nick-prefix", o.nick_prefix, "Nicks are this prefix and the connection's index");
  app.add_flag("--json", o.json, "Print one JSON object on stdout at the end");
  app.add_flag("--quiet", o.quiet, "No progress line on stderr");

  try {
    app.parse(argc, argv);
    if (o.idle > 0 && o.server_pid == 0) {
      throw CLI::ValidationError("--idle", "needs --server-pid to read the server's memory");
    }
    if (!tls_ca.empty() && !tls) throw CLI::ValidationError("--tls-ca", "needs --tls");
    if (o.logins && (o.idle > 0 || tls)) throw CLI::ValidationError("--logins", "takes neither --idle nor --tls");
    if (tls) {
      try {
        o.tls = common::client_tls_context(tls_ca);
      } catch (const std::exception& e) {
        throw CLI::ValidationError("--tls-ca", e.what());
      }
    }
  } catch (const CLI::ParseError& e) {
    parsed.exit_code = app.exit(e);
  }
  return parsed;
}

}  // namespace chat::bench
