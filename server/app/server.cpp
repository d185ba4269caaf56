#include "server/app/server.hpp"

#include <sys/resource.h>

#include <spdlog/spdlog.h>

#include <asio/ssl/context.hpp>

#include "common/random_id.hpp"
#include "common/tls_context.hpp"
#include "common/version.hpp"
#include "server/chat/frames.hpp"
#include "server/store/memory_store.hpp"
#include "server/store/sqlite_accounts.hpp"
#include "server/store/sqlite_store.hpp"

namespace chat::server {

namespace {

SharedFrame welcome_frame(const Config& c, std::uint64_t epoch) {
  v1::ServerFrame frame;
  auto* welcome = frame.mutable_welcome();
  welcome->set_server("chatd/" + std::string(common::kVersion));
  welcome->set_epoch(epoch);
  auto* limits = welcome->mutable_limits();
  limits->set_max_frame_bytes(static_cast<std::uint32_t>(c.max_frame_bytes));
  limits->set_max_body_bytes(static_cast<std::uint32_t>(c.max_body_bytes));
  limits->set_max_nick_bytes(static_cast<std::uint32_t>(c.max_nick_bytes));
  limits->set_max_room_bytes(static_cast<std::uint32_t>(c.max_room_bytes));
  limits->set_max_topic_bytes(static_cast<std::uint32_t>(c.max_topic_bytes));
  limits->set_max_history_page(static_cast<std::uint32_t>(c.max_history_page));
  limits->set_history_per_room(static_cast<std::uint32_t>(c.history_per_room));
  limits->set_rate_per_sec(static_cast<std::uint32_t>(c.rate_per_sec));  // rounded down: 1 or more
  limits->set_rate_burst(static_cast<std::uint32_t>(c.rate_burst));
  limits->set_outbox_cap_bytes(static_cast<std::uint32_t>(c.outbox_cap_bytes));
  limits->set_idle_timeout_ms(c.idle_timeout_ms);
  limits->set_max_rooms(static_cast<std::uint32_t>(c.max_rooms));
  limits->set_max_joined(static_cast<std::uint32_t>(c.max_joined));
  limits->set_login_timeout_ms(c.login_timeout_ms);
  limits->set_max_pre_login_frames(static_cast<std::uint32_t>(c.max_pre_login_frames));
  limits->set_dm_rate_per_sec(c.dm_rate_per_sec);  // issue 12: DMs and room slots
  limits->set_room_create_per_min(static_cast<std::uint32_t>(c.room_create_per_min));
  limits->set_max_reply_bytes(static_cast<std::uint32_t>(c.max_reply_bytes));
  limits->set_max_list_page(static_cast<std::uint32_t>(kMaxListPage));
  limits->set_max_who_page(static_cast<std::uint32_t>(kMaxWhoPage));  // issue 15: big rooms
  limits->set_presence_full_below(static_cast<std::uint32_t>(c.presence_full_below));
  limits->set_accounts_required(c.require_account);  // issue 13: accounts
  limits->set_max_sessions_per_account(static_cast<std::uint32_t>(c.max_sessions_per_account));
  limits->set_login_attempts_per_min(c.login_attempts_per_min);
  limits->set_min_password_bytes(static_cast<std::uint32_t>(kMinPasswordBytes));
  limits->set_max_password_bytes(static_cast<std::uint32_t>(kMaxPasswordBytes));
  limits->set_max_bans_per_room(static_cast<std::uint32_t>(c.max_bans_per_room));
  limits->set_max_stored_directs(static_cast<std::uint32_t>(c.max_stored_directs));
  limits->set_rate_bytes_per_sec(static_cast<std::uint32_t>(c.effective_rate_bytes()));
  limits->set_rate_bytes_burst(static_cast<std::uint32_t>(c.rate_bytes_burst));
  return common::make_shared_frame(frame);
}

// Admission (issue 12): raises the soft open-file limit to the hard one;
// the connection caps are derived from what it is then.
std::string raise_fd_limit(std::uint64_t& now) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    now = 1024;
    return "open files: limit unknown; assuming 1024";
  }
  const rlim_t before = limit.rlim_cur;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) limit.rlim_cur = before;
  }
  now = limit.rlim_cur;
  return "open files: soft limit " + std::to_string(limit.rlim_cur) + " (was " + std::to_string(before) +
         ", hard limit " + std::to_string(limit.rlim_max) + ")";
}

Admission::Limits admission_limits(const Config& c, std::string& summary) {
  std::uint64_t fds = 0;
  summary = raise_fd_limit(fds);
  const Admission::Limits limits{c.effective_max_connections(fds), c.max_connections_per_address, c.connect_rate,
                                 c.connect_burst, c.effective_max_pre_login(fds)};
  summary += "; admission: at most " + std::to_string(limits.total) + " connections, " +
             (limits.per_address == 0 ? std::string("any number") : std::to_string(limits.per_address)) +
             " per address, " + std::to_string(limits.pre_login) + " not logged in";
  return limits;
}

}  // namespace

