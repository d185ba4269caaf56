// chat-bench-floor: the least a server can do and still pass chat-bench.
//
// One thread, one level-triggered epoll set, no actors, no mailboxes, no
// limits, no history: it answers hello and join, stamps each say with the
// room's next sequence number, encodes it once and queues it for every
// member; after each epoll batch every connection with something queued gets
// one send(). That is the syscall pattern chatd's sockets see too (one write
// per connection per turn), with nothing else around it. Running chat-bench
// against it measures what the kernel alone charges for a scenario's traffic
// on this machine: the floor under chatd's server CPU and latency. It is a
// measuring instrument for BENCHMARKS.md, never a chat server: it trusts its
// clients and keeps nothing.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/v1/chat.pb.h"
#include "common/framing.hpp"

namespace {

using namespace chat;

struct Conn {
  int fd = -1;
  std::string nick;
  common::FrameDecoder decoder{64u << 10};
  std::string out;  // queued this turn, or refused by the socket so far
  bool queued = false;  // on the flush list
  bool waiting = false;  // the socket is full: EPOLLOUT is armed
  bool dead = false;
};

struct Room {
  std::uint64_t seq = 0;
  std::vector<Conn*> members;
};

volatile std::sig_atomic_t g_stop = 0;

// Thread safety: one thread does everything; nothing here is shared.
class FloorServer {
 public:
  explicit FloorServer(std::uint16_t port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 4096) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port));
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    watch(EPOLL_CTL_ADD, listen_fd_, EPOLLIN, nullptr);
  }

  std::uint16_t port() const { return port_; }

  void run() {
    std::vector<epoll_event> events(256);
    while (!g_stop) {
      const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 200);
      for (int i = 0; i < n; ++i) {
        auto* conn = static_cast<Conn*>(events[i].data.ptr);
        if (conn == nullptr) {
          accept_all();
          continue;
        }
        if (conn->dead) continue;
        if (events[i].events & EPOLLOUT) {
          conn->waiting = false;
          watch(EPOLL_CTL_MOD, conn->fd, EPOLLIN, conn);
          queue_flush(*conn);
        }
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read(*conn);
      }
      flush_all();
      reap();
    }
  }

 private:
  // Level-triggered; `conn` null stands for the listening socket.
  void watch(int op, int fd, std::uint32_t events, Conn* conn) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = conn;
    ::epoll_ctl(epoll_fd_, op, fd, &ev);
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto conn = std::make_unique<Conn>();
      conn->fd = fd;
      watch(EPOLL_CTL_ADD, fd, EPOLLIN, conn.get());
      v1::ServerFrame welcome;
      welcome.mutable_welcome()->set_server("chat-bench-floor");
      welcome.mutable_welcome()->set_epoch(1);
      send(*conn, common::encode_frame(welcome));
      conns_.push_back(std::move(conn));
    }
  }

  void read(Conn& c) {
    char buffer[64 * 1024];
    const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      c.dead = true;
      return;
    }
    if (n < 0) return;
    const auto error = c.decoder.feed(std::string_view(buffer, static_cast<std::size_t>(n)),
                                      [&](std::string_view payload) {
                                        on_frame(c, payload);
                                        return !c.dead;
                                      });
    if (error != common::DecodeError::kNone) c.dead = true;
  }

  void on_frame(Conn& c, std::string_view payload) {
    v1::ClientFrame& in = request_;
    if (!in.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      c.dead = true;
      return;
    }
    v1::ServerFrame out;
    out.set_request_id(in.request_id());
    switch (in.body_case()) {
      case v1::ClientFrame::kHello:
        c.nick = in.hello().nick();
        out.mutable_hello()->set_nick(c.nick);
        break;
      case v1::ClientFrame::kJoin: {
        Room& room = rooms_[in.join().room()];
        room.members.push_back(&c);
        out.mutable_join()->set_room(in.join().room());
        out.mutable_join()->set_last_seq(room.seq);
        break;
      }
      case v1::ClientFrame::kSay:
        return say(c, in.say(), in.request_id());
      case v1::ClientFrame::kPong:
        return;
      default:
        out.mutable_error()->set_code(v1::Error::CODE_UNKNOWN_REQUEST);
        break;
    }
    send(c, common::encode_frame(out));
  }

  void say(Conn& from, const v1::SayRequest& say, std::uint64_t request_id) {
    auto it = rooms_.find(say.room());
    if (it == rooms_.end()) return;
    Room& room = it->second;
    v1::ServerFrame event;
    auto* m = event.mutable_message();
    m->set_room(say.room());
    m->set_sender(from.nick);
    m->set_text(say.text());
    m->set_seq(++room.seq);
    m->set_timestamp_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
    const std::string frame = common::encode_frame(event);  // once, for everyone else
    for (Conn* member : room.members) {
      if (member == &from || member->dead) continue;
      send(*member, frame);
    }
    event.set_request_id(request_id);
    m->set_client_msg_id(say.client_msg_id());
    send(from, common::encode_frame(event));
  }

  void send(Conn& c, const std::string& bytes) {
    if (c.dead) return;
    c.out += bytes;
    queue_flush(c);
  }

  void queue_flush(Conn& c) {
    if (c.queued || c.waiting) return;
    c.queued = true;
    to_flush_.push_back(&c);
  }

  // One send() per connection per turn; what the socket refuses waits for
  // EPOLLOUT.
  void flush_all() {
    for (Conn* c : to_flush_) {
      c->queued = false;
      if (c->dead || c->out.empty()) continue;
      const ssize_t n = ::send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN) {
        c->dead = true;
        continue;
      }
      if (n > 0) c->out.erase(0, static_cast<std::size_t>(n));
      if (!c->out.empty()) {
        c->waiting = true;
        watch(EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLOUT, c);
      }
    }
    to_flush_.clear();
  }

  void reap() {
    bool any = false;
    for (auto& c : conns_) any |= c->dead;
    if (!any) return;
    for (auto& [name, room] : rooms_) {
      std::erase_if(room.members, [](Conn* c) { return c->dead; });
    }
    std::erase_if(conns_, [this](const std::unique_ptr<Conn>& c) {
      if (!c->dead) return false;
      ::close(c->fd);
      return true;
    });
  }

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> to_flush_;
  std::unordered_map<std::string, Room> rooms_;
  v1::ClientFrame request_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "chat-bench-floor: the least a server can do and still pass chat-bench (one thread, one "
      "send per member per message, nothing else), for measuring the kernel's share of a "
      "scenario. Not a chat server.",
      "chat-bench-floor"};
  std::uint16_t port = 0;
  app.add_option("--port", port, "TCP port on 127.0.0.1 (0: any free port)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  try {
    FloorServer server(port);
    std::printf("chat-bench-floor listening on 127.0.0.1:%u\n", server.port());
    std::fflush(stdout);
    server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chat-bench-floor: %s\n", e.what());
    return 1;
  }
  return 0;
}
