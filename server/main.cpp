// chatd: parses flags, starts the server, loads its TLS certificate again on
// each SIGHUP, and stops on SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include "server/app/config.hpp"
#include "server/app/server.hpp"
#include "server/net/address.hpp"

namespace {

// Loads the TLS certificate again on each SIGHUP; returns at SIGINT or SIGTERM.
int wait_for_stop(chat::server::Server& server, const chat::server::Config& config, const sigset_t& handled) {
  int signal = 0;
  while (sigwait(&handled, &signal) == 0 && signal == SIGHUP) {
    std::string error;
    if (!config.tls()) {
      spdlog::info("SIGHUP: no TLS certificate to load again");
    } else if (server.reload_tls(error)) {
      spdlog::info("SIGHUP: TLS certificate {} loaded again", config.tls_cert);
    } else {
      spdlog::warn("SIGHUP: {}; the TLS certificate in use stays", error);
    }
  }
  return signal;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = chat::server::parse_config(argc, argv);
  if (parsed.exit_code) return *parsed.exit_code;
  const chat::server::Config& config = parsed.config;
  // protobuf logs an ERROR for every string field with invalid UTF-8 it
  // refuses; the client already gets MALFORMED_FRAME, and at error level a
  // hostile client could flood the log.
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string& message) {
    spdlog::debug("protobuf: {}", message);
  });

  // Block the signals chatd handles in every thread (the server's threads
  // inherit the mask); this thread then waits for them with sigwait.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // Past a file-size limit a write fails with EFBIG, which the store
  // reports and survives, instead of the signal killing the server.
  std::signal(SIGXFSZ, SIG_IGN);

  try {
    chat::server::Server server(config);
    server.start();
    // Tests and scripts read these lines to learn the ports.
    if (config.plaintext()) {
      std::printf("chatd listening on %s with %u reactors\n", chat::server::to_string(server.endpoint()).c_str(),
                  config.effective_reactors());
    }
    if (auto tls = server.tls_endpoint()) {
      std::printf("chatd TLS on %s with %u reactors\n", chat::server::to_string(*tls).c_str(),
                  config.effective_reactors());
    }
    if (auto metrics = server.metrics_endpoint()) {
      std::printf("chatd metrics on http://%s/metrics\n", chat::server::to_string(*metrics).c_str());
    }
    std::fflush(stdout);
    spdlog::info("started: {} reactors, epoch {}", config.effective_reactors(), server.epoch());
    spdlog::info("{}", server.admission_summary());
    const int signal = wait_for_stop(server, config, handled);
    spdlog::info("{} received; shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
    server.stop();
    spdlog::info("stopped");
  } catch (const std::exception& e) {
    spdlog::error("chatd: {}", e.what());
    return 1;
  }
  return 0;
}