Server::Server(Config config) {
  context_.config = std::move(config);
  // spdlog's level is process-wide; chatd has one server, and a test's
  // in-process server sets its own (tests/support/server_fixture.hpp).
  spdlog::set_level(spdlog::level::from_str(context_.config.log_level));
  context_.reactors = context_.config.effective_reactors();
  std::unique_ptr<AccountStore> account_store;
  if (!context_.config.cluster.empty()) {
    // Cluster mode: Redis numbers, keeps and publishes the rooms' says;
    // each node keeps only the newest of its rooms in memory, to answer
    // joins and history without a round trip.
    const std::string node = context_.config.node_id.empty() ? std::to_string(common::random_id()) : context_.config.node_id;
    cluster_ = std::make_unique<ClusterLink>(ClusterLink::Options{redis::Endpoint::parse(context_.config.cluster),
                                                                  context_.config.redis_password, node,
                                                                  cluster::SayLimits{}, std::chrono::milliseconds(2000)});
    context_.cluster = cluster_.get();
    spdlog::info("cluster: node {} on Redis at {}", node, context_.config.cluster);
    store_ = std::make_unique<MemoryStore>(context_.config.history_per_room, context_.config.history_memory);
    account_store = std::make_unique<MemoryAccountStore>();
  } else if (context_.config.store == "memory") {
    store_ = std::make_unique<MemoryStore>(context_.config.history_per_room, context_.config.history_memory);
    account_store = std::make_unique<MemoryAccountStore>();
  } else {
    auto sqlite = std::make_unique<SqliteStore>(context_.config);
    account_store = std::make_unique<SqliteAccountStore>(sqlite->database_path(), context_.config.fsync);
    store_ = std::move(sqlite);
  }
  const AccountService::Options account_options{HashCost::named(context_.config.password_cost),
                                                context_.config.max_queued_hashes,
                                                context_.config.login_attempts_per_min,
                                                context_.config.max_stored_directs};
  accounts_ = std::make_unique<AccountService>(account_options, std::move(account_store));
  context_.epoch = cluster_ ? cluster_->epoch() : store_->epoch();
  context_.welcome = welcome_frame(context_.config, context_.epoch);
  if (context_.config.tls()) {
    context_.tls = common::server_tls_context(context_.config.tls_cert, context_.config.tls_key);
    context_.plaintext_refusal =
        error_frame(v1::Error::CODE_TLS_REQUIRED, "this is a TLS port: connect with TLS (chat --tls)", 0, 0);
  }
  for (std::uint32_t i = 0; i < context_.reactors; ++i) {
    reactors_.push_back(std::make_unique<Reactor>(i, context_, *store_, accounts_.get()));
  }
  for (const std::string& name : accounts_->names()) {
    reactors_[Router::nick_owner(name, context_.reactors)]->add_account(name);
  }
  for (auto& r : reactors_) {
    r->connect(reactors_);
    control_.push_back(std::make_unique<Reactor::Inbox::Producer>(r->inbox()));
  }
  std::vector<Acceptor::Inbox*> inboxes;
  for (auto& r : reactors_) inboxes.push_back(&r->inbox());
  acceptor_ = std::make_unique<Acceptor>(context_.config, admission_limits(context_.config, admission_summary_),
                                         inboxes, notes_);
  for (auto& r : reactors_) r->report_to(notes_);
  if (!context_.config.metrics_bind.empty()) {
    metrics_ = std::make_unique<MetricsServer>(context_.config.metrics_bind, context_.config.metrics_port,
                                               [this] { return metrics(); });
  }
}

Server::~Server() { stop(); }

void Server::start() {
  std::vector<Store::Inbox*> inboxes;
  for (auto& r : reactors_) inboxes.push_back(&r->inbox());
  store_->start(inboxes);  // first: the reactors send to it from their first turn
  accounts_->start(inboxes);
  if (cluster_) cluster_->start(inboxes);
  for (auto& r : reactors_) threads_.emplace_back([reactor = r.get()] { reactor->run(); });
  acceptor_->start();
  if (metrics_) metrics_->start();
}

bool Server::reload_tls(std::string& error) {
  if (!context_.config.tls()) {
    error = "no --tls-cert to load";
    return false;
  }
  std::shared_ptr<asio::ssl::context> tls;
  try {
    tls = common::server_tls_context(context_.config.tls_cert, context_.config.tls_key);
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
  for (auto& producer : control_) producer->send(msg::UseTls{tls});
  tls_reloads_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Server::stop() {
  if (threads_.empty()) return;
  if (metrics_) metrics_->stop();
  acceptor_->stop();
  for (auto& producer : control_) producer->send(msg::Stop{});
  for (auto& t : threads_) t.join();
  threads_.clear();
  accounts_->stop();
  if (cluster_) cluster_->stop();
  store_->stop();  // last: the reactors have sent it all they will
}

MetricsSnapshot Server::metrics() const {
  MetricsSnapshot out;
  for (const auto& r : reactors_) {
    r->metrics().add_to(out);
    out.mailbox_wakeups += r->mailbox_wakeups();
    out.inbox_depth += r->inbox_depth();
  }
  out.accept_errors = acceptor_->accept_errors();
  out.accept_pauses = acceptor_->accept_pauses();
  out.tls_reloads = tls_reloads_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kRefusalReasons.size(); ++i) {
    out.connections_refused[i] = acceptor_->refused(i);
    // The acceptor sends the error itself; a pre-login drop is a session's.
    if (i + 1 != static_cast<std::size_t>(Refusal::kPreLogin)) {
      out.errors[v1::Error::CODE_TOO_MANY_CONNECTIONS] += out.connections_refused[i];
    }
  }
  store_->add_metrics(out);
  accounts_->add_metrics(out);
  if (cluster_) cluster_->add_metrics(out);
  return out;
}

}  // namespace chat::server
