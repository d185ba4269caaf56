// chat-bench: parses flags, runs the benchmark, prints the report.
#include <csignal>
#include <cstdio>
#include <exception>

#include "client/bench/bench.hpp"
#include "client/bench/options.hpp"
#include "client/bench/proc.hpp"
#include "client/bench/report.hpp"

int main(int argc, char** argv) {
  using namespace chat::bench;
  const ParsedOptions parsed = parse_options(argc, argv);
  if (parsed.exit_code) return *parsed.exit_code;
  const Options& options = parsed.options;
  std::signal(SIGPIPE, SIG_IGN);

  const std::uint64_t fd_limit = raise_fd_limit();
  if (options.connections() + 64 > fd_limit) {
    std::fprintf(stderr, "chat-bench: error: %zu connections need more file descriptors than the limit (%llu)\n",
                 options.connections(), static_cast<unsigned long long>(fd_limit));
    return 1;
  }

  Result result;
  try {
    const int code = options.logins     ? run_logins(options, result)
                     : options.idle > 0 ? run_idle(options, result)
                                        : run_pubsub(options, result);
    if (code != 0) return code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chat-bench: error: %s\n", e.what());
    return 1;
  }
  if (options.json) {
    if (!options.quiet) print_text(stderr, options, result);
    std::printf("%s\n", to_json(options, result).c_str());
  } else {
    print_text(stdout, options, result);
  }
  return 0;
}
