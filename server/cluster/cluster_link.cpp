#include "server/cluster/cluster_link.hpp"

#include <poll.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <spdlog/spdlog.h>

#include "common/overloaded.hpp"
#include "common/random_id.hpp"
#include "server/chat/frames.hpp"
#include "server/chat/router.hpp"

namespace chat::server {

namespace {
constexpr auto kMaxBackoff = std::chrono::seconds(5);
constexpr auto kPingEvery = std::chrono::seconds(5);
constexpr std::size_t kBatch = 256;
// How long a say whose answer was lost with Redis waits for Redis to come
// back before its sender is told to send it again (less than a client's
// patience for an answer: chat and the test client wait 10 s).
constexpr auto kInDoubtFor = std::chrono::seconds(8);

}  // namespace

ClusterLink::ClusterLink(Options options)
    : options_(std::move(options)), node_channel_(cluster::keys::node_channel(options_.node)) {
  cmd_ = std::make_unique<redis::Conn>(options_.endpoint, options_.password, options_.timeout);
  const redis::Reply loaded = cmd_->command(cluster::load_command());
  if (redis::is_error(loaded.get())) {
    throw redis::Error("Redis at " + options_.endpoint.str() + " refused the chat function: " + redis::text(loaded.get()));
  }
  sub_ = std::make_unique<redis::Conn>(options_.endpoint, options_.password, options_.timeout);
  // What an earlier run of this node held is gone with its sessions.
  const redis::Reply started = cmd_->command(cluster::alive_command(options_.node, cluster::Beat::kStart));
  if (redis::is_error(started.get())) throw redis::Error(redis::text(started.get()));
  sub_->append({"SUBSCRIBE", node_channel_});  // DMs for nicks held here
  sub_->flush();
  sub_heard_ = Clock::now();
  next_ping_ = sub_heard_ + kPingEvery;
  // The cluster's epoch: the first node's, or this one's random id.
  cmd_->command({"SET", cluster::keys::kEpoch, std::to_string(common::random_id()), "NX"});
  const redis::Reply epoch = cmd_->command({"GET", cluster::keys::kEpoch});
  const std::string text = redis::text(epoch.get());
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), epoch_);
  if (ec != std::errc() || end != text.data() + text.size() || epoch_ == 0) {
    throw redis::Error("Redis at " + options_.endpoint.str() + " has a chat:epoch that is not one: " + text);
  }
}

ClusterLink::~ClusterLink() { stop(); }

void ClusterLink::start(const std::vector<common::Mailbox<Message>*>& reactors) {
  for (auto* inbox : reactors) reactors_.push_back(std::make_unique<common::Mailbox<Message>::Producer>(*inbox));
  thread_ = std::thread([this] { run(); });
}

void ClusterLink::stop() {
  if (!thread_.joinable()) return;
  // A clean stop gives this node's nicks back at once (the thread gives
  // them up after the Stop).
  Mail::Producer(mail_).send(link_mail::Stop{});
  thread_.join();
}

void ClusterLink::run() {
  bool stopping = false;
  std::vector<link_mail::Say> says;
  std::vector<link_mail::Member> changes;
  std::vector<link_mail::ReadRange> ranges;
  // Says and members' changes each go as one pipeline, in their order: a
  // joiner's join is published before its first say.
  auto flush_says = [&] {
    settle_in_doubt(says);
    if (!says.empty()) handle(says);
    says.clear();
  };
  auto flush_changes = [&] {
    if (!changes.empty()) handle(changes);
    changes.clear();
  };
  auto one = [&](auto&& mail) {
    std::visit(common::Overloaded{[&](link_mail::Stop&) { stopping = true; },
                                  [&](link_mail::Say& s) {
                                    flush_changes();
                                    says.push_back(std::move(s));
                                  },
                                  [&](link_mail::Member& m) {
                                    if (!says.empty()) flush_says();
                                    changes.push_back(std::move(m));
                                  },
                                  [&](link_mail::ReadRange& r) { ranges.push_back(std::move(r)); },
                                  [&](auto& m) { handle(m); }},
               mail);
  };
  while (!stopping) {
    if (!connected() && Clock::now() >= next_attempt_) try_connect();
    const std::size_t got = mail_.drain(kBatch, one);
    flush_changes();
    flush_says();
    for (const auto& r : ranges) handle(r);
    ranges.clear();
    counters_.subscriptions.store(watched_.size(), std::memory_order_relaxed);
    on_timers();
    if (got > 0) {
      // Busy: look at the subscriber without waiting, then the inbox again.
      pollfd sub{connected() ? sub_->fd() : -1, POLLIN, 0};
      if (connected() && ::poll(&sub, 1, 0) > 0) read_subscriber();
      continue;
    }
    if (!mail_.arm()) continue;
    pollfd fds[2] = {{mail_.wake_fd(), POLLIN, 0}, {connected() ? sub_->fd() : -1, POLLIN, 0}};
    const auto until = connected() ? next_ping_ : next_attempt_;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    ::poll(fds, 2, static_cast<int>(std::clamp<long long>(wait, 0, 1000)));
    mail_.clear_wake();
    if (connected() && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) read_subscriber();
  }
  wind_down();
}

