#include "server/ops/metrics_server.hpp"

#include <iomanip>
#include <memory>
#include <sstream>

#include "common/version.hpp"
#include "server/net/listen.hpp"

namespace chat::server {

namespace {

constexpr std::size_t kMaxRequestBytes = 8192;
constexpr std::chrono::seconds kRequestTimeout{2};
constexpr std::chrono::milliseconds kAcceptBackoff{100};

// One HTTP exchange: read the request head, write the answer, close.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::ip::tcp::socket socket, const MetricsServer& server)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(server), request_(kMaxRequestBytes) {}

  void start() {
    timer_.expires_after(kRequestTimeout);
    timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (!ec) self->socket_.close();
    });
    asio::async_read_until(socket_, request_, "\r\n\r\n",
                           [self = shared_from_this()](const std::error_code& ec, std::size_t) {
                             if (ec) {
                               self->timer_.cancel();
                               return;
                             }
                             self->respond();
                           });
  }

 private:
  void respond() {
    const auto head = request_.data();
    response_ = server_.respond(std::string_view(static_cast<const char*>(head.data()), head.size()));
    asio::async_write(socket_, asio::buffer(response_),
                      [self = shared_from_this()](const std::error_code&, std::size_t) {
                        std::error_code ignored;
                        self->socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                        self->socket_.close(ignored);
                        self->timer_.cancel();
                      });
  }

  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  const MetricsServer& server_;
  asio::streambuf request_;
  std::string response_;
};

std::string http_response(std::string_view status, std::string_view content_type, const std::string& body,
                          bool with_body, std::string_view extra_headers = {}) {
  std::string out = "HTTP/1.0 ";
  out += status;
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  out += "Connection: close\r\n\r\n";
  if (with_body) out += body;
  return out;
}

// "0.000025" for 25'000 ns: a decimal, as Prometheus's own clients write "le".
std::string seconds(std::int64_t ns) {
  std::string frac = std::to_string(1'000'000'000 + ns % 1'000'000'000).substr(1);
  frac.erase(frac.find_last_not_of('0') + 1);
  return std::to_string(ns / 1'000'000'000) + (frac.empty() ? "" : "." + frac);
}

void render_latency(std::ostringstream& out, const LatencySnapshot& h) {
  const char* name = "chatd_delivery_latency_seconds";
  out << "# HELP " << name
      << " From sequencing a room message to the write that sent it, per member.\n# TYPE " << name
      << " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    cumulative += h.buckets[i];
    const std::string le = i < kLatencyBoundsNs.size() ? seconds(kLatencyBoundsNs[i]) : "+Inf";
    out << name << "_bucket{le=\"" << le << "\"} " << cumulative << '\n';
  }
  out << name << "_sum " << seconds(static_cast<std::int64_t>(h.sum_ns)) << '\n';
  out << name << "_count " << cumulative << '\n';
}

void render_process(std::ostringstream& out, const ProcessMetrics& p) {
  auto metric = [&out](const char* name, const char* type, const char* help, auto value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value
        << '\n';
  };
  out << std::fixed << std::setprecision(2);
  metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", p.cpu_seconds);
  metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", p.resident_bytes);
  metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", p.virtual_bytes);
  metric("process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds);
  metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", p.max_fds);
  metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
         p.start_time_seconds);
}

// One metric's HELP, TYPE and value.
template <class T>
void emit(std::ostringstream& out, const char* name, const char* type, const char* help, T value) {
  out << "# HELP chatd_" << name << ' ' << help << "\n# TYPE chatd_" << name << ' ' << type << "\nchatd_" << name
      << ' ' << value << '\n';
}

// The durable store (zero with --store memory).
void render_store(std::ostringstream& out, const MetricsSnapshot& m) {
  emit(out, "store_commits_total", "counter", "Transactions the store committed (one per batch).", m.store_commits);
  emit(out, "store_messages_committed_total", "counter", "Messages in those commits (per commit: the batch size).",
         m.store_messages_committed);
  emit(out, "store_commit_seconds_total", "counter", "Time spent committing, summed (per commit: its latency).",
         static_cast<double>(m.store_commit_micros) / 1e6);
  emit(out, "store_errors_total", "counter", "Store commits, reads or checkpoints that failed.", m.store_errors);
  emit(out, "store_checkpoints_total", "counter",
         "WAL checkpoints run by the checkpointer thread (never inside a commit).", m.store_checkpoints);
  emit(out, "store_checkpoint_catch_ups_total", "counter",
         "Short checkpoints the store ran itself to finish one, so that the WAL can start over.",
         m.store_checkpoint_catch_ups);
  emit(out, "store_checkpoint_seconds_total", "counter", "Time spent in those checkpoints, summed.",
         static_cast<double>(m.store_checkpoint_micros) / 1e6);
  emit(out, "store_queue_depth", "gauge", "Requests waiting in the store's inbox now.", m.store_queue_depth);
}

