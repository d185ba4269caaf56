#include "client/bench/bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "client/bench/payload.hpp"
#include "client/bench/proc.hpp"
#include "client/bench/wire.hpp"

namespace chat::bench {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------- RunControl

void RunControl::set_window(std::int64_t start_ns, std::int64_t end_ns) {
  window_start_ns_.store(start_ns, std::memory_order_release);
  window_end_ns_.store(end_ns, std::memory_order_release);
}

void RunControl::fail(const std::string& reason) {
  std::lock_guard lock(failure_mu_);
  if (failure_.empty()) failure_ = reason;
  failed_.store(true, std::memory_order_release);
}

std::string RunControl::failure() const {
  std::lock_guard lock(failure_mu_);
  return failure_;
}

// ---------------------------------------------------------------- Connection

namespace {
constexpr std::uint64_t kHelloRequestId = 1;
constexpr std::uint64_t kJoinRequestId = 2;
// A RoomMessage event is field 20 (length-delimited) of ServerFrame: tag
// (20 << 3 | 2) = 162, a varint of two bytes.
constexpr unsigned char kRoomMessageTag[2] = {0xa2, 0x01};
// Reads per wake-up before the connection yields to the others.
constexpr int kReadsPerTurn = 4;
}  // namespace

Connection::Connection(Worker& worker, ConnectionSpec spec)
    : worker_(worker), spec_(std::move(spec)), socket_(worker.io_) {
  if (spec_.role == Role::kPublisher) {
    auto* say = say_.mutable_say();
    say->set_room(spec_.room);
    say->set_text(std::string(worker_.options_.size, 'x'));
    if (worker_.options_.rate > 0) timer_ = std::make_unique<asio::steady_timer>(worker_.io_);
  }
  if (spec_.role == Role::kSubscriber) trackers_.resize(spec_.room_pubs);
}

void Connection::connect(const asio::ip::tcp::endpoint& server) {
  socket_.async_connect(server, [this](const std::error_code& ec) { on_connected(ec); });
}

void Connection::on_connected(const std::error_code& ec) {
  worker_.on_connect_done();
  if (ec) {
    worker_.control_.fail(spec_.nick + ": connect: " + ec.message());
    return;
  }
  open_ = true;
  std::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);
  if (worker_.options_.tls) {
    tls_ = std::make_unique<common::TlsStream>(worker_.options_.tls->native_handle(), socket_.native_handle(),
                                               common::TlsStream::Role::kClient, worker_.options_.host);
  }
  // The server lets a client pipeline hello and join without waiting.
  v1::ClientFrame hello;
  hello.set_request_id(kHelloRequestId);
  hello.mutable_hello()->set_nick(spec_.nick);
  queue(hello);
  v1::ClientFrame join;
  join.set_request_id(kJoinRequestId);
  join.mutable_join()->set_room(spec_.room);
  queue(join);
  flush();
  wait_readable();
}

void Connection::wait_readable() {
  if (tls_ && tls_->has_pending()) return read_later();
  const bool writable = tls_ && tls_->read_waits_for() == common::TlsStream::Wait::kWritable;
  socket_.async_wait(writable ? asio::ip::tcp::socket::wait_write : asio::ip::tcp::socket::wait_read,
                     [this](const std::error_code& ec) { on_readable(ec); });
}

std::size_t Connection::read_some(std::vector<char>& buffer, std::error_code& ec) {
  if (tls_) return tls_->read(std::span<char>(buffer.data(), buffer.size()), ec);
  return socket_.read_some(asio::buffer(buffer), ec);
}

// The reactor is edge-triggered: bytes left in the socket after our reads
// raise no new event, so come back through the queue instead of waiting.
void Connection::read_later() {
  asio::post(worker_.io_, [this] { on_readable({}); });
}