void ClusterLink::on_timers() {
  if (connected() && Clock::now() >= next_refresh_) refresh_leases();
  if (connected() && Clock::now() >= next_beat_) beat(cluster::Beat::kBeat);
  if (!connected() || Clock::now() < next_ping_) return;
  // A subscriber that stays silent past three pings is gone.
  if (Clock::now() - sub_heard_ > 3 * kPingEvery) {
    drop("the subscriber connection went silent");
    return;
  }
  try {
    sub_->append({"PING"});
    sub_->flush();
  } catch (const redis::Error& e) {
    drop(e.what());
  }
  next_ping_ = Clock::now() + kPingEvery;
}

void ClusterLink::wind_down() {
  for (const InDoubt& d : in_doubt_) refuse(d.say, "the server is stopping; it may not have been said");
  // Stopping: this node's nicks are free at once, not when their leases
  // end, and its members gone from every room.
  if (!connected()) return;
  try {
    for (const auto& folded : leased_) cmd_->append(cluster::unlease_command(folded, options_.node));
    cmd_->append(cluster::alive_command(options_.node, cluster::Beat::kStop));
    for (std::size_t i = 0; i < leased_.size() + 1; ++i) cmd_->next_reply();
  } catch (const redis::Error& e) {
    spdlog::warn("cluster: could not give the nicks and members back: {}", e.what());
  }
}

// ------------------------------------------------------------ connections

void ClusterLink::try_connect() {
  try {
    cmd_ = std::make_unique<redis::Conn>(options_.endpoint, options_.password, options_.timeout);
    const redis::Reply loaded = cmd_->command(cluster::load_command());
    if (redis::is_error(loaded.get())) throw redis::Error(redis::text(loaded.get()));
    // Redis may have come back empty: the cluster keeps this node's epoch
    // (its clients' seqs are checked by the rooms' incarnations).
    cmd_->command({"SET", cluster::keys::kEpoch, std::to_string(epoch_), "NX"});
    sub_ = std::make_unique<redis::Conn>(options_.endpoint, options_.password, options_.timeout);
    std::vector<std::string> argv = {"SUBSCRIBE", node_channel_};
    for (const auto& [room, tail] : watched_) {
      argv.push_back(cluster::keys::channel(room));
      awaiting_confirmation_.insert(room);
    }
    sub_->append(argv);
    sub_->flush();
    sub_heard_ = Clock::now();
    next_ping_ = sub_heard_ + kPingEvery;
    // Alive again before any other node forgets this one; the members of
    // each watched room are set right when it is ready again.
    beat(cluster::Beat::kBeat);
    forget_unwatched();
    if (!connected()) return;
    backoff_ = std::chrono::milliseconds(100);
    counters_.reconnects.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("cluster: connected to Redis at {} again; {} rooms subscribed again", options_.endpoint.str(),
                 watched_.size());
  } catch (const redis::Error& e) {
    cmd_.reset();
    sub_.reset();
    next_attempt_ = Clock::now() + backoff_;
    backoff_ = std::min<Clock::duration>(backoff_ * 2, kMaxBackoff);
    spdlog::debug("cluster: Redis at {}: {}", options_.endpoint.str(), e.what());
  }
}

void ClusterLink::drop(const std::string& why) {
  if (connected()) spdlog::warn("cluster: lost Redis at {}: {}; trying again", options_.endpoint.str(), why);
  cmd_.reset();
  sub_.reset();
  awaiting_confirmation_.clear();
  next_attempt_ = Clock::now() + backoff_;
}

// ------------------------------------------------------------------- says

void ClusterLink::timed(Clock::time_point started) {
  counters_.roundtrips.fetch_add(1, std::memory_order_relaxed);
  counters_.roundtrip_micros.fetch_add(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count()),
      std::memory_order_relaxed);
}

void ClusterLink::add_metrics(MetricsSnapshot& out) const {
  auto get = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  out.redis_roundtrips += get(counters_.roundtrips);
  out.redis_roundtrip_micros += get(counters_.roundtrip_micros);
  out.redis_script_errors += get(counters_.script_errors);
  out.redis_subscriptions += get(counters_.subscriptions);
  out.redis_reconnects += get(counters_.reconnects);
  out.redis_says_refused += get(counters_.refused);
}

void ClusterLink::refuse(const link_mail::Say& s, const std::string& why) {
  counters_.refused.fetch_add(1, std::memory_order_relaxed);
  answer_session(s.session, error_frame(v1::Error::CODE_STORE_UNAVAILABLE, why, s.request_id, kRetryAfterMs),
                 v1::Error::CODE_STORE_UNAVAILABLE);
}

