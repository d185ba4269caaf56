#include "server/ops/metrics_server.hpp"

#include <memory>
#include <sstream>

#include "server/net/listen.hpp"

namespace chat::server {

namespace {

constexpr std::size_t kMaxRequestBytes = 8192;
constexpr std::chrono::seconds kRequestTimeout{2};
constexpr std::chrono::milliseconds kAcceptBackoff{100};

// One HTTP exchange: read the request head, write the page, close.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::ip::tcp::socket socket, std::string page)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), page_(std::move(page)),
        request_(kMaxRequestBytes) {}

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
    response_ = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                std::to_string(page_.size()) + "\r\nConnection: close\r\n\r\n" + page_;
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
  std::string page_;
  asio::streambuf request_;
  std::string response_;
};

}  // namespace

MetricsServer::MetricsServer(const std::string& bind, std::uint16_t port, Source source)
    : acceptor_(listen_on(io_, bind, port)), backoff_(io_), source_(std::move(source)) {
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
    std::make_shared<Exchange>(std::move(socket), render(source_()))->start();
    accept();
  });
}

std::string MetricsServer::render(const MetricsSnapshot& m) {
  std::ostringstream out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out << "# HELP chatd_" << name << ' ' << help << "\n# TYPE chatd_" << name << ' ' << type << "\nchatd_"
        << name << ' ' << value << '\n';
  };
  metric("connections_open", "gauge", "Connections open now.", m.connections_open);
  metric("rooms", "gauge", "Rooms held now, summed over reactors.", m.rooms);
  metric("rooms_reclaimed_total", "counter", "Empty rooms dropped to make way for new ones.",
         m.rooms_reclaimed);
  metric("connections_accepted_total", "counter", "Connections accepted.", m.connections_accepted);
  metric("accept_errors_total", "counter", "accept() failures, e.g. out of file descriptors.", m.accept_errors);
  metric("frames_in_total", "counter", "Frames received from clients.", m.frames_in);
  metric("frames_out_total", "counter", "Frames queued to clients.", m.frames_out);
  metric("messages_published_total", "counter", "Room messages sequenced.", m.messages_published);
  metric("slow_consumer_disconnects_total", "counter", "Clients dropped for not reading.",
         m.slow_consumer_disconnects);
  metric("rate_limited_total", "counter", "Requests refused by the rate limiter.", m.rate_limited);
  metric("idle_timeouts_total", "counter", "Connections closed for silence.", m.idle_timeouts);
  metric("inbox_depth", "gauge", "Mail waiting in the reactors' inboxes now, summed.", m.inbox_depth);
  metric("mailbox_wakeups_total", "counter", "Eventfd wake-ups of sleeping reactors.", m.mailbox_wakeups);
  out << "# HELP chatd_errors_total Error frames sent, by code.\n# TYPE chatd_errors_total counter\n";
  for (std::size_t code = 1; code < kErrorCodes; ++code) {
    if (!v1::Error::Code_IsValid(static_cast<int>(code))) continue;
    out << "chatd_errors_total{code=\"" << v1::Error::Code_Name(static_cast<v1::Error::Code>(code)) << "\"} "
        << m.errors[code] << '\n';
  }
  return out.str();
}

}  // namespace chat::server