void Connection::on_readable(const std::error_code& ec) {
  if (!open_) return;
  if (ec) return fail("read: " + ec.message());
  worker_.refresh_window();
  std::vector<char>& buffer = worker_.read_buffer_;
  bool more = false;
  for (int reads = 0; reads < kReadsPerTurn; ++reads) {
    std::error_code read_ec;
    const std::size_t n = read_some(buffer, read_ec);
    if (read_ec == asio::error::would_block || read_ec == asio::error::try_again) break;
    // Every message in this read arrived by now: one clock read per read,
    // not per message, and decoding the ones in front adds nothing to the
    // ones behind.
    worker_.read_ns_ = now_ns();
    if (read_ec) {
      return fail(read_ec == asio::error::eof ? "the server closed the connection"
                                              : "read: " + read_ec.message());
    }
    const auto error = decoder_.feed(std::string_view(buffer.data(), n),
                                     [this](std::string_view payload) { return on_frame(payload); });
    if (!open_) return;
    if (error != common::DecodeError::kNone) return fail("undecodable frame from the server");
    more = n == buffer.size() || (tls_ && tls_->has_pending());
    if (!more) break;
  }
  publish();
  flush();
  worker_.publish_progress();
  if (more) {
    read_later();
  } else {
    wait_readable();
  }
}

bool Connection::on_frame(std::string_view payload) {
  // Fast path for the bulk of the traffic: a room message with no
  // request_id (every copy, our own ones too, since says go out with
  // request_id 0) is just the tag, a length and a RoomMessage, read in
  // place by wire.hpp. Anything else takes the generated parser below.
  if (payload.size() > 2 && static_cast<unsigned char>(payload[0]) == kRoomMessageTag[0] &&
      static_cast<unsigned char>(payload[1]) == kRoomMessageTag[1]) {
    std::uint64_t length = 0;
    std::size_t used = 0;
    RoomMessageView message;
    if (common::read_varint(payload.substr(2), length, used) == common::VarintStatus::kOk &&
        2 + used + length == payload.size() && read_room_message(payload.substr(2 + used), message)) {
      on_message(message);
      return open_;
    }
  }

  v1::ServerFrame& frame = worker_.frame_scratch_;
  if (!frame.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    fail("unparsable frame");
    return false;
  }
  const auto body = frame.body_case();
  if (body == v1::ServerFrame::kJoin) {
    worker_.totals_.join_reply_bytes += payload.size();
  } else if (joined_ && body != v1::ServerFrame::kMessage && body != v1::ServerFrame::kPing) {
    ++worker_.totals_.presence_frames;
    worker_.totals_.presence_bytes += payload.size();
  }
  switch (body) {
    case v1::ServerFrame::kMessage:
      on_message(RoomMessageView{frame.message().seq(), frame.message().client_msg_id(), frame.message().text()});
      break;
    case v1::ServerFrame::kWelcome:
      worker_.control_.server_rate_per_sec.store(
          static_cast<std::uint32_t>(frame.welcome().limits().rate_per_sec()),
          std::memory_order_relaxed);
      break;
    case v1::ServerFrame::kJoin:
      if (!joined_) {
        joined_ = true;
        last_seq_ = frame.join().last_seq();
        ++worker_.joined_;
      }
      break;
    case v1::ServerFrame::kPing: {
      v1::ClientFrame pong;
      pong.mutable_pong()->set_nonce(frame.ping().nonce());
      queue(pong);
      break;
    }
    case v1::ServerFrame::kError:
      on_error(frame.error(), frame.request_id());
      break;
    case v1::ServerFrame::kShutdown:
      fail("the server is shutting down");
      break;
    default:  // hello reply, presence and the rest: nothing to measure
      break;
  }
  return open_;
}

void Connection::on_message(const RoomMessageView& message) {
  const std::int64_t now = worker_.read_ns_;
  WorkerTotals& totals = worker_.totals_;
  ++worker_.received_;
  if (now >= worker_.window_start_ && now < worker_.window_end_) ++totals.deliveries;
  if (joined_) {
    // Every message sequenced after our join reaches us, in order: seq is
    // last_seq + 1 each time. Count the numbers skipped, or 1 for a step back.
    if (message.seq != last_seq_ + 1) {
      totals.seq_gaps += message.seq > last_seq_ ? message.seq - last_seq_ - 1 : 1;
    }
    last_seq_ = std::max(last_seq_, message.seq);
  }
  if (spec_.role == Role::kPublisher) {
    if (message.client_msg_id != 0) ++echoed_;  // only our own copy carries it
    return;
  }
  if (spec_.role != Role::kSubscriber) return;

  Header header;
  if (!read_header(message.text, header) || header.pub_id < spec_.room_first_pub ||
      header.pub_id - spec_.room_first_pub >= spec_.room_pubs) {
    ++totals.foreign;
    return;
  }
  switch (trackers_[header.pub_id - spec_.room_first_pub].on_counter(header.counter)) {
    case CounterTracker::Arrival::kDuplicate:
      ++totals.duplicated;
      return;
    case CounterTracker::Arrival::kReordered:
      ++totals.reordered;
      break;
    case CounterTracker::Arrival::kInOrder:
    case CounterTracker::Arrival::kAfterGap:
      break;
  }
  if (header.send_ns >= worker_.window_start_ && header.send_ns < worker_.window_end_) {
    ++worker_.window_received_;
    totals.latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - header.send_ns)));
  }
}

