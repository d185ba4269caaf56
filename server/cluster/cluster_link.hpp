#pragma once
// The cluster link (issue 11): this node's connections to Redis, an actor on
// a thread of its own with an event loop over its inbox and its subscriber
// socket, as the store and the account service are. Reactors mail it; it
// answers them by mail. No reactor ever waits on Redis.
//
//   room owner ──Say──▶ inbox ──▶ FCALL chat_say (pipelined, a batch per turn)
//   room owner ──Watch──▶ SUBSCRIBE; on the confirmation: HMGET meta, XREVRANGE tail ──▶ ClusterReady
//   Redis ──message──▶ subscriber ──▶ ClusterDeliver ──▶ the room's owner (one producer: Redis's order)
//   room owner ──ReadRange──▶ XRANGE ──▶ ClusterRange (a repair of a gap)
//   room owner ──Member──▶ FCALL chat_member (published if it changed the set)
//   Redis ──a member's change──▶ subscriber ──▶ ClusterPresence ──▶ the room's owner
//
// Two connections: commands, and the subscriber. Either failing (refused,
// reset, a timeout, or a subscriber silent past three pings) drops both;
// they are opened again with backoff (100 ms doubling to 5 s), the function
// loaded again, every watched room subscribed again and made ready again,
// so its owner repairs what it missed from the stream. Meanwhile a say is
// refused STORE_UNAVAILABLE with retry_after_ms, a watch is answered not
// ok, and reads of local state go on. A named say in flight when Redis
// went away (numbered or not: its answer is lost) is held up to 8 s and
// sent again when Redis is back, so its sender hears of it once.
// Thread safety: constructed, started and stopped by the server's
// controlling thread; inbox() takes mail from any thread through a Producer
// per thread; everything else runs on the link's thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "common/mailbox.hpp"
#include "server/chat/messages.hpp"
#include "common/names.hpp"
#include "server/chat/remote_directs.hpp"
#include "server/chat/remote_rooms.hpp"
#include "server/chat/room_link.hpp"
#include "server/cluster/presence_script.hpp"
#include "server/cluster/redis_conn.hpp"
#include "server/cluster/room_script.hpp"
#include "server/ops/metrics.hpp"

namespace chat::server {

namespace link_mail {
struct Say {
  cluster::Say say;
  SessionId session = 0;
  std::uint64_t request_id = 0;
};
struct Watch {
  std::string room;
  std::size_t tail = 0;  // newest says to read with it
};
struct Unwatch {
  std::string room;
};
struct ReadRange {
  std::string room;
  std::uint64_t epoch = 0;
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
};
// Nick leases: `folded` is fold_case(nick); the answer (msg::NickLeased)
// goes to reactor `reactor`.
struct Lease {
  std::string folded;
  std::uint64_t lease = 0;
  std::uint32_t reactor = 0;
};
struct Unlease {
  std::string folded;
};
// Direct messages across nodes (cluster_link_directs.cpp): one to the node
// holding `folded`'s lease, and the answer to one that came from another
// node (a serialized ServerFrame, without its request_id).
struct Direct {
  std::string folded;
  std::string to;
  std::string from_nick;
  std::string text;
  SessionId session = 0;
  std::uint64_t request_id = 0;
};
struct Answer {
  std::string origin;
  std::string frame;
};
// Presence across nodes (cluster_link_rooms.cpp): a member here changed,
// and who for a room with no member here.
struct Member {
  std::string room;
  cluster::MemberChange change;
};
struct History {
  std::string room;
  std::uint64_t epoch = 0;
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  std::string reader;
  bool keep_newest = false;
  std::size_t max_bytes = 0;
  v1::ServerFrame reply;
  SessionId session = 0;
};
struct Topic {
  std::string room;
  cluster::TopicChange change;
};
struct Hide {
  std::string room;
  bool hidden = false;
};
struct Who {
  std::string room;
  std::string cursor;
  std::size_t limit = 0;
  std::size_t max_bytes = 0;
  SessionId session = 0;
  std::uint64_t request_id = 0;
};
// A page of the rooms with members on any node (chat/remote_rooms.hpp).
struct ListRooms {
  std::uint32_t reply_to = 0;
  std::uint64_t query_id = 0;
  std::string cursor;
  std::size_t limit = 0;
};
struct Stop {};
}  // namespace link_mail

class ClusterLink {
 public:
  using Mail = common::Mailbox<std::variant<link_mail::Say, link_mail::Watch, link_mail::Unwatch,
                                            link_mail::ReadRange, link_mail::Lease, link_mail::Unlease,
                                            link_mail::Direct, link_mail::Answer, link_mail::Member,
                                            link_mail::History, link_mail::Topic,
                                            link_mail::Hide, link_mail::Who, link_mail::ListRooms, link_mail::Stop>>;
  // A nick lease's life in Redis; the link refreshes its leases every third.
  static constexpr std::uint32_t kLeaseSeconds = 30;
  // What a refusal for want of Redis tells the client to wait.
  static constexpr std::uint32_t kRetryAfterMs = 1000;
  struct Options {
    redis::Endpoint endpoint;
    std::string password;  // CHATD_REDIS_PASSWORD
    std::string node;      // this node's id, in every say's origin
    cluster::SayLimits limits;
    std::chrono::milliseconds timeout{2000};  // each command's
  };

