#pragma once
// The typed messages reactors send one another through their mailboxes.
// A message is moved into a mailbox by its producer and then belongs to the
// consuming reactor; the frames inside are immutable and shared.

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "chat/v1/chat.pb.h"
#include "common/framing.hpp"
#include "server/cluster/cluster_messages.hpp"

namespace asio::ssl {
class context;
}

namespace chat::server {

using common::SharedFrame;

// A session id names its reactor in the top bits, so any thread can tell
// where to send a message for it.
using SessionId = std::uint64_t;
inline constexpr int kReactorShift = 48;
inline std::uint32_t reactor_of(SessionId id) { return static_cast<std::uint32_t>(id >> kReactorShift); }
inline SessionId make_session_id(std::uint32_t reactor, std::uint64_t serial) {
  return (static_cast<SessionId>(reactor) << kReactorShift) | serial;
}

namespace msg {

// acceptor -> reactor: a freshly accepted socket for the reactor to adopt.
struct Adopt {
  int fd = -1;
  SessionId session = 0;  // the id admission knows it by; 0: the reactor picks one
  bool tls = false;       // accepted on the TLS port
};
// server -> reactor: the TLS context for connections adopted from now on
// (SIGHUP loaded the certificate again). Those already open keep theirs.
struct UseTls {
  std::shared_ptr<asio::ssl::context> context;
};
// acceptor -> reactor: too many connections have not logged in, and this
// one is the oldest of them (net/admission.hpp): drop it, unless it has.
struct DropPreLogin {
  SessionId session = 0;
};

// server -> reactor: stop reading, drain, say goodbye, close.
struct Stop {};
// reactor -> every reactor during shutdown (see Reactor::on(Barrier)).
struct Barrier {
  int phase = 0;
};

// session's reactor -> room owner.
struct Join {
  std::string room;
  std::string nick;
  SessionId session = 0;
  std::uint64_t request_id = 0;
  // Numbers this join among the session's joins; the answer carries it back
  // (see Session::is_current_join).
  std::uint64_t join = 0;
  std::string identity = {};  // whose client_msg_ids the replay shows
  // Issue 12: room slots. The joiner's address (address_key), for the
  // owner's count of rooms an address holds alone; and whether this join
  // may create the room: the session reserved a place in its own and its
  // address's creation budgets, or says which was spent.
  enum class CreateLimit : std::uint8_t { kNone, kConnection, kAddress };
  std::string address = {};
  CreateLimit create_limit = CreateLimit::kNone;
  std::uint32_t retry_after_ms = 0;  // when create_limit is set
  // Issue 13: who joins, for the room's bans and roles, and the key given.
  std::string account = {};
  std::string key = {};
};
struct Leave {
  std::string room;
  std::string nick;
  SessionId session = 0;
  std::uint64_t request_id = 0;
  // REASON_UNSPECIFIED: the member asked to leave; anything else: it quit.
  v1::Presence::Reason reason = v1::Presence::REASON_UNSPECIFIED;
  std::string address = {};  // the member's address_key, as in its Join
};
struct Publish {
  std::string room;
  std::string nick;
  std::string text;
  std::uint64_t client_msg_id = 0;
  SessionId session = 0;
  std::uint64_t request_id = 0;
  // Who sent it, for exactly-once: (identity, client_msg_id) names a say.
  // The nick for a guest; an account's name once accounts exist.
  std::string identity = {};
};
// A member's nick changed: the owner renames it and tells the room.
struct Rename {
  std::string room;
  SessionId session = 0;
  std::string old_nick;
  std::string nick;
};
struct RoomQuery {
  enum class Kind { kWho, kGetTopic, kSetTopic, kHistory };
  Kind kind = Kind::kWho;
  std::string room;
  std::string nick;
  std::string topic;
  std::uint64_t before_seq = 0;
  std::uint64_t after_seq = 0;
  bool has_after = false;
  std::uint32_t limit = 0;
  std::string cursor = {};  // who: the page after this nick
  SessionId session = 0;
  std::uint64_t request_id = 0;
  std::string identity = {};  // whose client_msg_ids a history page shows
};
// A moderation request (kick, ban, unban, invite, set_modes, set_role),
// checked by the session as far as it can, for the room owner to decide.
struct Moderate {
  std::string room;
  std::string nick;  // the op's
  SessionId session = 0;
  std::uint64_t request_id = 0;
  v1::ClientFrame request;
};
// Whether a set_modes request sets any mode (else it only reads them).
inline bool sets_modes(const v1::SetModesRequest& r) {
  return r.has_invite_only() || r.has_key() || r.has_topic_lock() || r.has_moderated() || r.has_member_limit() ||
         r.has_secret();
}
// asking reactor -> every reactor; answered with a RoomList.
// One page: the first `limit` rooms named after `cursor`, in name order.
struct ListRooms {
  std::uint32_t reply_to = 0;
  std::uint64_t query_id = 0;
  std::string cursor = {};
  std::size_t limit = 0;
};

// room owner -> member reactors.
struct Deliver {
  std::string room;
  SharedFrame frame;
  // The sender's own copy (with its client_msg_id and request_id), present
  // only in the Deliver sent to the sender's reactor.
  SessionId sender = 0;
  SharedFrame sender_frame;
  // When the owner sequenced a room message (monotonic_ns(), ops/metrics.hpp),
  // for the delivery-latency histogram; 0 for anything else (presence).
  std::int64_t sequenced_ns = 0;
};
struct Joined {
  std::string room;
  SessionId session = 0;
  SharedFrame reply;
  std::uint64_t join = 0;  // from the Join
  // Issue 12: the Join held a place in its creation budgets (create_limit
  // kNone), settled now: charged if `created`, else given back.
  bool reserved = false;
  bool created = false;
};
// The owner would not create the room (TOO_MANY_ROOMS, or RATE_LIMITED past
// a creation budget): the session forgets the join and passes `reply`, the
// Error, to its client.
struct JoinRefused {
  std::string room;
  SessionId session = 0;
  std::uint64_t join = 0;  // from the Join
  v1::Error::Code code = v1::Error::CODE_UNSPECIFIED;
  SharedFrame reply;
  bool reserved = false;  // as in Joined; a refused join created nothing
};
// A kick or ban removed the session from the room (its membership numbered
// `join`): the session forgets it, as if it had left.
struct Removed {
  std::string room;
  SessionId session = 0;
  std::uint64_t join = 0;
};
struct RoomList {
  std::uint64_t query_id = 0;
  std::vector<v1::RoomInfo> rooms;
  bool more = false;  // the shard has rooms after the last of `rooms`
  // Cluster mode: the secret rooms after the cursor held here, which the
  // list from Redis (chat/remote_rooms.hpp) names too but must not show;
  // and whether this list is Redis's (`elsewhere`), not a shard's.
  std::vector<std::string> hidden = {};
  bool elsewhere = false;
};

// session's reactor -> its authenticator (auth/), and the answer back. The
// answer always arrives as a message, so a check that takes time (a password
// hash) can run elsewhere while the reactor goes on. Without a password the
// session is a guest.
struct Authenticate {
  std::string nick;
  SessionId session = 0;
  std::uint64_t request_id = 0;
  std::string password = {};
  bool regain = false;
  std::string address = {};  // address_key, for login throttling
};
struct Authenticated {
  std::string nick;  // the nick to claim
  SessionId session = 0;
  std::uint64_t request_id = 0;
  bool ok = false;
  v1::Error::Code code = v1::Error::CODE_UNSPECIFIED;  // why not, when !ok
  std::string reason;
  std::string account = {};  // logged in to it; empty: a guest
  bool regain = false;
  std::uint32_t retry_after_ms = 0;
};

// session's reactor -> the account service: register the session's guest
// nick, change its account's password, or drop its account. Answered with an
// AccountChanged to the session's reactor.
struct AccountRequest {
  enum class Kind : std::uint8_t { kRegister, kChangePassword, kDrop };
  Kind kind = Kind::kRegister;
  std::string account;   // kRegister: the nick to register
  std::string password;  // kChangePassword: the old one
  std::string new_password = {};
  SessionId session = 0;
  std::uint64_t request_id = 0;
  std::string address = {};
};
struct AccountChanged {
  AccountRequest::Kind kind = AccountRequest::Kind::kRegister;
  std::string account;
  SessionId session = 0;
  std::uint64_t request_id = 0;
  bool ok = false;
  v1::Error::Code code = v1::Error::CODE_UNSPECIFIED;
  std::string reason;
  std::uint32_t retry_after_ms = 0;
};
// account service -> nick owner: `account` was registered by `session`
// (which holds it), or dropped. The owner refuses guests its look-alikes.
struct Registration {
  std::string account;
  bool registered = false;
  SessionId session = 0;
};
// nick owner -> a session's reactor: another login to the session's account
// regained it (Error REGAINED, then close).
struct Regained {
  SessionId session = 0;
};

// session's reactor -> nick owner. A claim of the nick the session already
// holds, in another case, succeeds and respells it (a rename).
struct ClaimNick {
  std::string nick;
  SessionId session = 0;
  std::uint64_t request_id = 0;
  // An account's login: the nick is the account's, shared by up to
  // max_sessions of its sessions; with `regain`, the others are closed.
  std::string account = {};
  bool regain = false;
};
struct ReleaseNick {
  std::string nick;
  SessionId session = 0;
};
struct RouteDirect {
  std::string to;
  std::string from_nick;
  std::string text;
  SessionId session = 0;
  std::uint64_t request_id = 0;
  // Cluster mode: from a sender on another node ("node:session:request",
  // session 0 here), which is answered through RemoteDirects.
  std::string origin = {};
};

// Direct messages to an offline account (issue 13): the nick owner finds
// no session holding an account's nick and mails the DM to the account
// service, which stores it and acks the sender (stored) or refuses it. When
// the account logs in again its nick owner asks for what was stored, from
// the same reactor, so no stored DM is overtaken by the fetch; the service
// hands the session's reactor the DMs, oldest first, taking them out of the
// store, and the session delivers them before any live DM.
struct StoredDirect {
  std::int64_t id = 0;  // the store's order
  std::string sender;
  std::string text;
  std::int64_t timestamp_ms = 0;
};
// nick owner -> account service.
struct StoreDirect {
  std::string account;  // as registered
  StoredDirect direct;
  SessionId sender = 0;
  std::uint64_t request_id = 0;
};
// nick owner -> account service: `session` has just logged in to `account`.
struct FetchDirects {
  std::string account;
  SessionId session = 0;
};
// account service -> session's reactor; and, should the session have gone
// meanwhile, back to the account service, which stores them again.
struct StoredDirects {
  std::string account;
  SessionId session = 0;
  std::vector<StoredDirect> directs;
};

// room owner -> nick owner: an event for every session holding `nick`, if
// any does (an invite).
struct NotifyNick {
  std::string nick;
  SharedFrame frame;
};

// nick owner -> session's reactor.
struct NickClaimed {
  std::string nick;
  SessionId session = 0;
  bool ok = false;
  std::uint64_t request_id = 0;
  // Why not, when !ok: NICK_TAKEN, NICK_REGISTERED or TOO_MANY_SESSIONS.
  v1::Error::Code code = v1::Error::CODE_UNSPECIFIED;
  std::string registered_as = {};  // NICK_REGISTERED: the account it looks like
};
struct DeliverDirect {
  SessionId target = 0;
  std::string target_nick;
  SharedFrame frame;
  SessionId sender = 0;
  std::uint64_t request_id = 0;
  std::string origin = {};  // a sender on another node (RouteDirect::origin)
};

// store actor -> room owner: the room's messages up to `seq` are durable.
struct Durable {
  std::string room;
  std::uint64_t seq = 0;
};
// store actor -> every reactor: whether writes succeed. While they fail,
// owners refuse new says with STORE_UNAVAILABLE and `retry_after_ms`.
struct StoreHealth {
  bool ok = true;
  std::uint32_t retry_after_ms = 0;
};
// store actor -> room owner: retention removed messages; the oldest stored
// is now `first_seq`.
struct Retained {
  std::string room;
  std::uint64_t first_seq = 0;
};

// anyone -> a session's reactor: a ready reply for one session.
struct ToSession {
  SessionId session = 0;
  SharedFrame frame;
  // Set when `frame` is an Error: the session's reactor counts it, as it
  // counts the errors its sessions raise themselves.
  v1::Error::Code error = v1::Error::CODE_UNSPECIFIED;
  // A history page: it answers one of the session's large requests
  // (Session::answered).
  bool page = false;
};

}  // namespace msg

using Message = std::variant<msg::Adopt, msg::Stop, msg::Barrier, msg::Join, msg::Leave,
                             msg::Publish, msg::Rename, msg::RoomQuery, msg::ListRooms, msg::Deliver,
                             msg::Joined, msg::JoinRefused, msg::RoomList, msg::ClaimNick,
                             msg::ReleaseNick, msg::RouteDirect, msg::NickClaimed,
                             msg::DeliverDirect, msg::ToSession, msg::Authenticate,
                             msg::Authenticated, msg::Durable, msg::StoreHealth, msg::Retained,
                             msg::DropPreLogin, msg::UseTls, msg::AccountChanged, msg::Registration,
                             msg::Regained, msg::Moderate, msg::Removed, msg::NotifyNick,
                             msg::StoredDirects, msg::ClusterReady, msg::ClusterDeliver, msg::ClusterRange,
                             msg::ClusterPresence, msg::ClusterTopic, msg::NickLeased>;

}  // namespace chat::server