void Connection::on_error(const v1::Error& error, std::uint64_t request_id) {
  // A join refused for the room-creation budget fails the run below, with
  // the server's reason; any other RATE_LIMITED throttled the publishers.
  if (error.code() == v1::Error::CODE_RATE_LIMITED && request_id != kJoinRequestId) {
    worker_.control_.note_rate_limited();
    return;
  }
  const std::string what = spec_.nick + ": " + v1::Error::Code_Name(error.code()) + ": " + error.message();
  if (request_id == kHelloRequestId || request_id == kJoinRequestId || !joined_) {
    worker_.control_.fail(what);
    return;
  }
  ++worker_.totals_.errors;
  if (!worker_.options_.quiet) std::fprintf(stderr, "chat-bench: %s\n", what.c_str());
}

void Connection::start_publishing(std::int64_t start_ns) {
  if (!open_ || spec_.role != Role::kPublisher) return;
  publishing_ = true;
  publish_start_ns_ = start_ns;
  if (worker_.options_.rate > 0) {
    // Spread the publishers' ticks evenly over one period, as independent
    // users' would be; in lockstep they would hit the server in bursts.
    const double period_ns = 1e9 / worker_.options_.rate;
    const double publishers = static_cast<double>(worker_.options_.rooms) * worker_.options_.pubs;
    publish_start_ns_ += static_cast<std::int64_t>(period_ns * spec_.pub_id / publishers);
  }
  publish();
  flush();
}

// Sends what is due: up to the window of unechoed messages, and in rate
// mode no more than rate x elapsed time. Each message is stamped just before
// it is queued, so the latency includes our own queueing and nothing else.
void Connection::publish() {
  if (!publishing_ || !open_) return;
  const Options& options = worker_.options_;
  std::string& text = *say_.mutable_say()->mutable_text();
  std::int64_t now = now_ns();
  std::uint64_t due = std::numeric_limits<std::uint64_t>::max();
  if (options.rate > 0) {
    // Nothing is due before this publisher's first tick (see start_publishing).
    due = now < publish_start_ns_
              ? 0
              : static_cast<std::uint64_t>(static_cast<double>(now - publish_start_ns_) * options.rate / 1e9) + 1;
  }
  while (sent_ < due && sent_ - echoed_ < options.window) {
    if (now >= worker_.window_end_) {
      publishing_ = false;
      ++worker_.publishers_done_;
      return;
    }
    const bool in_window = now >= worker_.window_start_;
    if (in_window && !window_started_) {
      window_started_ = true;
      window_first_counter_ = sent_;
    }
    write_header(text.data(), Header{spec_.pub_id, sent_, now});
    // Unique across runs: the server treats a known (nick, id) as a resend.
    say_.mutable_say()->set_client_msg_id(first_msg_id_ + sent_);
    queue(say_);
    ++sent_;
    ++worker_.published_;
    if (in_window) {
      window_end_counter_ = sent_;
      worker_.window_expected_ += spec_.room_subs;
    }
    now = now_ns();
  }
  // A full window waits for echoes, which call publish() again; otherwise
  // the rate says when the next message is due.
  if (timer_ && sent_ - echoed_ < options.window) schedule_tick();
}

