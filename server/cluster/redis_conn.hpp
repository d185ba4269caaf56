#pragma once
// One connection to Redis through hiredis (Debian's libhiredis-dev 0.14),
// for the cluster mode of issue 11. Blocking, with a timeout on every read
// and write, so its owner (an actor on a thread of its own, never a
// reactor) can not hang on a Redis that went silent: a command that times
// out fails, and the connection is then broken for good (open a new one).
//
// Commands are argv vectors (binary-safe, nothing is formatted into a
// string). Several may be sent at once and their replies read in order
// (pipelining: one round trip for a batch of says).
// Thread safety: one thread at a time; not shared.

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace chat::server::redis {

// The connection is broken (refused, reset, timed out, or a protocol
// error); every later call on it fails the same way.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// What to reach: redis://HOST:PORT (the password comes apart, from the
// environment, never from a flag that `ps` shows).
struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  // Parses "redis://HOST:PORT" or "HOST:PORT"; throws std::invalid_argument.
  static Endpoint parse(std::string_view url);
  std::string str() const;
};

class Conn {
 public:
  // Connects, and AUTHs with `password` if it is not empty. Throws Error.
  Conn(const Endpoint& endpoint, const std::string& password, std::chrono::milliseconds timeout);
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // One command and its reply. A Redis error reply (-ERR ...) is a reply
  // (type REDIS_REPLY_ERROR), not an exception.
  Reply command(const std::vector<std::string>& argv);
  // Pipelining: queue commands, then read one reply per command, in order.
  void append(const std::vector<std::string>& argv);
  Reply next_reply();
  // Writes what append() queued, without waiting for replies (a
  // subscriber's SUBSCRIBE, whose confirmation comes with its messages).
  void flush();

  // For a subscriber: the socket, to poll; then read_available() reads
  // what has arrived (without blocking once poll said readable) and
  // ready_reply() hands out each complete reply, null when none is left.
  int fd() const { return ctx_->fd; }
  void read_available();
  Reply ready_reply();

 private:
  [[noreturn]] void fail(const char* what) const;
  std::unique_ptr<redisContext, void (*)(redisContext*)> ctx_;
};

// The text of a string, status or error reply; empty otherwise.
std::string text(const redisReply* r);
bool is_error(const redisReply* r);

}  // namespace chat::server::redis
