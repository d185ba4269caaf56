#pragma once
// A reactor: one thread running one io_context (epoll underneath) and the
// actors that live on it: its sessions (through its LocalHub) and its shard
// of the rooms and nicks. Other threads reach it only through its inbox; it
// reaches them only through their inboxes. This file is the loop: inbox and
// wake-up, local mail, the tick, and the shutdown barriers.
// Thread safety: reactor-confined, except inbox(), which any thread may send
// into through its own Producer, and metrics(), which any thread may read.

#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/mailbox.hpp"
#include "server/app/config.hpp"
#include "server/auth/authenticator.hpp"
#include "server/chat/fan_out.hpp"
#include "server/chat/nick_registry.hpp"
#include "server/chat/nick_shard.hpp"
#include "server/chat/room_shard.hpp"
#include "server/chat/router.hpp"
#include "server/chat/sequencer.hpp"
#include "server/cluster/cluster_link.hpp"
#include "server/cluster/cluster_nick_registry.hpp"
#include "server/cluster/cluster_sequencer.hpp"
#include "server/net/admission.hpp"
#include "server/ops/metrics.hpp"
#include "server/session/local_hub.hpp"
#include "server/store/history_store.hpp"

namespace chat::server {

// What every reactor shares: immutable once the server has started.
struct ServerContext {
  Config config;
  std::uint32_t reactors = 1;
  std::uint64_t epoch = 0;
  SharedFrame welcome;
  // TLS: the context at start (null without --tls-cert; SIGHUP sends each
  // reactor a new one, msg::UseTls), and the Error frame a plaintext client
  // on the TLS port gets.
  std::shared_ptr<asio::ssl::context> tls;
  SharedFrame plaintext_refusal;
  // Cluster mode (--cluster): the link to Redis; null on a single node.
  ClusterLink* cluster = nullptr;
};

class Reactor final : public Router {
 public:
  using Inbox = common::Mailbox<Message>;

  // Opens this reactor's shard of `store`. `accounts`: where logins with a
  // password go (null: none are taken).
  Reactor(std::uint32_t index, const ServerContext& context, Store& store, AccountService* accounts = nullptr);
  ~Reactor() override;

  // Before the threads start: one producer into each other reactor's inbox.
  void connect(std::vector<std::unique_ptr<Reactor>>& all);
  // Before the threads start: where to tell admission that a connection it
  // admitted has logged in or closed (the acceptor's notes mailbox).
  void report_to(common::Mailbox<AdmissionNote>& notes) { hub_.report_to(notes); }
  // Before the threads start: an account this reactor's nick shard guards.
  void add_account(const std::string& name) { nicks_.add_account(name); }
  // The thread body: runs the loop until shutdown has finished.
  void run();

  // Testing and fuzzing: drive this reactor from the calling thread instead
  // of run(). attach() makes the caller the owner; poll() runs whatever is
  // ready without blocking and says how many handlers ran; adopt() takes a
  // connection as if the acceptor had handed it over.
  void attach();
  std::size_t poll() { return io_.poll(); }
  void adopt(int fd) { on(msg::Adopt{fd}); }
  void adopt(std::unique_ptr<Transport> transport) { hub_.adopt(std::move(transport), context_.welcome); }
  std::size_t session_count() const { return hub_.session_count(); }
  std::size_t nick_count() const { return nick_registry_.size(); }

  Inbox& inbox() { return inbox_; }
  const ReactorMetrics& metrics() const { return metrics_; }
  std::uint64_t mailbox_wakeups() const { return inbox_.wakeups(); }
  std::size_t inbox_depth() const { return inbox_.size_approx(); }

  // Router, on this reactor's thread only.
  std::uint32_t reactor_count() const override { return context_.reactors; }
  void send(std::uint32_t to, Message&& m) override;

 private:
  void dispatch(Message&& m);
  void wait_inbox();
  void drain_inbox();
  void run_local();
  void start_tick();

  void on(msg::Adopt&& m);
  void on(msg::DropPreLogin&& m) { hub_.drop_pre_login(m.session); }
  void on(msg::UseTls&& m) { tls_ = std::move(m.context); }
  void on(msg::ListRooms&& m);
  void on(msg::Stop&& m);
  void on(msg::Barrier&& m);
  void maybe_finish_delivery();
  void finish_delivery();
  void begin_stop();

  const std::uint32_t index_;
  const ServerContext& context_;
  asio::io_context io_;
  Inbox inbox_;
  asio::posix::stream_descriptor wake_;
  std::vector<std::unique_ptr<Inbox::Producer>> peers_;  // [r]: into reactor r's inbox
  // Mail from this reactor to itself, run after the handler that sent it.
  std::vector<Message> local_;
  std::vector<Message> running_;
  bool local_posted_ = false;
  asio::steady_timer tick_;
  asio::steady_timer stop_grace_;
  ReactorMetrics metrics_;
  std::shared_ptr<asio::ssl::context> tls_;  // for connections from the TLS port

  // The actors on this reactor, in the order they are built.
  std::unique_ptr<HistoryStore> store_;
  FanOut fan_out_;
  LocalSequencer sequencer_;
  // Cluster mode: the room owners' way to the link, and the sequencer
  // that hands says to it (null on a single node).
  std::unique_ptr<ClusterLinkPort> cluster_port_;
  std::unique_ptr<ClusterSequencer> cluster_sequencer_;
  RoomShard rooms_;
  LocalNickRegistry nick_registry_;
  std::unique_ptr<ClusterNickRegistry> cluster_nicks_;  // cluster mode: nicks unique across nodes
  Authenticator authenticator_;  // before nicks_, which keeps a pointer to it
  NickShard nicks_;
  LocalHub hub_;

  bool stopping_ = false;
  bool awaiting_delivery_ = false;  // between barrier 2 and barrier 3
  std::uint32_t barriers_[4] = {0, 0, 0, 0};
};

}  // namespace chat::server