void Connection::schedule_tick() {
  if (tick_pending_) return;
  const auto due_ns = publish_start_ns_ + static_cast<std::int64_t>(
                                              static_cast<double>(sent_) * 1e9 / worker_.options_.rate);
  // At least 20 us apart: at high rates each tick sends a batch.
  const std::int64_t wait_ns = std::max<std::int64_t>(due_ns - now_ns(), 20'000);
  tick_pending_ = true;
  timer_->expires_after(std::chrono::nanoseconds(wait_ns));
  timer_->async_wait([this](const std::error_code& ec) {
    tick_pending_ = false;
    if (ec || !open_) return;
    worker_.refresh_window();
    publish();
    flush();
    worker_.publish_progress();
  });
}

// Appends one frame to this turn's output: the length varint, then the message.
template <class Message>
void Connection::queue(const Message& message) {
  const std::size_t size = message.ByteSizeLong();
  const std::size_t at = out_.size();
  out_.resize(at + common::varint_size(size) + size);
  char* body = common::write_varint(size, out_.data() + at);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(body));
}

// Everything queued since the last write leaves in one write; frames queued
// while it is in flight wait for the next.
void Connection::flush() {
  if (write_pending_ || out_.empty() || !open_) return;
  writing_.swap(out_);
  write_pending_ = true;
  if (tls_) {
    written_ = 0;
    return write_tls();
  }
  asio::async_write(socket_, asio::buffer(writing_), [this](const std::error_code& ec, std::size_t) {
    write_pending_ = false;
    writing_.clear();
    if (ec) return fail("write: " + ec.message());
    flush();
  });
}

// A record at a time from the first unwritten byte, so a write that would
// block is retried with the same bytes (tls_stream.hpp).
void Connection::write_tls() {
  while (written_ < writing_.size()) {
    std::error_code ec;
    written_ += tls_->write(std::span<const char>(writing_).subspan(written_), ec);
    if (ec == asio::error::would_block) {
      const bool readable = tls_->write_waits_for() == common::TlsStream::Wait::kReadable;
      socket_.async_wait(readable ? asio::ip::tcp::socket::wait_read : asio::ip::tcp::socket::wait_write,
                         [this](const std::error_code& wait_ec) {
                           if (!open_) return;
                           if (wait_ec) return fail("write: " + wait_ec.message());
                           write_tls();
                         });
      return;
    }
    if (ec) return fail("write: " + ec.message());
  }
  write_pending_ = false;
  writing_.clear();
  flush();
}

void Connection::fail(const std::string& reason) {
  if (!open_) return;
  open_ = false;
  publishing_ = false;
  std::error_code ignored;
  socket_.close(ignored);
  if (timer_) timer_->cancel();
  ++worker_.totals_.disconnects;
  if (!joined_) {
    worker_.control_.fail(spec_.nick + ": " + reason);
  } else if (!worker_.options_.quiet) {
    std::fprintf(stderr, "chat-bench: %s: %s\n", spec_.nick.c_str(), reason.c_str());
  }
}

// -------------------------------------------------------------------- Worker

Worker::Worker(const Options& options, RunControl& control, std::vector<asio::ip::tcp::endpoint> servers)
    : options_(options), control_(control), servers_(std::move(servers)) {}

Worker::~Worker() { stop(); }

void Worker::add(ConnectionSpec spec) {
  connections_.push_back(std::make_unique<Connection>(*this, std::move(spec)));
}

