#include "server/cluster/redis_conn.hpp"

#include "common/host_port.hpp"

namespace chat::server::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

Endpoint Endpoint::parse(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) == kScheme) url.remove_prefix(kScheme.size());
  std::string error;
  const auto where = common::split_host_port(std::string(url), error);
  if (!where) throw std::invalid_argument("expected redis://HOST:PORT: " + error);
  if (where->host.empty()) throw std::invalid_argument("expected redis://HOST:PORT");
  if (where->port == 0) throw std::invalid_argument("the port must be 1-65535");
  return Endpoint{where->host, where->port};
}

std::string Endpoint::str() const { return host + ":" + std::to_string(port); }

Conn::Conn(const Endpoint& endpoint, const std::string& password, std::chrono::milliseconds timeout)
    : ctx_(redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(timeout)), redisFree) {
  if (!ctx_) throw Error("cannot reach Redis at " + endpoint.str() + ": out of memory");
  if (ctx_->err) throw Error("cannot reach Redis at " + endpoint.str() + ": " + ctx_->errstr);
  if (redisSetTimeout(ctx_.get(), to_timeval(timeout)) != REDIS_OK) fail("set a timeout");
  redisEnableKeepAlive(ctx_.get());
  if (!password.empty()) {
    Reply r = command({"AUTH", password});
    if (is_error(r.get())) throw Error("Redis at " + endpoint.str() + " refused the password: " + text(r.get()));
  }
}

void Conn::fail(const char* what) const {
  throw Error(std::string("Redis: cannot ") + what + ": " + (ctx_->err ? ctx_->errstr : "unknown error"));
}

void Conn::append(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(args.size()), args.data(), lens.data()) != REDIS_OK) {
    fail("queue a command");
  }
}

Reply Conn::next_reply() {
  void* reply = nullptr;
  if (redisGetReply(ctx_.get(), &reply) != REDIS_OK || reply == nullptr) fail("read a reply");
  return Reply(static_cast<redisReply*>(reply));
}

Reply Conn::command(const std::vector<std::string>& argv) {
  append(argv);
  return next_reply();
}

void Conn::flush() {
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(ctx_.get(), &done) != REDIS_OK) fail("write");
  }
}

void Conn::read_available() {
  if (redisBufferRead(ctx_.get()) != REDIS_OK) fail("read");
}

Reply Conn::ready_reply() {
  void* reply = nullptr;
  if (redisGetReplyFromReader(ctx_.get(), &reply) != REDIS_OK) fail("parse a reply");
  return Reply(static_cast<redisReply*>(reply));
}

std::string text(const redisReply* r) {
  if (r == nullptr) return {};
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR) {
    return std::string(r->str, r->len);
  }
  return {};
}

bool is_error(const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_ERROR; }

}  // namespace chat::server::redis