  // Connects and loads the function: throws redis::Error if Redis cannot be
  // used now (a node does not start without it).
  explicit ClusterLink(Options options);
  ~ClusterLink();
  ClusterLink(const ClusterLink&) = delete;
  ClusterLink& operator=(const ClusterLink&) = delete;

  void start(const std::vector<common::Mailbox<Message>*>& reactors);
  void stop();
  Mail& inbox() { return mail_; }
  const std::string& node() const { return options_.node; }
  // The cluster's epoch, read at construction (keys::kEpoch).
  std::uint64_t epoch() const { return epoch_; }
  // Any thread: the link's counters for /metrics.
  void add_metrics(MetricsSnapshot& out) const;

 private:
  using Clock = std::chrono::steady_clock;
  void run();
  // The leases' refresh, the liveness beat and the subscriber's ping, when
  // each is due.
  void on_timers();
  // After the Stop: what cannot be done any more is refused, and Redis let
  // go of this node's nicks and members.
  void wind_down();
  bool connected() const { return cmd_ != nullptr; }
  void try_connect();
  void drop(const std::string& why);
  void handle(std::vector<link_mail::Say>& says);
  void handle(const link_mail::Watch& w);
  void handle(const link_mail::Unwatch& u);
  void handle(const link_mail::ReadRange& r);
  // Presence (cluster_link_rooms.cpp): the changes of a turn, pipelined.
  void handle(std::vector<link_mail::Member>& changes);
  void handle(link_mail::History& h);
  void handle(const link_mail::Topic& t);
  void handle(const link_mail::Hide& h);
  void handle(const link_mail::Who& w);
  void handle(const link_mail::ListRooms& l);
  // This node's liveness (presence_script.hpp); a failure drops Redis.
  void beat(cluster::Beat beat);
  // Connected again: forgets what Redis holds of this node in rooms it no
  // longer watches (left while Redis was away).
  void forget_unwatched();
  void handle(const link_mail::Lease& l);
  void handle(const link_mail::Unlease& u);
  void refresh_leases();
  void handle(const link_mail::Direct& d);
  void handle(const link_mail::Answer& a);
  // A message on this node's own channel: a DM for a nick held here, or
  // the answer to one sent from here.
  void on_node_message(const std::string& payload);
  // Reads what the subscriber has (a failure drops both connections).
  void read_subscriber();
  void ready(const std::string& room);
  // A message on a watched room's channel: a say, or a member's change.
  void on_room_message(const std::string& room, const std::string& payload);
  void refuse(const link_mail::Say& s, const std::string& why);
  // `page`: it answers one of the session's large requests (msg::ToSession).
  void answer_session(SessionId session, const SharedFrame& frame, v1::Error::Code code, bool page = false);
  // Says whose answer was lost with Redis: sent again (at the front of
  // `says`) once connected, refused once held too long.
  void settle_in_doubt(std::vector<link_mail::Say>& says);
  void to_owner(const std::string& room, Message&& m);
  std::string channel_room(const std::string& channel) const;