void Worker::start() {
  asio::post(io_, [this] { connect_more(); });
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

void Worker::start_publishing(std::int64_t start_ns) {
  asio::post(io_, [this, start_ns] {
    refresh_window();
    for (auto& connection : connections_) connection->start_publishing(start_ns);
    publish_progress();
  });
}

void Worker::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void Worker::connect_more() {
  while (connecting_ < kConnectsInFlight && next_to_connect_ < connections_.size()) {
    ++connecting_;
    Connection& c = *connections_[next_to_connect_++];
    c.connect(servers_[c.spec().server]);
  }
}

void Worker::on_connect_done() {
  --connecting_;
  connect_more();
}

void Worker::refresh_window() {
  window_start_ = control_.window_start();
  window_end_ = control_.window_end();
}

void Worker::publish_progress() {
  progress_.joined.store(joined_, std::memory_order_relaxed);
  progress_.received.store(received_, std::memory_order_relaxed);
  progress_.published.store(published_, std::memory_order_relaxed);
  progress_.presence_bytes.store(totals_.presence_bytes, std::memory_order_relaxed);
  progress_.window_expected.store(window_expected_, std::memory_order_relaxed);
  progress_.window_received.store(window_received_, std::memory_order_relaxed);
  progress_.publishers_done.store(publishers_done_, std::memory_order_release);
}

// ------------------------------------------------------------ the main thread

namespace {

using Workers = std::vector<std::unique_ptr<Worker>>;

// --port, then each --also-port.
std::vector<asio::ip::tcp::endpoint> resolve(const Options& options) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  std::vector<std::uint16_t> ports = {options.port};
  ports.insert(ports.end(), options.also_ports.begin(), options.also_ports.end());
  std::vector<asio::ip::tcp::endpoint> out;
  for (const auto port : ports) {
    const auto results = resolver.resolve(options.host, std::to_string(port));
    if (results.empty()) throw std::runtime_error("cannot resolve " + options.host);
    out.push_back(*results.begin());
  }
  return out;
}

Workers start_workers(const Options& options, RunControl& control, std::vector<ConnectionSpec> specs) {
  const auto servers = resolve(options);
  Workers workers;
  for (unsigned i = 0; i < options.threads; ++i) {
    workers.push_back(std::make_unique<Worker>(options, control, servers));
  }
  for (std::size_t i = 0; i < specs.size(); ++i) {
    specs[i].server = static_cast<std::uint32_t>(i % servers.size());
    workers[i % workers.size()]->add(std::move(specs[i]));
  }
  for (auto& worker : workers) worker->start();
  return workers;
}

template <class Field>
std::uint64_t sum(const Workers& workers, Field field) {
  std::uint64_t total = 0;
  for (const auto& worker : workers) total += (worker->progress().*field).load(std::memory_order_relaxed);
  return total;
}

// The once-a-second progress line on stderr.
// Thread safety: main thread only.
class ProgressLine {
 public:
  ProgressLine(const Options& options, const Workers& workers)
      : quiet_(options.quiet), workers_(workers), started_ns_(now_ns()), next_ns_(started_ns_ + 1'000'000'000) {}

  void maybe_print(const char* phase) {
    const std::int64_t now = now_ns();
    if (now < next_ns_) return;
    const double seconds = static_cast<double>(now - last_ns_) / 1e9;
    const std::uint64_t published = sum(workers_, &Progress::published);
    const std::uint64_t received = sum(workers_, &Progress::received);
    if (!quiet_) {
      std::fprintf(stderr,
                   "chat-bench %6.1fs %-10s %8llu joined %10.0f msgs/s published %12.0f deliveries/s\n",
                   static_cast<double>(now - started_ns_) / 1e9, phase,
                   static_cast<unsigned long long>(sum(workers_, &Progress::joined)),
                   static_cast<double>(published - published_) / seconds,
                   static_cast<double>(received - received_) / seconds);
    }
    published_ = published;
    received_ = received;
    last_ns_ = now;
    next_ns_ += 1'000'000'000;
    if (next_ns_ <= now) next_ns_ = now + 1'000'000'000;
  }

 private:
  bool quiet_;
  const Workers& workers_;
  std::int64_t started_ns_;
  std::int64_t next_ns_;
  std::int64_t last_ns_ = started_ns_;
  std::uint64_t published_ = 0;
  std::uint64_t received_ = 0;
};

// Sleeps until `deadline_ns` (steady clock) or until `stop()` holds, printing
// progress on the way. Returns whether `stop()` ended it.
template <class Stop>
bool wait_until(std::int64_t deadline_ns, ProgressLine& progress, const char* phase, Stop stop) {
  for (;;) {
    if (stop()) return true;
    const std::int64_t now = now_ns();
    if (now >= deadline_ns) return false;
    progress.maybe_print(phase);
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<std::int64_t>(deadline_ns - now, 5'000'000)));
  }
}

