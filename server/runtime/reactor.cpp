#include "server/runtime/reactor.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "common/overloaded.hpp"
#include "server/net/tcp_transport.hpp"
#include "server/net/tls_transport.hpp"

namespace chat::server {

using common::Overloaded;

Reactor::Reactor(std::uint32_t index, const ServerContext& context, Store& store, AccountService* accounts)
    : index_(index),
      context_(context),
      io_(ASIO_CONCURRENCY_HINT_UNSAFE),
      wake_(io_, ::dup(inbox_.wake_fd())),
      tick_(io_),
      stop_grace_(io_),
      tls_(context.tls),
      store_(store.open_shard(index, context.reactors)),
      fan_out_(*this),
      sequencer_(*this, *store_, fan_out_),
      cluster_port_(context.cluster != nullptr ? std::make_unique<ClusterLinkPort>(*context.cluster) : nullptr),
      cluster_sequencer_(cluster_port_ ? std::make_unique<ClusterSequencer>(*cluster_port_) : nullptr),
      rooms_(context.config, *this, *store_, fan_out_,
             cluster_sequencer_ ? static_cast<Sequencer&>(*cluster_sequencer_) : sequencer_, metrics_,
             cluster_port_.get()),
      cluster_nicks_(cluster_port_ ? std::make_unique<ClusterNickRegistry>(*cluster_port_, index) : nullptr),
      authenticator_(*this, accounts),
      nicks_(*this, cluster_nicks_ ? static_cast<NickRegistry&>(*cluster_nicks_) : nick_registry_,
             context.config.max_sessions_per_account, &authenticator_, cluster_port_.get()),
      hub_(io_, index, context.config, metrics_, *this, authenticator_, cluster_port_.get(), cluster_port_.get()) {}

Reactor::~Reactor() = default;

void Reactor::connect(std::vector<std::unique_ptr<Reactor>>& all) {
  peers_.clear();
  for (auto& r : all) {
    peers_.push_back(r.get() == this ? nullptr : std::make_unique<Inbox::Producer>(r->inbox()));
  }
}

void Reactor::run() {
  owner_.bind();
  drain_inbox();  // arms the inbox before the first sleep
  start_tick();
  io_.run();
  // Loop finished: every session is closed. Drop what is left.
  hub_.clear();
}

void Reactor::attach() {
  owner_.bind();
  drain_inbox();
}

// ------------------------------------------------------------------- mail

void Reactor::send(std::uint32_t to, Message&& m) {
  assert_owner();
  if (to != index_) {
    peers_[to]->send(std::move(m));
    return;
  }
  // Mail to this reactor skips the queue but not the order: it runs after the
  // handler that sent it returns (see router.hpp), FIFO with other local mail.
  local_.push_back(std::move(m));
  if (local_posted_) return;
  local_posted_ = true;
  asio::post(io_, [this] { run_local(); });
}

void Reactor::run_local() {
  assert_owner();
  local_posted_ = false;
  // Mail sent while this batch runs goes into local_ and is run by the next
  // round of this loop, still within this handler.
  while (!local_.empty()) {
    running_.swap(local_);
    for (Message& m : running_) dispatch(std::move(m));
    running_.clear();
  }
}

void Reactor::wait_inbox() {
  wake_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const std::error_code& ec) {
    if (ec) return;
    inbox_.clear_wake();
    drain_inbox();
  });
}

void Reactor::drain_inbox() {
  assert_owner();
  const std::size_t batch = context_.config.mailbox_batch;
  const std::size_t n = inbox_.drain(batch, [this](Message&& m) { dispatch(std::move(m)); });
  if (stopping_ && barriers_[3] == context_.reactors) return;  // loop is winding down
  if (n == batch || !inbox_.arm()) {
    // More waiting: come back after the sockets have had their turn.
    asio::post(io_, [this] { drain_inbox(); });
  } else {
    wait_inbox();
  }
}

