#pragma once
// The operator's HTTP endpoint: GET (or HEAD) /metrics answers the server's
// counters, the process_* metrics and the delivery-latency histogram in the
// Prometheus text format; /healthz answers 200 "ok" while the server runs;
// any other path is 404 and any other method 405. One request per
// connection, then close. Handwritten rather than pulling in an HTTP
// library for two read-only pages.
// Thread safety: runs on its own thread; reads counters through a callback
// that must be safe from any thread (Server::metrics is).

#include <asio.hpp>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "server/ops/metrics.hpp"
#include "server/ops/process_metrics.hpp"

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
  static std::string render(const MetricsSnapshot& m, const std::optional<ProcessMetrics>& process);

  // The whole HTTP response to one request head ("GET /metrics HTTP/1.1\r\n...").
  std::string respond(std::string_view request_head) const;

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
