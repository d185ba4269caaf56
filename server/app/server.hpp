#pragma once
// The server: builds the reactors and the acceptor, starts them in order and
// stops them in reverse.
// Thread safety: start(), stop() and the accessors from one controlling
// thread (main, or a test); metrics() from any thread.

#include <asio.hpp>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/net/acceptor.hpp"
#include "server/app/config.hpp"
#include "server/auth/account_service.hpp"
#include "server/cluster/cluster_link.hpp"
#include "server/ops/metrics.hpp"
#include "server/ops/metrics_server.hpp"
#include "server/runtime/reactor.hpp"
#include "server/store/history_store.hpp"

namespace chat::server {

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds (throws std::system_error if it cannot), then starts the reactor
  // threads and the acceptor.
  void start();
  // Stops accepting, tells every client, flushes, closes, joins the threads.
  void stop();

  // The plaintext port's endpoint (with --tls-only, the TLS port's), and
  // the TLS port's if there is one.
  asio::ip::tcp::endpoint endpoint() const { return acceptor_->endpoint(); }
  std::optional<asio::ip::tcp::endpoint> tls_endpoint() const { return acceptor_->tls_endpoint(); }
  std::uint16_t port() const { return endpoint().port(); }
  // Loads --tls-cert and --tls-key again and hands the new context to every
  // reactor, for connections from now on; false (and why, in `error`) if
  // there is no TLS or the files cannot be used, and the old one stays.
  bool reload_tls(std::string& error);
  std::uint64_t epoch() const { return context_.epoch; }
  const Config& config() const { return context_.config; }
  MetricsSnapshot metrics() const;
  // The open-file limit and the connection caps derived from it, for the log.
  const std::string& admission_summary() const { return admission_summary_; }
  // Where /metrics is served, if --metrics was given.
  std::optional<asio::ip::tcp::endpoint> metrics_endpoint() const {
    return metrics_ ? std::optional(metrics_->endpoint()) : std::nullopt;
  }

 private:
  std::unique_ptr<Store> store_;  // before the reactors: they hold its shards
  std::unique_ptr<AccountService> accounts_;  // before the reactors: they hold producers into it
  std::unique_ptr<ClusterLink> cluster_;      // cluster mode; before the reactors, as the store
  ServerContext context_;
  Acceptor::Notes notes_;  // before the reactors: they hold producers into it
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::vector<std::unique_ptr<Reactor::Inbox::Producer>> control_;  // main -> each reactor
  std::unique_ptr<Acceptor> acceptor_;
  std::unique_ptr<MetricsServer> metrics_;
  std::vector<std::thread> threads_;
  std::string admission_summary_;
  std::atomic<std::uint64_t> tls_reloads_{0};  // written by the controlling thread
};

}  // namespace chat::server