// Cluster mode (zero on a single node).
void render_cluster(std::ostringstream& out, const MetricsSnapshot& m) {
  emit(out, "redis_roundtrips_total", "counter",
         "Cluster mode: round trips to Redis (a pipelined batch of says, a room's ready, a gap's read).",
         m.redis_roundtrips);
  emit(out, "redis_roundtrip_seconds_total", "counter", "Time those round trips took, summed.",
         static_cast<double>(m.redis_roundtrip_micros) / 1e6);
  emit(out, "redis_script_errors_total", "counter", "Says the chat_say function refused or answered wrongly.",
         m.redis_script_errors);
  emit(out, "redis_subscriptions", "gauge", "Rooms whose channel this node subscribes now.", m.redis_subscriptions);
  emit(out, "redis_reconnects_total", "counter", "Connections to Redis made again after it went away.",
         m.redis_reconnects);
  emit(out, "redis_says_refused_total", "counter",
         "Says refused STORE_UNAVAILABLE because Redis could not be reached or went away during them.",
         m.redis_says_refused);
}

// Refusals by reason (issue 12): connections, direct messages, new rooms.
void render_errors(std::ostringstream& out, const MetricsSnapshot& m) {
  out << "# HELP chatd_errors_total Error frames sent, by code.\n# TYPE chatd_errors_total counter\n";
  for (std::size_t code = 1; code < kErrorCodes; ++code) {
    if (!v1::Error::Code_IsValid(static_cast<int>(code))) continue;
    out << "chatd_errors_total{code=\"" << v1::Error::Code_Name(static_cast<v1::Error::Code>(code)) << "\"} "
        << m.errors[code] << '\n';
  }
}

void render_tls(std::ostringstream& out, const MetricsSnapshot& m) {
  auto counter = [&out](const char* name, const char* help, std::uint64_t value) {
    out << "# HELP chatd_" << name << ' ' << help << "\n# TYPE chatd_" << name << " counter\nchatd_" << name << ' '
        << value << '\n';
  };
  counter("tls_handshakes_total", "TLS handshakes completed on the TLS port.", m.tls_handshakes);
  counter("tls_handshakes_failed_total", "TLS handshakes that failed (bad client hello, no shared cipher).",
          m.tls_handshakes_failed);
  counter("tls_plaintext_refused_total", "Plaintext clients on the TLS port, sent an error and closed.",
          m.tls_plaintext_refused);
  counter("tls_reloads_total", "Certificates loaded again on SIGHUP.", m.tls_reloads);
}

void render_accounts(std::ostringstream& out, const MetricsSnapshot& m) {
  out << "# HELP chatd_logins_total Logins with a password (and password checks of change and drop), by "
         "outcome: ok, bad (no such account or wrong password), throttled (past --login-attempts, no hash "
         "made), busy (the hasher's queue was full).\n# TYPE chatd_logins_total counter\n"
      << "chatd_logins_total{outcome=\"ok\"} " << m.logins_ok << '\n'
      << "chatd_logins_total{outcome=\"bad\"} " << m.logins_failed << '\n'
      << "chatd_logins_total{outcome=\"throttled\"} " << m.logins_throttled << '\n'
      << "chatd_logins_total{outcome=\"busy\"} " << m.logins_busy << '\n';
  out << "# HELP chatd_accounts_registered_total Accounts registered since start.\n"
         "# TYPE chatd_accounts_registered_total counter\nchatd_accounts_registered_total "
      << m.accounts_registered << '\n';
  out << "# HELP chatd_directs_stored_total Direct messages kept for an offline account, to deliver at its next login.\n"
         "# TYPE chatd_directs_stored_total counter\nchatd_directs_stored_total "
      << m.directs_stored << '\n';
  out << "# HELP chatd_password_hashes_total argon2id hashes made or checked.\n"
         "# TYPE chatd_password_hashes_total counter\nchatd_password_hashes_total "
      << m.password_hashes << '\n';
}

void render_refusals(std::ostringstream& out, const MetricsSnapshot& m) {
  out << "# HELP chatd_connections_refused_total Connections turned away at accept, or dropped before login "
         "(pre_login), by reason.\n# TYPE chatd_connections_refused_total counter\n";
  for (std::size_t i = 0; i < kRefusalReasons.size(); ++i) {
    out << "chatd_connections_refused_total{reason=\"" << kRefusalReasons[i] << "\"} " << m.connections_refused[i]
        << '\n';
  }
  // Direct messages and room slots.
  out << "# HELP chatd_directs_refused_total Direct messages refused with TARGET_BUSY, by reason.\n"
         "# TYPE chatd_directs_refused_total counter\n"
      << "chatd_directs_refused_total{reason=\"rate\"} " << m.directs_refused_rate << '\n'
      << "chatd_directs_refused_total{reason=\"backlog\"} " << m.directs_refused_backlog << '\n';
  out << "# HELP chatd_room_creations_refused_total New rooms refused, by the limit that refused them.\n"
         "# TYPE chatd_room_creations_refused_total counter\n"
      << "chatd_room_creations_refused_total{reason=\"connection_rate\"} " << m.room_creations_refused_connection
      << '\n'
      << "chatd_room_creations_refused_total{reason=\"address_rate\"} " << m.room_creations_refused_address << '\n'
      << "chatd_room_creations_refused_total{reason=\"address_held\"} " << m.room_creations_refused_held << '\n';
}

}  // namespace

