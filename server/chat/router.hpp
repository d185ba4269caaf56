#pragma once
// The one way a chat actor sends a message: to a reactor by index, to the
// owner of a room or a nick (hash of the key modulo the reactor count, as
// Seastar routes a key to its shard), or to a session's reactor (named in
// the session id).
//
// The contract on a send to this same reactor: the message runs after the
// handler that sent it has returned, never inside it. So no handler is ever
// re-entered by the answer to its own request, whether the owner is this
// reactor or another; only the latency differs.
//
// Thread safety: reactor-confined. Every method runs on the thread that owns
// the router; assert_owner() checks that in debug builds.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/names.hpp"
#include "common/thread_owner.hpp"
#include "server/chat/frames.hpp"
#include "server/chat/messages.hpp"

namespace chat::server {

class Router {
 public:
  virtual ~Router() = default;
  virtual std::uint32_t reactor_count() const = 0;
  // Delivers `m` to reactor `to` (see the contract above).
  virtual void send(std::uint32_t to, Message&& m) = 0;

  // The rule, for any reactor count: a room or nick hashes to its owner. A
  // nick hashes by its skeleton, so look-alikes meet at one owner, which can
  // refuse a guest the look-alike of an account's nick.
  static std::uint32_t room_owner(std::string_view room, std::uint32_t reactors) {
    return static_cast<std::uint32_t>(common::stable_hash(room) % reactors);
  }
  static std::uint32_t nick_owner(std::string_view nick, std::uint32_t reactors) {
    return static_cast<std::uint32_t>(common::stable_hash(common::nick_skeleton(nick)) % reactors);
  }
  std::uint32_t room_owner(std::string_view room) const { return room_owner(room, reactor_count()); }
  std::uint32_t nick_owner(std::string_view nick) const { return nick_owner(nick, reactor_count()); }
  // `m.room` names the room; the owner is found before `m` is moved.
  template <class M>
  void to_room_owner(M&& m) {
    const std::uint32_t owner = room_owner(m.room);
    send(owner, std::forward<M>(m));
  }
  // `nick` may point into `m`: the owner is found before `m` is moved.
  template <class M>
  void to_nick_owner(std::string_view nick, M&& m) {
    const std::uint32_t owner = nick_owner(nick);
    send(owner, std::forward<M>(m));
  }
  // `page`: a history page (msg::ToSession::page).
  void to_session(SessionId session, SharedFrame frame, bool page = false) {
    send(reactor_of(session), msg::ToSession{session, std::move(frame), v1::Error::CODE_UNSPECIFIED, page});
  }
  // An Error for a session on any reactor, counted in chatd_errors_total there.
  void error_to_session(SessionId session, v1::Error::Code code, std::string_view message,
                        std::uint64_t request_id, std::uint32_t retry_after_ms = 0) {
    send(reactor_of(session),
         msg::ToSession{session, error_frame(code, message, request_id, retry_after_ms), code});
  }

  // The thread this router's actors are confined to.
  const common::ThreadOwner& owner() const { return owner_; }
  void assert_owner() const { owner_.assert_owner(); }

 protected:
  common::ThreadOwner owner_;
};

}  // namespace chat::server