// Each message to the actor that handles it.
void Reactor::dispatch(Message&& m) {
  std::visit(Overloaded{
                 [this](msg::Join&& j) { rooms_.on(std::move(j)); },
                 [this](msg::Leave&& l) { rooms_.on(std::move(l)); },
                 [this](msg::Publish&& p) { rooms_.on(std::move(p)); },
                 [this](msg::Rename&& r) { rooms_.on(std::move(r)); },
                 [this](msg::RoomQuery&& q) { rooms_.on(std::move(q)); },
                 [this](msg::Moderate&& md) { rooms_.on(std::move(md)); },
                 [this](msg::ClusterReady&& c) { rooms_.on(std::move(c)); },
                 [this](msg::ClusterDeliver&& c) { rooms_.on(std::move(c)); },
                 [this](msg::ClusterRange&& c) { rooms_.on(std::move(c)); },
                 [this](msg::ClusterPresence&& c) { rooms_.on(std::move(c)); },
                 [this](msg::ClusterTopic&& c) { rooms_.on(std::move(c)); },
                 [this](msg::NickLeased&& l) {
                   if (cluster_nicks_) cluster_nicks_->on(l);
                 },
                 [this](msg::Durable&& d) {
                   rooms_.on(std::move(d));
                   if (stopping_) maybe_finish_delivery();
                 },
                 [this](msg::Retained&& r) { rooms_.on(std::move(r)); },
                 [this](msg::StoreHealth&& h) { rooms_.on(h); },
                 [this](msg::ClaimNick&& c) { nicks_.on(std::move(c)); },
                 [this](msg::ReleaseNick&& r) { nicks_.on(std::move(r)); },
                 [this](msg::RouteDirect&& d) { nicks_.on(std::move(d)); },
                 [this](msg::Registration&& r) { nicks_.on(std::move(r)); },
                 [this](msg::NotifyNick&& n) { nicks_.on(std::move(n)); },
                 [this](msg::Authenticate&& a) { authenticator_.authenticate(std::move(a)); },
                 [this](msg::Deliver&& d) { hub_.on(std::move(d)); },
                 [this](msg::Joined&& j) { hub_.on(std::move(j)); },
                 [this](msg::JoinRefused&& j) { hub_.on(std::move(j)); },
                 [this](msg::Removed&& r) { hub_.on(r); },
                 [this](msg::Authenticated&& a) { hub_.on(std::move(a)); },
                 [this](msg::NickClaimed&& c) { hub_.on(std::move(c)); },
                 [this](msg::AccountChanged&& a) { hub_.on(std::move(a)); },
                 [this](msg::Regained&& r) { hub_.on(r); },
                 [this](msg::DeliverDirect&& d) { hub_.on(std::move(d)); },
                 [this](msg::StoredDirects&& d) { hub_.on(std::move(d)); },
                 [this](msg::ToSession&& t) { hub_.on(std::move(t)); },
                 [this](msg::RoomList&& l) { hub_.on(std::move(l)); },
                 [this](auto&& own) { on(std::forward<decltype(own)>(own)); },
             },
             std::move(m));
}

