#include "support/test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "support/frames.hpp"
#include "support/wait.hpp"

namespace chat::testing {

TestClient::TestClient(IoThread& io, std::uint16_t port, const std::string& nick,
                       std::shared_ptr<asio::ssl::context> tls)
    : io_(io) {
  std::promise<std::error_code> connected;
  io_.call([&] {
    client::Events ev;
    ev.on_message = [this](const v1::RoomMessage& m) {
      std::lock_guard lock(mu_);
      messages_.push_back(m);
      ++events_;
      cv_.notify_all();
    };
    ev.on_presence = [this](const v1::Presence& p) {
      std::lock_guard lock(mu_);
      presences_.push_back(p);
      ++events_;
      cv_.notify_all();
    };
    ev.on_topic = [this](const v1::TopicChanged& t) {
      std::lock_guard lock(mu_);
      topics_.push_back(t);
      ++events_;
      cv_.notify_all();
    };
    ev.on_direct = [this](const v1::DirectMessage& d) {
      std::lock_guard lock(mu_);
      directs_.push_back(d);
      ++events_;
      cv_.notify_all();
    };
    ev.on_error = [this](const v1::Error& e) {
      std::lock_guard lock(mu_);
      errors_.push_back(e);
      ++events_;
      cv_.notify_all();
    };
    ev.on_shutdown = [this](const v1::Shutdown&) {
      std::lock_guard lock(mu_);
      shutdown_ = true;
      ++events_;
      cv_.notify_all();
    };
    ev.on_disconnect = [this](std::error_code) {
      std::lock_guard lock(mu_);
      disconnected_ = true;
      ++events_;
      cv_.notify_all();
    };
    client_ = client::Client::create(io_.io(), std::move(ev));
    if (tls) client_->use_tls(tls);
    client_->connect("127.0.0.1", port, [&connected](std::error_code ec) { connected.set_value(ec); });
    return 0;
  });
  // On failure the Client is closed before throwing: its callbacks point at
  // this object, which a throwing constructor frees.
  auto give_up = [this](const std::string& why) {
    close();
    throw std::runtime_error(why);
  };
  auto future = connected.get_future();
  if (future.wait_for(10s) != std::future_status::ready) give_up("connect timed out");
  if (auto ec = future.get()) give_up("connect failed: " + ec.message());
  if (!nick.empty()) {
    auto reply = hello(nick);
    if (!reply.has_hello()) give_up("login failed: " + reply.DebugString());
  }
}

TestClient::~TestClient() { close(); }

void TestClient::close() {
  io_.call([this] {
    client_->close();
    return 0;
  });
}

v1::ServerFrame TestClient::call(Op op, std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<v1::ServerFrame>>();
  auto future = done->get_future();
  asio::post(io_.io(), [this, op = std::move(op), done] {
    op(*client_, [done](const v1::ServerFrame& f) { done->set_value(f); });
  });
  if (future.wait_for(timeout) != std::future_status::ready) {
    v1::ServerFrame timed_out;
    timed_out.mutable_error()->set_message("test timed out waiting for a reply");
    return timed_out;
  }
  return future.get();
}

v1::ServerFrame TestClient::hello(const std::string& nick) {
  return call([nick](client::Client& c, client::ReplyHandler h) { c.hello(nick, std::move(h)); });
}
v1::ServerFrame TestClient::hello_when_free(const std::string& nick, std::chrono::milliseconds timeout) {
  v1::ServerFrame reply;
  wait_until(
      [&] {
        reply = hello(nick);
        return code_of(reply) != v1::Error::CODE_NICK_TAKEN;
      },
      timeout, 20ms);
  return reply;
}
v1::ServerFrame TestClient::rename(const std::string& nick) {
  return call([nick](client::Client& c, client::ReplyHandler h) { c.rename(nick, std::move(h)); });
}
v1::ServerFrame TestClient::join(const std::string& room) {
  return call([room](client::Client& c, client::ReplyHandler h) { c.join(room, std::move(h)); });
}
v1::ServerFrame TestClient::leave(const std::string& room) {
  return call([room](client::Client& c, client::ReplyHandler h) { c.leave(room, std::move(h)); });
}
v1::ServerFrame TestClient::say(const std::string& room, const std::string& text, std::uint64_t id) {
  return call([=](client::Client& c, client::ReplyHandler h) { c.say(room, text, id, std::move(h)); });
}
v1::ServerFrame TestClient::direct(const std::string& nick, const std::string& text) {
  return call([=](client::Client& c, client::ReplyHandler h) { c.direct(nick, text, std::move(h)); });
}
v1::ServerFrame TestClient::ping() {
  return call([](client::Client& c, client::ReplyHandler h) { c.ping(std::move(h)); });
}

void TestClient::say_async(const std::string& room, const std::string& text, std::uint64_t id) {
  asio::post(io_.io(), [=, this] {
    client_->say(room, text, id, [this](const v1::ServerFrame& f) {
      std::lock_guard lock(mu_);
      replies_.push_back(f);
      ++events_;
      cv_.notify_all();
    });
  });
}

std::vector<v1::RoomMessage> TestClient::messages(const std::string& room) const {
  std::lock_guard lock(mu_);
  if (room.empty()) return messages_;
  std::vector<v1::RoomMessage> out;
  for (const auto& m : messages_) {
    if (m.room() == room) out.push_back(m);
  }
  return out;
}
std::vector<v1::Presence> TestClient::presences() const {
  std::lock_guard lock(mu_);
  return presences_;
}
std::vector<v1::TopicChanged> TestClient::topics() const {
  std::lock_guard lock(mu_);
  return topics_;
}
std::vector<v1::DirectMessage> TestClient::directs() const {
  std::lock_guard lock(mu_);
  return directs_;
}
std::vector<v1::Error> TestClient::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}
std::vector<v1::ServerFrame> TestClient::replies() const {
  std::lock_guard lock(mu_);
  return replies_;
}
bool TestClient::got_shutdown() const {
  std::lock_guard lock(mu_);
  return shutdown_;
}
bool TestClient::disconnected() const {
  std::lock_guard lock(mu_);
  return disconnected_;
}
v1::Welcome TestClient::welcome() const {
  return io_.call([this] { return client_->welcome(); });
}

