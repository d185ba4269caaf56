#include "support/tcp_proxy.hpp"

#include <future>

namespace chat::testing {

TcpProxy::TcpProxy(std::uint16_t target)
    : target_(asio::ip::make_address("127.0.0.1"), target),
      acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
      guard_(asio::make_work_guard(io_)) {
  port_ = acceptor_.local_endpoint().port();
  accept();
  thread_ = std::thread([this] { io_.run(); });
}

TcpProxy::~TcpProxy() {
  asio::post(io_, [this] {
    std::error_code ignored;
    acceptor_.close(ignored);
    close_all();
  });
  guard_.reset();
  thread_.join();
}

int TcpProxy::cut() {
  std::promise<int> done;
  asio::post(io_, [&] { done.set_value(close_all()); });
  return done.get_future().get();
}

void TcpProxy::set_refusing(bool refusing) {
  std::promise<void> done;
  asio::post(io_, [&] {
    refusing_ = refusing;
    done.set_value();
  });
  done.get_future().get();
}

void TcpProxy::black_hole() {
  std::promise<void> done;
  asio::post(io_, [&] {
    holed_ = true;
    // Every handler checks holed_ first, so one that already completed
    // (with bytes read) forwards nothing either.
    for (auto& p : pairs_) {
      std::error_code ignored;
      p->down.cancel(ignored);
      p->up.cancel(ignored);
    }
    done.set_value();
  });
  done.get_future().get();
}

void TcpProxy::lose_answers() {
  std::promise<void> done;
  asio::post(io_, [&] {
    for (auto& p : pairs_) p->deaf = true;
    done.set_value();
  });
  done.get_future().get();
}

int TcpProxy::close_all() {
  int n = 0;
  for (auto& p : pairs_) {
    if (p->closed) continue;
    close(*p);
    ++n;
  }
  pairs_.clear();
  return n;
}

void TcpProxy::close(Pair& p) {
  p.closed = true;
  std::error_code ignored;
  p.down.close(ignored);
  p.up.close(ignored);
}

void TcpProxy::accept() {
  auto pair = std::make_shared<Pair>(io_);
  acceptor_.async_accept(pair->down, [this, pair](std::error_code ec) {
    if (ec) return;
    ++accepted_;
    if (refusing_) {
      close(*pair);
    } else {
      pairs_.push_back(pair);
      if (!holed_) {
        pair->up.async_connect(target_, [this, pair](std::error_code ec2) {
          if (holed_) return;
          if (ec2 || pair->closed) return close(*pair);
          pump(pair, pair->down, pair->up, pair->down_buf);
          pump(pair, pair->up, pair->down, pair->up_buf);
        });
      }
    }
    accept();
  });
}

void TcpProxy::pump(const std::shared_ptr<Pair>& pair, asio::ip::tcp::socket& from, asio::ip::tcp::socket& to,
                    std::array<char, 16384>& buf) {
  from.async_read_some(asio::buffer(buf), [this, pair, &from, &to, &buf](std::error_code ec, std::size_t n) {
    if (holed_) return;
    if (ec || pair->closed) return close(*pair);
    if (pair->deaf && &from == &pair->up) return pump(pair, from, to, buf);  // dropped
    asio::async_write(to, asio::buffer(buf.data(), n), [this, pair, &from, &to, &buf](std::error_code ec2, std::size_t) {
      if (holed_) return;
      if (ec2 || pair->closed) return close(*pair);
      pump(pair, from, to, buf);
    });
  });
}

}  // namespace chat::testing