// Waits until every connection has its join reply; prints why not on failure.
bool wait_joined(const Options& options, const Workers& workers, RunControl& control, ProgressLine& progress) {
  const std::uint64_t total = options.connections();
  // Generous: ten seconds, plus 6 ms a connection for big runs (a big
  // room's joins can take that while every join is announced to everyone).
  const std::int64_t deadline = now_ns() + 10'000'000'000 + static_cast<std::int64_t>(total) * 6'000'000;
  wait_until(deadline, progress, "joining", [&] {
    return control.failed() || sum(workers, &Progress::joined) >= total;
  });
  if (control.failed()) {
    std::fprintf(stderr, "chat-bench: error: %s\n", control.failure().c_str());
    return false;
  }
  const std::uint64_t joined = sum(workers, &Progress::joined);
  if (joined < total) {
    std::fprintf(stderr, "chat-bench: error: only %llu of %llu connections joined in time\n",
                 static_cast<unsigned long long>(joined), static_cast<unsigned long long>(total));
    return false;
  }
  return true;
}

std::int64_t seconds_to_ns(double seconds) { return static_cast<std::int64_t>(seconds * 1e9); }

}  // namespace

int run_pubsub(const Options& options, Result& result) {
  RunControl control;
  std::vector<ConnectionSpec> specs;
  for (unsigned r = 0; r < options.rooms; ++r) {
    const std::string room = "#bench-" + std::to_string(r);
    const std::uint32_t first_pub = r * options.pubs;
    auto add = [&](Role role, std::uint32_t pub_id) {
      specs.push_back(ConnectionSpec{options.nick_prefix + std::to_string(specs.size()), room, role,
                                     pub_id, first_pub, options.pubs, options.subs});
    };
    for (unsigned s = 0; s < options.subs; ++s) add(Role::kSubscriber, 0);
    for (unsigned p = 0; p < options.pubs; ++p) add(Role::kPublisher, first_pub + p);
  }
  result.connections = specs.size();
  if (options.server_pid) result.rss_before_bytes = process_rss_bytes(options.server_pid);

  Workers workers = start_workers(options, control, std::move(specs));
  ProgressLine progress(options, workers);
  if (!wait_joined(options, workers, control, progress)) return 1;
  if (const auto limit = control.server_rate_per_sec.load(std::memory_order_relaxed); limit != 0) {
    std::fprintf(stderr,
                 "chat-bench: warning: the server limits each connection to %u requests/s; "
                 "start chatd with --rate 0 for benchmarks\n",
                 limit);
  }

  // Warm up, then measure: the window is fixed before anyone publishes, and
  // every message says by its send time whether it belongs to it.
  const std::int64_t start = now_ns();
  const std::int64_t window_start = start + seconds_to_ns(options.warmup_s);
  const std::int64_t window_end = window_start + seconds_to_ns(options.duration_s);
  control.set_window(window_start, window_end);
  for (auto& worker : workers) worker->start_publishing(start);

  auto rate_limited = [&] { return control.rate_limited(); };
  wait_until(window_start, progress, "warming-up", rate_limited);
  const std::optional<double> server_cpu_0 =
      server_cpu_seconds(options);
  const double self_cpu_0 = self_cpu_seconds();
  const std::int64_t measured_from = now_ns();
  wait_until(window_end, progress, "measuring", rate_limited);
  const std::int64_t measured_to = now_ns();
  const double self_cpu_1 = self_cpu_seconds();
  if (options.server_pid) result.rss_after_bytes = process_rss_bytes(options.server_pid);
  const std::optional<double> server_cpu_1 =
      server_cpu_seconds(options);

  // Drain: wait (a while) until every publisher has stopped and every
  // subscriber has every message sent inside the window.
  const std::uint64_t publishers = std::uint64_t{options.rooms} * options.pubs;
  auto drained = [&] {
    std::uint64_t done = 0;
    for (const auto& w : workers) done += w->progress().publishers_done.load(std::memory_order_acquire);
    if (done < publishers) return false;
    const std::uint64_t expected = sum(workers, &Progress::window_expected);
    return sum(workers, &Progress::window_received) >= expected;
  };
  wait_until(window_end + seconds_to_ns(options.drain_s), progress, "draining",
             [&] { return rate_limited() || drained(); });
  result.drained = drained();
  for (auto& worker : workers) worker->stop();

  if (control.rate_limited()) {
    std::fprintf(stderr,
                 "chat-bench: error: the server answered RATE_LIMITED: its per-connection rate limit "
                 "is throttling the publishers, so the numbers would measure the limit, not the "
                 "server. Start chatd with --rate 0 for benchmarks.\n");
    return 2;
  }

  // The workers have joined: their state is ours to read.
  result.measured_s = static_cast<double>(measured_to - measured_from) / 1e9;
  result.generator_cpu_s = self_cpu_1 - self_cpu_0;
  if (server_cpu_0 && server_cpu_1) result.server_cpu_s = *server_cpu_1 - *server_cpu_0;

  struct Range {
    std::uint64_t first = 0;
    std::uint64_t end = 0;
  };
  std::vector<Range> windows(std::size_t{options.rooms} * options.pubs);
  for (const auto& worker : workers) {
    for (const auto& c : worker->connections()) {
      if (c->spec().role != Role::kPublisher) continue;
      windows[c->spec().pub_id] = {c->window_first_counter(), c->window_end_counter()};
      result.published += c->window_end_counter() - c->window_first_counter();
    }
  }
  LatencyHistogram latency;
  for (const auto& worker : workers) {
    for (const auto& c : worker->connections()) {
      const auto& trackers = c->trackers();
      for (std::size_t j = 0; j < trackers.size(); ++j) {
        const Range& w = windows[c->spec().room_first_pub + j];
        result.lost += trackers[j].missing_in(w.first, w.end);
      }
    }
    const WorkerTotals& t = worker->totals();
    result.deliveries += t.deliveries;
    result.duplicated += t.duplicated;
    result.reordered += t.reordered;
    result.seq_gaps += t.seq_gaps;
    result.disconnects += t.disconnects;
    result.errors += t.errors;
    result.foreign += t.foreign;
    latency.merge(t.latency);
  }
  result.latency_samples = latency.count();
  const double quantiles[4] = {0.5, 0.9, 0.99, 0.999};
  for (int i = 0; i < 4; ++i) result.latency_us[i] = static_cast<double>(latency.percentile(quantiles[i])) / 1e3;
  result.latency_us[4] = static_cast<double>(latency.max()) / 1e3;
  return 0;
}