void ClusterLink::answer_session(SessionId session, const SharedFrame& frame, v1::Error::Code code, bool page) {
  const auto reactor = reactor_of(session);
  if (reactor < reactors_.size()) reactors_[reactor]->send(msg::ToSession{session, frame, code, page});
}

void ClusterLink::handle(std::vector<link_mail::Say>& says) {
  if (!connected()) {
    for (const auto& s : says) refuse(s, "the cluster's Redis cannot be reached now; send it again later");
    return;
  }
  std::size_t answered = 0;
  const auto started = Clock::now();
  try {
    // One round trip for the batch.
    for (const auto& s : says) {
      // A room Redis has no epoch for lost its state there (a watch makes
      // one): a new numbering, under an epoch no node has seen.
      cmd_->append(cluster::say_command(s.say, options_.limits, common::random_id()));
    }
    for (; answered < says.size(); ++answered) {
      const redis::Reply reply = cmd_->next_reply();
      const link_mail::Say& s = says[answered];
      const auto said = cluster::parse_said(reply.get());
      if (answered == 0) timed(started);
      if (!said) {
        counters_.script_errors.fetch_add(1, std::memory_order_relaxed);
        spdlog::error("cluster: a say to {} failed: {}", s.say.room, redis::text(reply.get()));
        refuse(s, "the cluster's Redis refused the message");
        continue;
      }
      // Numbered now, or by an earlier try of this very say (its answer
      // lost with Redis): the sender's own copy comes with everyone's, on
      // the channel or in the repair of what the channel lost.
      if (said->fresh || said->origin == s.say.origin) continue;
      // The same say again: its sender gets the original's number once more.
      v1::ServerFrame frame;
      frame.set_request_id(s.request_id);
      auto* m = frame.mutable_message();
      m->set_room(s.say.room);
      m->set_sender(s.say.sender);
      m->set_text(s.say.text);
      m->set_seq(said->seq);
      m->set_timestamp_ms(said->timestamp_ms);
      m->set_client_msg_id(s.say.client_msg_id);
      answer_session(s.session, common::make_shared_frame(frame), v1::Error::CODE_UNSPECIFIED);
    }
  } catch (const redis::Error& e) {
    // Whether the rest were numbered is not known. A named say is held and
    // sent again, under its own origin, once Redis is back: numbered or
    // not, its sender then hears of it once. An unnamed one cannot be sent
    // twice safely: its sender hears that it may not have been said.
    const auto until = Clock::now() + kInDoubtFor;
    for (std::size_t i = answered; i < says.size(); ++i) {
      if (says[i].say.client_msg_id != 0) {
        in_doubt_.push_back(InDoubt{std::move(says[i]), until});
      } else {
        refuse(says[i], "the cluster's Redis went away; it may not have been said");
      }
    }
    drop(e.what());
  }
}

void ClusterLink::settle_in_doubt(std::vector<link_mail::Say>& says) {
  if (in_doubt_.empty()) return;
  if (connected()) {
    // First, before anything said since.
    std::vector<link_mail::Say> again;
    for (InDoubt& d : in_doubt_) again.push_back(std::move(d.say));
    in_doubt_.clear();
    std::move(says.begin(), says.end(), std::back_inserter(again));
    says = std::move(again);
    return;
  }
  const auto now = Clock::now();
  std::erase_if(in_doubt_, [&](const InDoubt& d) {
    if (d.until > now) return false;
    refuse(d.say, "the cluster's Redis has been away too long; send it again with the same client_msg_id");
    return true;
  });
}

void ClusterLink::read_subscriber() {
  try {
    sub_->read_available();
    sub_heard_ = Clock::now();
    while (redis::Reply reply = sub_->ready_reply()) {
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) continue;
      const std::string kind = redis::text(reply->element[0]);
      const std::string channel = redis::text(reply->element[1]);
      if (channel == node_channel_) {
        if (kind == "message" && reply->elements == 3) on_node_message(redis::text(reply->element[2]));
        continue;
      }
      const std::string room = channel_room(channel);
      if (kind == "message" && reply->elements == 3) {
        if (watched_.contains(room)) on_room_message(room, redis::text(reply->element[2]));
      } else if (kind == "subscribe" && awaiting_confirmation_.erase(room) > 0) {
        // From here on every say to the room reaches us: what was said
        // before is read now, and the owner merges the two by seq.
        ready(room);
        if (!connected()) return;
      }
    }
  } catch (const redis::Error& e) {
    drop(e.what());
  }
}

// ---------------------------------------------------------------- helpers

std::string ClusterLink::channel_room(const std::string& channel) const {
  // chat:{ROOM}:says
  const auto open = channel.find('{');
  const auto close = channel.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return {};
  return channel.substr(open + 1, close - open - 1);
}

void ClusterLink::to_owner(const std::string& room, Message&& m) {
  if (reactors_.empty()) return;
  reactors_[Router::room_owner(room, static_cast<std::uint32_t>(reactors_.size()))]->send(std::move(m));
}

}  // namespace chat::server