MetricsServer::MetricsServer(const std::string& bind, std::uint16_t port, Source source)
    : acceptor_(listen_on(io_, bind, port, "the metrics listener (--metrics)")), backoff_(io_), source_(std::move(source)) {
  endpoint_ = acceptor_.local_endpoint();
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::start() {
  accept();
  thread_ = std::thread([this] { io_.run(); });
}

void MetricsServer::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    std::error_code ec;
    acceptor_.close(ec);
    backoff_.cancel();
  });
  io_.stop();
  thread_.join();
}

void MetricsServer::accept() {
  acceptor_.async_accept([this](const std::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors, most likely: retrying at once would spin.
      backoff_.expires_after(kAcceptBackoff);
      backoff_.async_wait([this](const std::error_code& wait_ec) {
        if (!wait_ec) accept();
      });
      return;
    }
    std::make_shared<Exchange>(std::move(socket), *this)->start();
    accept();
  });
}

std::string MetricsServer::respond(std::string_view request_head) const {
  // The request line: METHOD SP TARGET SP VERSION.
  const std::string_view line = request_head.substr(0, request_head.find("\r\n"));
  const auto sp1 = line.find(' ');
  const auto sp2 = line.find(' ', sp1 == std::string_view::npos ? sp1 : sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
    return http_response("400 Bad Request", "text/plain", "bad request line\n", true);
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  path = path.substr(0, path.find('?'));
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    return http_response("405 Method Not Allowed", "text/plain", "only GET and HEAD\n", true,
                         "Allow: GET, HEAD\r\n");
  }
  if (path == "/metrics") {
    return http_response("200 OK", "text/plain; version=0.0.4; charset=utf-8",
                         render(source_(), read_process_metrics()), !head);
  }
  if (path == "/healthz") return http_response("200 OK", "text/plain", "ok\n", !head);
  return http_response("404 Not Found", "text/plain", "not found: try /metrics or /healthz\n", !head);
}

std::string MetricsServer::render(const MetricsSnapshot& m, const std::optional<ProcessMetrics>& process) {
  std::ostringstream out;
  auto metric = [&out](const char* name, const char* type, const char* help, auto value) {
    out << "# HELP chatd_" << name << ' ' << help << "\n# TYPE chatd_" << name << ' ' << type << "\nchatd_"
        << name << ' ' << value << '\n';
  };
  metric("connections_open", "gauge", "Connections open now.", m.connections_open);
  metric("rooms", "gauge", "Rooms held now, summed over reactors.", m.rooms);
  metric("rooms_reclaimed_total", "counter", "Empty rooms dropped to make way for new ones.",
         m.rooms_reclaimed);
  metric("history_memory_bytes", "gauge", "Bytes of room messages held in memory (see --history-memory).",
         m.history_bytes);
  metric("history_trimmed_total", "counter", "Messages dropped from memory to stay within --history-memory.",
         m.history_trimmed);
  metric("connections_accepted_total", "counter", "Connections accepted.", m.connections_accepted);
  metric("accept_errors_total", "counter", "accept() failures, e.g. out of file descriptors.", m.accept_errors);
  metric("accept_pauses_total", "counter",
         "Times accepting paused because the refusal budget (--max-refusals-per-second) ran out.", m.accept_pauses);
  metric("frames_in_total", "counter", "Frames received from clients.", m.frames_in);
  metric("frames_out_total", "counter", "Frames queued to clients.", m.frames_out);
  metric("messages_published_total", "counter", "Room messages sequenced.", m.messages_published);
  metric("slow_consumer_disconnects_total", "counter", "Clients dropped for not reading.",
         m.slow_consumer_disconnects);
  metric("rate_limited_total", "counter",
         "RATE_LIMITED sent: a connection's reading stalled, or a rename or topic change refused.", m.rate_limited);
  out << "# HELP chatd_rate_limited_by_total RATE_LIMITED sent, by the limit.\n"
         "# TYPE chatd_rate_limited_by_total counter\n";
  for (std::size_t i = 0; i < kRateLimitNames.size(); ++i) {
    out << "chatd_rate_limited_by_total{limit=\"" << kRateLimitNames[i] << "\"} " << m.rate_limited_by[i] << '\n';
  }
  metric("idle_timeouts_total", "counter", "Connections closed for silence.", m.idle_timeouts);
  metric("inbox_depth", "gauge", "Mail waiting in the reactors' inboxes now, summed.", m.inbox_depth);
  metric("mailbox_wakeups_total", "counter", "Eventfd wake-ups of sleeping reactors.", m.mailbox_wakeups);
  render_store(out, m);
  render_cluster(out, m);
  render_errors(out, m);
  render_refusals(out, m);
  render_tls(out, m);
  render_accounts(out, m);
  out << "# HELP chatd_build_info The version chatd was built from.\n# TYPE chatd_build_info gauge\n"
      << "chatd_build_info{version=\"" << common::kVersion << "\"} 1\n";
  render_latency(out, m.delivery_latency);
  if (process) render_process(out, *process);
  return out.str();
}

}  // namespace chat::server
