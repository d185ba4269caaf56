// chatd: parses flags, starts the server, waits for SIGINT or SIGTERM, stops.
#include <csignal>
#include <cstdio>
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include "server/app/config.hpp"
#include "server/app/server.hpp"
#include "server/net/address.hpp"

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

  // Block the stop signals in every thread (the server's threads inherit the
  // mask); this thread then waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // Past a file-size limit a write fails with EFBIG, which the store
  // reports and survives, instead of the signal killing the server.
  std::signal(SIGXFSZ, SIG_IGN);

  try {
    chat::server::Server server(config);
    server.start();
    const auto endpoint = server.endpoint();
    // Tests and scripts read this line to learn the port.
    std::printf("chatd listening on %s with %u reactors\n", chat::server::to_string(endpoint).c_str(),
                config.effective_reactors());
    if (auto metrics = server.metrics_endpoint()) {
      std::printf("chatd metrics on http://%s/metrics\n", chat::server::to_string(*metrics).c_str());
    }
    std::fflush(stdout);
    spdlog::info("started: {} reactors, epoch {}", config.effective_reactors(), server.epoch());
    spdlog::info("{}", server.admission_summary());
    int signal = 0;
    sigwait(&stop_signals, &signal);
    spdlog::info("{} received; shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
    server.stop();
    spdlog::info("stopped");
  } catch (const std::exception& e) {
    spdlog::error("chatd: {}", e.what());
    return 1;
  }
  return 0;
}
