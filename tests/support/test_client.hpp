#pragma once
// Test helpers: an io_context on its own thread, and a blocking wrapper
// around chat::client::Client that records every event for assertions.
// Thread safety: TestClient's methods may be called from the test thread;
// they hop onto the IoThread to touch the Client.

#include <asio.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/lib/client.hpp"

namespace chat::testing {

using namespace std::chrono_literals;

class IoThread {
 public:
  IoThread() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }

  // Runs f on the io thread and waits for its result.
  template <class F>
  auto call(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

class TestClient {
 public:
  using Op = std::function<void(client::Client&, client::ReplyHandler)>;

  // Connects and waits for the Welcome; logs in too when `nick` is given.
  // With `tls`, over TLS, verifying 127.0.0.1 against it.
  TestClient(IoThread& io, std::uint16_t port, const std::string& nick = "",
             std::shared_ptr<asio::ssl::context> tls = nullptr);
  ~TestClient();

  // Sends a request and waits for its reply (or error).
  v1::ServerFrame call(Op op, std::chrono::milliseconds timeout = 10s);
  v1::ServerFrame hello(const std::string& nick);
  // hello, tried again while the nick is taken: a nick that its holder let
  // go is free once the release reaches the nick's owner, and a hello can
  // overtake the release. Returns the last reply.
  v1::ServerFrame hello_when_free(const std::string& nick, std::chrono::milliseconds timeout = 5s);
  v1::ServerFrame rename(const std::string& nick);
  v1::ServerFrame join(const std::string& room);
  v1::ServerFrame leave(const std::string& room);
  v1::ServerFrame say(const std::string& room, const std::string& text, std::uint64_t client_msg_id = 0);
  v1::ServerFrame direct(const std::string& nick, const std::string& text);
  v1::ServerFrame ping();
  // Sends without waiting; the reply lands in replies().
  void say_async(const std::string& room, const std::string& text, std::uint64_t client_msg_id);
  void close();

  // What arrived so far (copies, taken under the lock).
  std::vector<v1::RoomMessage> messages(const std::string& room = "") const;
  std::vector<v1::Presence> presences() const;
  std::vector<v1::TopicChanged> topics() const;
  std::vector<v1::DirectMessage> directs() const;
  std::vector<v1::Error> errors() const;  // unsolicited errors
  std::vector<v1::ServerFrame> replies() const;  // replies to say_async
  bool got_shutdown() const;
  bool disconnected() const;
  v1::Welcome welcome() const;

  // Waits until pred() holds; checked again after every event.
  bool wait(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) const;
  bool wait_messages(const std::string& room, std::size_t n, std::chrono::milliseconds timeout = 10s) const;

 private:
  IoThread& io_;
  std::shared_ptr<client::Client> client_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<v1::RoomMessage> messages_;
  std::vector<v1::Presence> presences_;
  std::vector<v1::TopicChanged> topics_;
  std::vector<v1::DirectMessage> directs_;
  std::vector<v1::Error> errors_;
  std::vector<v1::ServerFrame> replies_;
  bool shutdown_ = false;
  bool disconnected_ = false;
  std::uint64_t events_ = 0;
};

// A bare TCP connection for sending hostile bytes and reading raw frames.
class RawConnection {
 public:
  // `source`: a local IPv4 address to connect from ("127.0.0.2"), so a
  // test can play clients from other addresses; null: the kernel's choice.
  explicit RawConnection(std::uint16_t port, int rcvbuf = 0, const char* source = nullptr);
  ~RawConnection();
  void send_bytes(std::string_view bytes);
  void send_frame(const v1::ClientFrame& frame);
  // Next frame; nothing on EOF, reset or timeout (see eof()).
  std::optional<v1::ServerFrame> read_frame(std::chrono::milliseconds timeout = 5s);
  // Reads until a frame matches pred; nothing if the stream ends first.
  std::optional<v1::ServerFrame> read_until(const std::function<bool(const v1::ServerFrame&)>& pred,
                                            std::chrono::milliseconds timeout = 5s);
  // Every whole frame already received, without waiting (issue 15's test
  // drains thousands of connections in turn).
  std::vector<v1::ServerFrame> read_available();
  // True once the server has closed the connection.
  bool wait_closed(std::chrono::milliseconds timeout = 5s);
  bool eof() const { return eof_; }
  int fd() const { return fd_; }

 private:
  // One recv() with `flags`, its bytes decoded into ready_; false if
  // nothing came (MSG_DONTWAIT and nothing there) or the stream ended.
  bool receive(int flags);

  int fd_ = -1;
  bool eof_ = false;
  common::FrameDecoder decoder_{64u << 20};
  std::vector<std::string> ready_;
};

// Accounts (issue 13): a login with a password, and registering the
// client's nick.
v1::ServerFrame login(TestClient& client, const std::string& nick, const std::string& password, bool regain = false);
v1::ServerFrame register_account(TestClient& client, const std::string& password);

// A raw connection's login, the same way everywhere: hello (request id 1),
// and for login_and_join a join (request id 2) in the same write. Each
// returns the answer to its last request; if none arrives, a frame with an
// error that says so (as TestClient::call does).
v1::ServerFrame login(RawConnection& conn, const std::string& nick, std::chrono::milliseconds timeout = 5s);
v1::ServerFrame login_and_join(RawConnection& conn, const std::string& nick, const std::string& room,
                               std::chrono::milliseconds timeout = 5s);

}  // namespace chat::testing