int run_idle(const Options& options, Result& result) {
  RunControl control;
  const auto before = process_rss_bytes(options.server_pid);
  if (!before) {
    std::fprintf(stderr, "chat-bench: error: cannot read VmRSS from /proc/%d/status\n", options.server_pid);
    return 1;
  }
  std::vector<ConnectionSpec> specs;
  // Spread over --rooms. With --rooms 1 this is the big-room layout: every
  // join is announced to the room's members, as the server chooses to.
  for (unsigned i = 0; i < options.idle; ++i) {
    specs.push_back(ConnectionSpec{options.nick_prefix + std::to_string(i),
                                   "#bench-idle-" + std::to_string(i % options.rooms), Role::kIdle});
  }
  result.connections = specs.size();
  const std::int64_t started = now_ns();
  Workers workers = start_workers(options, control, std::move(specs));
  ProgressLine progress(options, workers);
  if (!wait_joined(options, workers, control, progress)) return 1;
  const std::int64_t joined = now_ns();
  result.join_s = static_cast<double>(joined - started) / 1e9;
  // Let the server finish the presence the joins caused before looking at
  // its memory: until none has arrived for a second (at most two minutes).
  std::uint64_t seen = sum(workers, &Progress::presence_bytes);
  std::int64_t quiet_since = now_ns();
  wait_until(joined + 120'000'000'000, progress, "settling", [&] {
    const std::uint64_t now_seen = sum(workers, &Progress::presence_bytes);
    if (now_seen != seen) {
      seen = now_seen;
      quiet_since = now_ns();
    }
    return now_ns() - quiet_since >= 1'000'000'000;
  });
  result.settle_s = static_cast<double>(quiet_since - started) / 1e9;
  result.rss_before_bytes = before;
  result.rss_after_bytes = process_rss_bytes(options.server_pid);
  for (auto& worker : workers) worker->stop();
  for (const auto& worker : workers) {
    const WorkerTotals& t = worker->totals();
    result.presence_frames += t.presence_frames;
    result.presence_bytes += t.presence_bytes;
    result.join_reply_bytes += t.join_reply_bytes;
    result.disconnects += t.disconnects;
  }
  return 0;
}

}  // namespace chat::bench
