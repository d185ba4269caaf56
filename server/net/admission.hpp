#pragma once
// Admission: who may connect. The acceptor asks it about every socket it
// accepts, before any reactor sees it: the total cap, the cap per address
// (IPv4: the address; IPv6: its /64, what one host is usually given), and a
// token bucket of new connections per address. Over any of them the
// connection is refused (as NATS refuses past max_connections and ergo past
// its per-IP limits).
//
// It also lists the connections that have not logged in yet, oldest first,
// capped on their own so that sockets that never log in cannot take the
// slots of clients that do. Past that cap the oldest of them is dropped, not
// the newcomer: a newcomer logs in within a round trip, so to keep it out an
// attacker would have to open the whole cap's worth of connections in that
// time, which the per-address buckets forbid; refusing newcomers instead
// would let a full cap of idle sockets keep everyone out until their login
// deadline. (NATS and ergo have no separate cap: they bound a connection's
// time before login, as --login-timeout-ms does here.)
//
// While that cap is full, a newcomer from an address that has had a
// connection waiting for longer than a login takes (kWaitingTooLong) is
// refused here instead (kPreLoginWaiting). An attacker holding the cap
// would otherwise make the reactors adopt and drop a connection for each
// of its connects, as fast as its addresses' connect rates allow; an honest
// address logs its connections in within round trips, so even one opening
// many at once is let in (each of them making the oldest go).
//
// The reactors tell it by mail when one of its connections logs in and
// when one is gone (AdmissionNote, through the acceptor's notes mailbox),
// so the counts drop on whichever reactor a connection closes, with no lock
// and no shared counter.
// Thread safety: acceptor-confined. Pure: the caller passes the time in.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/token_bucket.hpp"
#include "server/chat/messages.hpp"

namespace chat::server {

// An address as every per-address limit counts it: address_key() of the
// peer (net/address.hpp), IPv4 whole, IPv6 by its /64.
using AddressKey = std::string;

// reactor -> acceptor: what became of a connection the acceptor admitted.
struct AdmissionNote {
  enum class Kind : std::uint8_t { kLoggedIn, kClosed };
  SessionId session = 0;
  Kind kind = Kind::kClosed;
};

// Why a connection was turned away; the index of its label in
// kRefusalReasons (ops/metrics.hpp) is the value less one.
enum class Refusal : std::uint8_t { kNone, kTotal, kPerAddress, kRate, kPreLogin, kPreLoginWaiting };

class Admission {
 public:
  using Clock = std::chrono::steady_clock;
  struct Limits {
    std::size_t total = 0;
    std::size_t per_address = 0;  // 0: unlimited
    double rate = 0;  // per address per second; 0: unlimited
    double burst = 1;
    std::size_t pre_login = 0;
  };
  struct Verdict {
    Refusal refusal = Refusal::kNone;
    std::uint32_t retry_after_ms = 0;  // for kRate and kPreLoginWaiting
  };
  // How long an address may have connections waiting, without a moment
  // with none, before the full cap refuses it more; and what that refusal
  // suggests (by then its oldest has logged in or been dropped).
  static constexpr std::chrono::seconds kWaitingTooLong{2};
  static constexpr std::uint32_t kPreLoginRetryMs = 1000;

  explicit Admission(Limits limits) : limits_(limits) {}

  // May a connection from `key` come in now? Every attempt takes a token
  // from its address's bucket, refused or not.
  Verdict check(const AddressKey& key, Clock::time_point now);
  // Counts a connection that check() let in. Returns the connection to drop
  // when this one passes the pre-login cap: the oldest not logged in.
  std::optional<SessionId> admit(SessionId session, const AddressKey& key);
  void on(const AdmissionNote& note);

  std::size_t open() const { return connections_.size(); }
  std::size_t pre_login() const { return pre_login_; }
  std::size_t addresses() const { return addresses_.size(); }
  const Limits& limits() const { return limits_; }

 private:
  struct Address {
    std::size_t open = 0;
    std::size_t waiting = 0;  // of `open`, those not logged in yet
    Clock::time_point waiting_since{};  // since when `waiting` has not been 0
    common::TokenBucket bucket;
    Clock::time_point last_attempt;
  };
  struct Connection {
    AddressKey key;
    bool pre_login = true;
  };
  // Forgets addresses with no connection whose bucket has refilled (so
  // forgetting changes nothing); at most every few seconds.
  void forget_idle(Clock::time_point now);
  // `c` no longer counts as waiting: it logged in, closed or was dropped.
  void stop_waiting(Connection& c);
  void compact_waiting();

  Limits limits_;
  std::unordered_map<AddressKey, Address> addresses_;
  std::unordered_map<SessionId, Connection> connections_;
  // Not logged in, oldest first. An entry that has logged in or closed
  // since stays until it reaches the front (or the next compaction).
  std::deque<SessionId> waiting_;
  std::size_t pre_login_ = 0;
  Clock::time_point last_sweep_{};
};

}  // namespace chat::server