bool TestClient::wait(const std::function<bool()>& pred, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::uint64_t seen;
    {
      std::lock_guard lock(mu_);
      seen = events_;
    }
    if (pred()) return true;  // outside the lock: pred may call the getters
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [&] { return events_ != seen; })) {
      lock.unlock();
      return pred();
    }
  }
}

bool TestClient::wait_messages(const std::string& room, std::size_t n, std::chrono::milliseconds timeout) const {
  return wait([&] { return messages(room).size() >= n; }, timeout);
}

// ------------------------------------------------------------ RawConnection

RawConnection::RawConnection(std::uint16_t port, int rcvbuf, const char* source) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (source != nullptr) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source, &local.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd_);
      throw std::runtime_error(std::string("cannot connect from ") + source);
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect failed");
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawConnection::~RawConnection() { ::close(fd_); }

void RawConnection::send_bytes(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may already have closed us
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void RawConnection::send_frame(const v1::ClientFrame& frame) { send_bytes(common::encode_frame(frame)); }

std::optional<v1::ServerFrame> RawConnection::read_frame(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ready_.empty() && !eof_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    receive(0);
  }
  if (ready_.empty()) return std::nullopt;
  v1::ServerFrame frame;
  frame.ParseFromString(ready_.front());
  ready_.erase(ready_.begin());
  return frame;
}

bool RawConnection::receive(int flags) {
  char buf[65536];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, flags);
  if (n < 0 && (flags & MSG_DONTWAIT) != 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    return false;
  }
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  decoder_.feed(std::string_view(buf, static_cast<std::size_t>(n)), [this](std::string_view payload) {
    ready_.emplace_back(payload);
    return true;
  });
  return true;
}

std::vector<v1::ServerFrame> RawConnection::read_available() {
  while (!eof_ && receive(MSG_DONTWAIT)) {
  }
  std::vector<v1::ServerFrame> out(ready_.size());
  for (std::size_t i = 0; i < ready_.size(); ++i) out[i].ParseFromString(ready_[i]);
  ready_.clear();
  return out;
}

std::optional<v1::ServerFrame> RawConnection::read_until(const std::function<bool(const v1::ServerFrame&)>& pred,
                                                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto frame = read_frame(left);
    if (!frame) return std::nullopt;
    if (pred(*frame)) return frame;
  }
}

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    read_frame(left);
  }
  return true;
}

namespace {

v1::ServerFrame answer_to(RawConnection& conn, std::uint64_t request_id, std::chrono::milliseconds timeout) {
  auto reply = conn.read_until([&](const v1::ServerFrame& f) { return f.request_id() == request_id; }, timeout);
  if (reply) return *reply;
  v1::ServerFrame none;
  none.mutable_error()->set_message(conn.eof() ? "the connection closed before the answer"
                                               : "test timed out waiting for a reply");
  return none;
}

}  // namespace

v1::ServerFrame login(TestClient& client, const std::string& nick, const std::string& password, bool regain) {
  return client.call([=](client::Client& cl, client::ReplyHandler h) { cl.login(nick, password, regain, std::move(h)); });
}

v1::ServerFrame register_account(TestClient& client, const std::string& password) {
  return client.call([=](client::Client& cl, client::ReplyHandler h) { cl.register_account(password, std::move(h)); });
}

v1::ServerFrame login(RawConnection& conn, const std::string& nick, std::chrono::milliseconds timeout) {
  conn.send_frame(hello_frame(nick, 1));
  return answer_to(conn, 1, timeout);
}

v1::ServerFrame login_and_join(RawConnection& conn, const std::string& nick, const std::string& room,
                               std::chrono::milliseconds timeout) {
  conn.send_bytes(encode_frames({hello_frame(nick, 1), join_frame(room, 2)}));
  return answer_to(conn, 2, timeout);
}

}  // namespace chat::testing
