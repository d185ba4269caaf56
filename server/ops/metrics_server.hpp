#pragma once
// A /metrics endpoint: answers any HTTP GET with the server's counters in the
// Prometheus text format, then closes. Handwritten (about 60 lines) rather
// than pulling in an HTTP library for one read-only page.
// Thread safety: runs on its own thread; reads counters through a callback
// that must be safe from any thread (Server::metrics is).

#include <asio.hpp>
#include <functional>
#include <string>
#include <thread>

#include "server/ops/metrics.hpp"

namespace chat::server {

class MetricsServer {
 public:
  using Source = std::function<MetricsSnapshot()>;

  // Binds at once (throws on failure), so the port is known before start().
  MetricsServer(const std::string& bind, std::uint16_t port, Source source);
  ~MetricsServer();

  asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  void start();
  void stop();

  // The page itself; public so tests can check the format.
  static std::string render(const MetricsSnapshot& m);

 private:
  void accept();

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer backoff_;
  asio::ip::tcp::endpoint endpoint_;
  Source source_;
  std::thread thread_;
};

}  // namespace chat::server
