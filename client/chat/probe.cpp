#include "client/chat/probe.hpp"

#include <asio.hpp>
#include <iostream>

#include "client/lib/client.hpp"

namespace chat::term {

int probe(const std::string& host, std::uint16_t port, const std::shared_ptr<asio::ssl::context>& tls,
          std::chrono::milliseconds timeout) {
  asio::io_context io;
  int status = 1;
  std::string refusal;  // the server's Error, if it sent one instead of a Welcome
  client::Events events;
  events.on_error = [&refusal](const v1::Error& e) { refusal = e.message(); };
  auto client = client::Client::create(io, std::move(events));
  if (tls) client->use_tls(tls);
  asio::steady_timer timer(io, timeout);
  client->connect(host, port, [&](std::error_code ec) {
    if (ec) {
      std::cout << "down: " << (refusal.empty() ? ec.message() : refusal) << std::endl;
    } else {
      std::cout << "up: " << client->welcome().server() << " epoch=" << client->welcome().epoch() << std::endl;
      status = 0;
    }
    timer.cancel();
    client->close();
  });
  timer.async_wait([&](std::error_code ec) {
    if (ec) return;
    std::cout << "down: no welcome within " << timeout.count() << " ms" << std::endl;
    client->close();
  });
  io.run();
  return status;
}

}  // namespace chat::term