  const Options options_;
  const std::string node_channel_;  // keys::node_channel(options_.node)
  std::uint64_t epoch_ = 0;
  std::unique_ptr<redis::Conn> cmd_;
  std::unique_ptr<redis::Conn> sub_;
  // Watched rooms -> how many newest says their ready reads.
  std::unordered_map<std::string, std::size_t> watched_;
  std::unordered_set<std::string> awaiting_confirmation_;
  std::unordered_set<std::string> leased_;  // folded nicks this node holds
  struct InDoubt {
    link_mail::Say say;
    Clock::time_point until;
  };
  std::vector<InDoubt> in_doubt_;
  Clock::time_point next_refresh_{};
  Clock::time_point next_beat_{};
  Clock::duration backoff_ = std::chrono::milliseconds(100);
  Clock::time_point next_attempt_{};
  Clock::time_point sub_heard_{};
  Clock::time_point next_ping_{};
  Mail mail_;
  std::vector<std::unique_ptr<common::Mailbox<Message>::Producer>> reactors_;
  struct Counters {
    std::atomic<std::uint64_t> roundtrips{0};
    std::atomic<std::uint64_t> roundtrip_micros{0};
    std::atomic<std::uint64_t> script_errors{0};
    std::atomic<std::uint64_t> subscriptions{0};
    std::atomic<std::uint64_t> reconnects{0};
    std::atomic<std::uint64_t> refused{0};
  };
  Counters counters_;
  void timed(Clock::time_point started);
  std::thread thread_;
};

// A reactor's way to the link: the RoomLink its room owners use, and the
// nick leases of its ClusterNickRegistry, its nick owners' RemoteDirects,
// and its hub's RemoteRooms.
// Thread safety: reactor-confined (one per reactor, its own Producer).
class ClusterLinkPort final : public RoomLink, public RemoteDirects, public RemoteRooms {
 public:
  explicit ClusterLinkPort(ClusterLink& link) : node_(link.node()), to_link_(link.inbox()) {}
  const std::string& node() const override { return node_; }
  // Direct messages to and from other nodes (RemoteDirects).
  void send(msg::RouteDirect&& m) override {
    std::string folded = common::fold_case(m.to);
    to_link_.send(link_mail::Direct{std::move(folded), std::move(m.to), std::move(m.from_nick), std::move(m.text),
                                    m.session, m.request_id});
  }
  void answer(const std::string& origin, const v1::ServerFrame& frame) override {
    to_link_.send(link_mail::Answer{origin, frame.SerializeAsString()});
  }
  void say(cluster::Say&& say, SessionId session, std::uint64_t request_id) override {
    to_link_.send(link_mail::Say{std::move(say), session, request_id});
  }
  void watch(const std::string& room, std::size_t tail) override { to_link_.send(link_mail::Watch{room, tail}); }
  void unwatch(const std::string& room) override { to_link_.send(link_mail::Unwatch{room}); }
  void read_range(const std::string& room, std::uint64_t epoch, std::uint64_t lo, std::uint64_t hi) override {
    to_link_.send(link_mail::ReadRange{room, epoch, lo, hi});
  }
  void member(const std::string& room, cluster::MemberChange&& change) override {
    to_link_.send(link_mail::Member{room, std::move(change)});
  }
  void history(const std::string& room, std::uint64_t epoch, std::uint64_t lo, std::uint64_t hi,
               const std::string& reader, bool keep_newest, std::size_t max_bytes, v1::ServerFrame&& reply,
               SessionId session) override {
    to_link_.send(
        link_mail::History{room, epoch, lo, hi, reader, keep_newest, max_bytes, std::move(reply), session});
  }
  void topic(const std::string& room, const std::string& topic, const std::string& set_by) override {
    to_link_.send(link_mail::Topic{room, cluster::TopicChange{topic, set_by, node_}});
  }
  void hide(const std::string& room, bool hidden) override { to_link_.send(link_mail::Hide{room, hidden}); }
  void list(std::uint32_t reply_to, std::uint64_t query_id, const std::string& cursor, std::size_t limit) override {
    to_link_.send(link_mail::ListRooms{reply_to, query_id, cursor, limit});
  }
  void who(const std::string& room, const std::string& cursor, std::size_t limit, std::size_t max_bytes,
           SessionId session, std::uint64_t request_id) override {
    to_link_.send(link_mail::Who{room, cursor, limit, max_bytes, session, request_id});
  }
  // Nick leases (ClusterNickRegistry).
  void lease(const std::string& folded, std::uint64_t lease, std::uint32_t reactor) {
    to_link_.send(link_mail::Lease{folded, lease, reactor});
  }
  void unlease(const std::string& folded) { to_link_.send(link_mail::Unlease{folded}); }

 private:
  const std::string node_;
  ClusterLink::Mail::Producer to_link_;
};

}  // namespace chat::server
