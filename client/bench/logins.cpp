// chat-bench --logins: what a login with a password costs (issue 13). Each
// of --threads threads logs in to an account of its own over and over (at
// --rate logins a second each, if given; else one after another): connect, the Welcome, hello{nick, password}, the answer, close. A hash
// is chatd's whole cost of such a login, made on its one hasher thread, so
// logins a second is that thread's hashes a second; the latency is what a
// user waits with that many others logging in at once.
//
// Plain blocking sockets, one per thread at a time: a login is a
// millisecond-scale request, nothing here needs to be faster than chatd's
// argon2id. The accounts are registered first (their names:
// --nick-prefix, "login", the thread's index; one already there is used as
// it is, so its password must be this run's). For the most chatd does, run
// it with --login-attempts 0 and --connect-rate 0: the bench logs in from
// one address, faster than those let one address. A refused connection
// (TOO_MANY_CONNECTIONS) is counted as refused and its retry_after waited.
#include <asio.hpp>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "chat/v1/chat.pb.h"
#include "client/bench/bench.hpp"
#include "client/bench/proc.hpp"
#include "client/bench/stats.hpp"
#include "common/framing.hpp"

namespace chat::bench {
namespace {

constexpr const char* kPassword = "chat-bench login password";

// One connection, request and answer at a time.
class Line {
 public:
  // Connects and reads the Welcome, or the Error a refused connection gets
  // instead (refusal()).
  Line(asio::io_context& io, const Options& o) : socket_(io) {
    asio::ip::tcp::resolver resolver(io);
    asio::connect(socket_, resolver.resolve(o.host, std::to_string(o.port)));
    socket_.set_option(asio::ip::tcp::no_delay(true));
    const v1::ServerFrame first = next();
    if (first.has_error()) {
      refusal_ = first.error();
    } else if (!first.has_welcome()) {
      throw std::runtime_error("the server sent no Welcome");
    }
  }
  // Set when the server refused the connection (TOO_MANY_CONNECTIONS: the
  // connect rate of one address, say).
  const std::optional<v1::Error>& refusal() const { return refusal_; }
  v1::ServerFrame call(v1::ClientFrame frame) {
    frame.set_request_id(++request_id_);
    asio::write(socket_, asio::buffer(common::encode_frame(frame)));
    for (;;) {
      v1::ServerFrame reply = next();
      if (reply.request_id() == request_id_) return reply;
    }
  }

 private:
  v1::ServerFrame next() {
    for (;;) {
      if (!ready_.empty()) {
        v1::ServerFrame f;
        if (!f.ParseFromString(ready_.front())) throw std::runtime_error("the server sent a frame that does not parse");
        ready_.erase(ready_.begin());
        return f;
      }
      char buf[4096];
      const std::size_t n = socket_.read_some(asio::buffer(buf));
      if (decoder_.feed(std::string_view(buf, n), [&](std::string_view payload) {
            ready_.emplace_back(payload);
            return true;
          }) != common::DecodeError::kNone) {
        throw std::runtime_error("the server's framing is broken");
      }
    }
  }