void Reactor::on(msg::Adopt&& m) {
  if (stopping_) {
    ::close(m.fd);
    hub_.note_closed(m.session);
    return;
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(m.fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto protocol = addr.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4();
  asio::ip::tcp::socket socket(io_);
  std::error_code ec;
  socket.assign(protocol, m.fd, ec);
  if (ec) {
    ::close(m.fd);
    hub_.note_closed(m.session);
    return;
  }
  // The kernel's share of a client's unsent bytes is bounded too (the
  // kernel doubles the value); a failure leaves the kernel's default.
  if (const std::size_t sndbuf = context_.config.send_buffer_bytes; sndbuf > 0) {
    socket.set_option(asio::socket_base::send_buffer_size(static_cast<int>(sndbuf)), ec);
  }
  std::unique_ptr<Transport> transport;
  if (m.tls && tls_) {
    transport = std::make_unique<TlsTransport>(std::move(socket), context_.config.tcp_user_timeout_ms, tls_,
                                               context_.plaintext_refusal, metrics_);
  } else {
    transport = std::make_unique<TcpTransport>(std::move(socket), context_.config.tcp_user_timeout_ms);
  }
  hub_.adopt(std::move(transport), context_.welcome, m.session);
}

void Reactor::on(msg::ListRooms&& m) {
  msg::RoomList list{m.query_id, {}, false};
  list.rooms = rooms_.list(m.cursor, m.limit, list.more, cluster_port_ ? &list.hidden : nullptr);
  send(m.reply_to, std::move(list));
}

// ---------------------------------------------------------------- ticking

void Reactor::start_tick() {
  // The idle timeout and the login deadline are both checked on the tick.
  const auto idle =
      std::chrono::milliseconds(std::min(context_.config.idle_timeout_ms, context_.config.login_timeout_ms));
  // At most 250 ms, so a big room's PresenceDelta goes 1 to 1.25 s after its last.
  const auto period = std::clamp<std::chrono::milliseconds>(idle / 8, std::chrono::milliseconds(10),
                                                             std::chrono::milliseconds(250));
  tick_.expires_after(period);
  tick_.async_wait([this](const std::error_code& ec) {
    if (ec || stopping_) return;
    hub_.check_idle();
    rooms_.flush_presence(now_ms());
    const HistoryStore::MemoryUse use = store_->memory_use();
    ReactorMetrics::set(metrics_.history_bytes, use.bytes);
    ReactorMetrics::set(metrics_.history_trimmed, use.trimmed);
    start_tick();
  });
}

// --------------------------------------------------------------- shutdown
//
// Stop reaches every reactor. Each stops reading requests and sends barrier
// 1 to all reactors. Mail is FIFO per producer (and local mail FIFO too), so
// once a reactor holds barrier 1 from everyone, no Publish can still reach
// it. Once it holds barrier 2 from everyone (sent after barrier 1), every
// message was sequenced; when the store has made its own rooms' messages
// durable (or the grace ran out), their Delivers are queued, and it sends
// barrier 3. Once it holds barrier 3 from everyone, every message sequenced
// anywhere has reached its sessions' outboxes: it says goodbye, flushes and
// closes them.

void Reactor::on(msg::Stop&&) {
  if (stopping_) return;
  stopping_ = true;
  tick_.cancel();
  hub_.stop_reading();
  for (std::uint32_t r = 0; r < context_.reactors; ++r) send(r, msg::Barrier{1});
}

void Reactor::on(msg::Barrier&& m) {
  if (++barriers_[m.phase] < context_.reactors) return;
  if (m.phase == 1) {
    for (std::uint32_t r = 0; r < context_.reactors; ++r) send(r, msg::Barrier{2});
  } else if (m.phase == 2) {
    awaiting_delivery_ = true;
    stop_grace_.expires_after(std::chrono::milliseconds(context_.config.shutdown_grace_ms));
    stop_grace_.async_wait([this](const std::error_code& ec) {
      if (!ec && awaiting_delivery_) finish_delivery();
    });
    maybe_finish_delivery();
  } else {
    begin_stop();
  }
}

void Reactor::maybe_finish_delivery() {
  if (awaiting_delivery_ && rooms_.all_delivered()) finish_delivery();
}

void Reactor::finish_delivery() {
  awaiting_delivery_ = false;
  stop_grace_.cancel();
  for (std::uint32_t r = 0; r < context_.reactors; ++r) send(r, msg::Barrier{3});
}

void Reactor::begin_stop() {
  v1::ServerFrame goodbye;
  goodbye.mutable_shutdown()->set_reason("server is shutting down");
  const auto grace = std::chrono::milliseconds(context_.config.shutdown_grace_ms);
  hub_.close_all(v1::Presence::REASON_SERVER_SHUTDOWN, common::make_shared_frame(goodbye), grace);
  // Nothing else will arrive that matters: stop watching the inbox, and the
  // loop ends by itself once the last session has flushed or timed out.
  std::error_code ec;
  wake_.cancel(ec);
  wake_.close(ec);
}

}  // namespace chat::server
