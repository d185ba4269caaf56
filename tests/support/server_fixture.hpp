#pragma once
// Starts an in-process chat server on 127.0.0.1 and an ephemeral port.
#include <memory>

#include "server/app/server.hpp"

namespace chat::testing {

inline server::Config test_config(unsigned reactors = 2) {
  server::Config c;
  c.bind = "127.0.0.1";
  c.port = 0;
  c.reactors = reactors;
  c.log_level = "warn";
  c.store = "memory";  // in-process servers: the durable store is tested through chatd itself
  // Every test client comes from 127.0.0.1, one address playing many
  // users: the per-address limits are off (admission_test.cpp tests them).
  c.connect_rate = 0;
  c.max_connections_per_address = 0;
  return c;
}

class RunningServer {
 public:
  explicit RunningServer(server::Config config) : server_(std::move(config)) { server_.start(); }
  ~RunningServer() { server_.stop(); }
  std::uint16_t port() const { return server_.port(); }
  server::Server& operator*() { return server_; }
  server::Server* operator->() { return &server_; }

 private:
  server::Server server_;
};

}  // namespace chat::testing