  asio::ip::tcp::socket socket_;
  common::FrameDecoder decoder_{1u << 20};
  std::vector<std::string> ready_;
  std::uint64_t request_id_ = 0;
  std::optional<v1::Error> refusal_;
};

v1::ClientFrame hello(const std::string& nick, const std::string& password) {
  v1::ClientFrame f;
  f.mutable_hello()->set_nick(nick);
  f.mutable_hello()->set_password(password);
  return f;
}

void register_account(asio::io_context& io, const Options& o, const std::string& nick) {
  Line line(io, o);
  if (line.refusal()) throw std::runtime_error("connection refused: " + line.refusal()->message());
  const auto as_guest = line.call(hello(nick, ""));
  if (as_guest.has_error()) {
    if (as_guest.error().code() == v1::Error::CODE_NICK_REGISTERED) return;  // from an earlier run
    throw std::runtime_error("hello " + nick + ": " + as_guest.error().message());
  }
  v1::ClientFrame reg;
  reg.mutable_register_account()->set_password(kPassword);
  const auto reply = line.call(reg);
  if (reply.has_error()) throw std::runtime_error("register " + nick + ": " + reply.error().message());
}

struct Totals {
  LatencyHistogram latency;  // inside the window
  std::uint64_t logins = 0;
  std::uint64_t refused = 0;  // LOGIN_BUSY, RATE_LIMITED or a refused connection, inside the window
  std::uint64_t errors = 0;   // anything else
  std::string failure;
};

void log_in_loop(const Options& o, const std::string& nick, const RunControl& control, std::atomic<bool>& stop,
                 Totals& out) {
  asio::io_context io;
  // With --rate, logins start on a schedule (a bystander's pace); without,
  // one after another.
  const std::int64_t every = o.rate > 0 ? static_cast<std::int64_t>(1e9 / o.rate) : 0;
  std::int64_t next = now_ns();
  try {
    while (!stop.load(std::memory_order_relaxed)) {
      if (every > 0) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(next - now_ns()));
        next += every;
      }
      const std::int64_t start = now_ns();
      Line line(io, o);
      if (line.refusal()) {
        // Counted, and waited out as a client would.
        if (start >= control.window_start() && start < control.window_end()) ++out.refused;
        std::this_thread::sleep_for(std::chrono::milliseconds(std::max<std::uint32_t>(line.refusal()->retry_after_ms(), 10)));
        continue;
      }
      const v1::ServerFrame reply = line.call(hello(nick, kPassword));
      const std::int64_t end = now_ns();
      if (start < control.window_start() || end >= control.window_end()) continue;
      if (reply.has_hello()) {
        ++out.logins;
        out.latency.record(static_cast<std::uint64_t>(end - start));
      } else if (reply.has_error() && (reply.error().code() == v1::Error::CODE_LOGIN_BUSY ||
                                       reply.error().code() == v1::Error::CODE_RATE_LIMITED)) {
        ++out.refused;
      } else {
        ++out.errors;
      }
    }
  } catch (const std::exception& e) {
    out.failure = e.what();
  }
}

}  // namespace

int run_logins(const Options& options, Result& result) {
  {
    asio::io_context io;
    for (unsigned i = 0; i < options.threads; ++i) {
      register_account(io, options, options.nick_prefix + "login" + std::to_string(i));
    }
  }
  RunControl control;
  std::atomic<bool> stop{false};
  std::vector<Totals> totals(options.threads);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < options.threads; ++i) {
    threads.emplace_back(log_in_loop, std::cref(options), options.nick_prefix + "login" + std::to_string(i),
                         std::cref(control), std::ref(stop), std::ref(totals[i]));
  }
  auto seconds = [](double s) { return static_cast<std::int64_t>(s * 1e9); };
  const std::int64_t start = now_ns() + seconds(options.warmup_s);
  const std::int64_t end = start + seconds(options.duration_s);
  control.set_window(start, end);
  std::this_thread::sleep_until(std::chrono::steady_clock::now() + std::chrono::nanoseconds(start - now_ns()));
  const auto cpu_before = server_cpu_seconds(options);
  std::this_thread::sleep_until(std::chrono::steady_clock::now() + std::chrono::nanoseconds(end - now_ns()));
  const auto cpu_after = server_cpu_seconds(options);
  stop.store(true);
  for (auto& t : threads) t.join();

  LatencyHistogram latency;
  for (const Totals& t : totals) {
    if (!t.failure.empty()) {
      std::fprintf(stderr, "chat-bench: error: %s\n", t.failure.c_str());
      return 1;
    }
    latency.merge(t.latency);
    result.logins += t.logins;
    result.login_refused += t.refused;
    result.errors += t.errors;
  }
  result.connections = options.threads;
  result.measured_s = static_cast<double>(end - start) / 1e9;
  if (options.server_pid > 0 && cpu_before && cpu_after) result.server_cpu_s = *cpu_after - *cpu_before;
  result.latency_samples = latency.count();
  const double qs[] = {0.5, 0.9, 0.99, 0.999};
  for (int i = 0; i < 4; ++i) result.latency_us[i] = static_cast<double>(latency.percentile(qs[i])) / 1000.0;
  result.latency_us[4] = static_cast<double>(latency.max()) / 1000.0;
  return 0;
}

}  // namespace chat::bench
