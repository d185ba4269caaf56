#pragma once
// chat-bench's engine: worker threads, each one asio::io_context driving raw
// TCP connections to the server, and the main thread that runs the phases
// (connect and join, warm up, measure, drain) and adds up the results.
//
// A connection is a subscriber, a publisher or an idle member of one room.
// Publishers send `say` frames whose text carries a payload.hpp header; every
// room message a connection receives is decoded straight out of a per-thread
// read buffer, and whatever a connection has to send in one turn leaves in one
// write. Nothing here uses the client library's Client: it is built for
// correctness, this for not being the bottleneck.

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chat/v1/chat.pb.h"
#include "client/bench/options.hpp"
#include "client/bench/report.hpp"
#include "client/bench/stats.hpp"
#include "client/bench/wire.hpp"
#include "common/framing.hpp"
#include "common/tls_stream.hpp"

namespace chat::bench {

inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

// steady_clock (CLOCK_MONOTONIC) in nanoseconds: the clock of payload.hpp.
std::int64_t now_ns();

// What the main thread and the workers share while a run is on.
// Thread safety: safe from any thread.
class RunControl {
 public:
  // The measured window [start, end) in now_ns() time; kNever until the main
  // thread sets it (release), which pairs with window_*()'s acquire loads.
  void set_window(std::int64_t start_ns, std::int64_t end_ns);
  std::int64_t window_start() const { return window_start_ns_.load(std::memory_order_acquire); }
  std::int64_t window_end() const { return window_end_ns_.load(std::memory_order_acquire); }

  // A connection could not be set up, or the server refused something we
  // cannot go on without. Keeps the first reason.
  void fail(const std::string& reason);
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  std::string failure() const;

  // The server answered a say with RATE_LIMITED.
  void note_rate_limited() { rate_limited_.store(true, std::memory_order_relaxed); }
  bool rate_limited() const { return rate_limited_.load(std::memory_order_relaxed); }

  // The server's announced per-connection rate limit (Welcome.limits), 0: none.
  std::atomic<std::uint32_t> server_rate_per_sec{0};

 private:
  std::atomic<std::int64_t> window_start_ns_{kNever};
  std::atomic<std::int64_t> window_end_ns_{kNever};
  std::atomic<bool> rate_limited_{false};
  std::atomic<bool> failed_{false};
  mutable std::mutex failure_mu_;  // cold path only: guards failure_
  std::string failure_;
};

enum class Role { kSubscriber, kPublisher, kIdle };

// Who a connection is. Thread safety: immutable after construction.
struct ConnectionSpec {
  std::string nick;
  std::string room;
  Role role = Role::kSubscriber;
  std::uint32_t pub_id = 0;        // a publisher's own id: index over the whole run
  std::uint32_t room_first_pub = 0;  // the id of the room's first publisher
  unsigned room_pubs = 0;
  unsigned room_subs = 0;
  std::uint32_t server = 0;  // which of --port and --also-port it connects to
};

// Counters a worker keeps for the final report.
// Thread safety: written by its worker thread only; read after it joined.
struct WorkerTotals {
  std::uint64_t deliveries = 0;  // room messages received inside the window
  std::uint64_t duplicated = 0;
  std::uint64_t reordered = 0;
  std::uint64_t seq_gaps = 0;
  std::uint64_t disconnects = 0;
  std::uint64_t errors = 0;
  std::uint64_t foreign = 0;
  // Frames other than room messages and pings after a connection's join
  // reply (presence, in whatever form the server sends it), and the join
  // replies themselves: what a join costs the room besides the messages.
  std::uint64_t presence_frames = 0;
  std::uint64_t presence_bytes = 0;
  std::uint64_t join_reply_bytes = 0;
  LatencyHistogram latency;  // subscribers, messages sent inside the window
};

// Running counts the main thread reads for the progress line and the drain.
// Thread safety: one writer (the worker, relaxed stores once per turn), any
// reader (relaxed loads: the numbers are only ever approximately current).
struct Progress {
  std::atomic<std::uint64_t> joined{0};
  std::atomic<std::uint64_t> received{0};        // room messages, any time
  std::atomic<std::uint64_t> published{0};       // says sent, any time
  std::atomic<std::uint64_t> presence_bytes{0};  // WorkerTotals::presence_bytes
  std::atomic<std::uint64_t> window_expected{0};  // subscriber deliveries owed for window messages
  std::atomic<std::uint64_t> window_received{0};  // ... and the ones that arrived
  // Publishers past the window end: their window_expected is final. Stored
  // last, with release, pairing with the drain check's acquire load.
  std::atomic<std::uint64_t> publishers_done{0};
};

class Worker;

// One connection to the server. Thread safety: confined to its worker's thread.
class Connection {
 public:
  Connection(Worker& worker, ConnectionSpec spec);

  void connect(const asio::ip::tcp::endpoint& server);
  // Begins publishing (publishers only); called on the worker thread.
  void start_publishing(std::int64_t start_ns);

  const ConnectionSpec& spec() const { return spec_; }
  // For the report, after the worker joined.
  std::uint64_t window_first_counter() const { return window_first_counter_; }
  std::uint64_t window_end_counter() const { return window_end_counter_; }
  const std::vector<CounterTracker>& trackers() const { return trackers_; }

 private:
  void on_connected(const std::error_code& ec);
  void wait_readable();
  void read_later();
  void on_readable(const std::error_code& ec);
  // One frame's payload; false to stop decoding (the connection failed).
  bool on_frame(std::string_view payload);
  void on_message(const RoomMessageView& message);
  void on_error(const v1::Error& error, std::uint64_t request_id);
  void publish();
  void schedule_tick();
  template <class Message>
  void queue(const Message& message);
  void flush();
  // With --tls: writes writing_ from written_ on, waiting as TLS needs.
  void write_tls();
  std::size_t read_some(std::vector<char>& buffer, std::error_code& ec);
  void fail(const std::string& reason);

  Worker& worker_;
  const ConnectionSpec spec_;
  asio::ip::tcp::socket socket_;
  std::unique_ptr<common::TlsStream> tls_;  // with --tls, over socket_
  std::size_t written_ = 0;                 // of writing_, with --tls
  common::FrameDecoder decoder_{16u << 20};
  std::string out_;      // frames queued this turn
  std::string writing_;  // frames the socket is sending
  bool write_pending_ = false;
  bool open_ = false;
  bool joined_ = false;
  std::uint64_t last_seq_ = 0;

  // Publisher.
  std::unique_ptr<asio::steady_timer> timer_;  // rate mode only
  v1::ClientFrame say_;
  bool publishing_ = false;
  std::int64_t publish_start_ns_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t echoed_ = 0;
  // client_msg_id of the first say: from the clock, so no two runs share one.
  const std::uint64_t first_msg_id_ = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count()) << 16;
  bool tick_pending_ = false;
  // The counters [first, end) were sent inside the measured window.
  std::uint64_t window_first_counter_ = 0;
  std::uint64_t window_end_counter_ = 0;
  bool window_started_ = false;

  // Subscriber: one tracker per publisher of the room.
  std::vector<CounterTracker> trackers_;
};

// One thread running one io_context and the connections assigned to it.
// Thread safety: add() and start() from the main thread before the thread
// runs; start_publishing() and stop() from any thread; totals() and
// connections() only after stop(). Everything else is worker-thread only.
class Worker {
 public:
  Worker(const Options& options, RunControl& control, std::vector<asio::ip::tcp::endpoint> servers);
  ~Worker();

  void add(ConnectionSpec spec);
  void start();
  void start_publishing(std::int64_t start_ns);
  // Stops the loop and joins the thread; the sockets close with the worker.
  void stop();

  const Progress& progress() const { return progress_; }
  const WorkerTotals& totals() const { return totals_; }
  const std::vector<std::unique_ptr<Connection>>& connections() const { return connections_; }

 private:
  friend class Connection;
  // Keeps at most kConnectsInFlight connects outstanding, so a big run does
  // not overflow the server's listen backlog.
  void connect_more();
  void on_connect_done();
  // Once per turn: the window bounds, and the progress counters for the main thread.
  void refresh_window();
  void publish_progress();

  static constexpr unsigned kConnectsInFlight = 128;

  const Options& options_;
  RunControl& control_;
  const std::vector<asio::ip::tcp::endpoint> servers_;  // ConnectionSpec::server indexes it
  asio::io_context io_{1};  // declared first: destroyed after the sockets
  std::vector<std::unique_ptr<Connection>> connections_;
  std::thread thread_;

  std::size_t next_to_connect_ = 0;
  unsigned connecting_ = 0;
  std::vector<char> read_buffer_ = std::vector<char>(256 * 1024);
  v1::ServerFrame frame_scratch_;
  std::int64_t read_ns_ = 0;  // when the bytes being decoded were read
  std::int64_t window_start_ = kNever;
  std::int64_t window_end_ = kNever;

  // Plain counters, mirrored into progress_ by publish_progress().
  std::uint64_t joined_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t published_ = 0;
  std::uint64_t window_expected_ = 0;
  std::uint64_t window_received_ = 0;
  std::uint64_t publishers_done_ = 0;
  Progress progress_;
  WorkerTotals totals_;
};

// Runs the publish/subscribe benchmark; fills `result`. Returns the process
// exit code: 0, or non-zero after printing why on stderr.
int run_pubsub(const Options& options, Result& result);

// Runs the idle-connection memory measurement.
int run_idle(const Options& options, Result& result);

// --logins (logins.cpp): --threads threads log in to accounts of their own
// with a password, over and over; logins a second and their latency.
int run_logins(const Options& options, Result& result);

}  // namespace chat::bench
