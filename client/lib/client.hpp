#pragma once
// The protocol client library: one connection to a chat server. It frames
// and sends requests, matches replies by request_id, and hands events to
// callbacks. No terminal I/O: the tests, the `chat` terminal client and
// `chat-bench` are all built on it. Over TCP, or TLS with use_tls().
// Thread safety: confined to the thread that runs its io_context; every
// method must be called there and every callback runs there.

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/v1/chat.pb.h"
#include "common/framing.hpp"

namespace chat::client {

// Called with the reply, or with an Error frame (the server's, or one made
// up with CODE_UNSPECIFIED if the connection dropped first).
using ReplyHandler = std::function<void(const v1::ServerFrame&)>;

struct Events {
  std::function<void(const v1::Welcome&)> on_welcome;
  std::function<void(const v1::RoomMessage&)> on_message;
  std::function<void(const v1::DirectMessage&)> on_direct;
  std::function<void(const v1::Presence&)> on_presence;
  // A big room's joins and leaves, at most one a second (issue 15).
  std::function<void(const v1::PresenceDelta&)> on_presence_delta;
  std::function<void(const v1::TopicChanged&)> on_topic;
  // A room's op kicked, banned, invited, set modes or gave a role (issue
  // 13); an invite reaches the invited nick too, outside the room.
  std::function<void(const v1::Moderation&)> on_moderation;
  // Errors that answer no pending request (e.g. SLOW_CONSUMER, IDLE_TIMEOUT).
  std::function<void(const v1::Error&)> on_error;
  std::function<void(const v1::Shutdown&)> on_shutdown;
  std::function<void(std::error_code)> on_disconnect;
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  static std::shared_ptr<Client> create(asio::io_context& io, Events events = {});

  // Before connect(): speak TLS, verifying the server's certificate with
  // `context` (common/tls_context.hpp) against the host name connect() is
  // given. A certificate that does not verify fails connect() with
  // OpenSSL's reason.
  void use_tls(std::shared_ptr<asio::ssl::context> context) { tls_context_ = std::move(context); }

  // Resolves, connects and waits for the server's Welcome; `done` gets an
  // error code (empty on success).
  void connect(const std::string& host, std::uint16_t port, std::function<void(std::error_code)> done);
  // Closes the connection; pending requests get an error reply.
  void close();

  bool connected() const { return connected_; }
  const v1::Welcome& welcome() const { return welcome_; }
  Events& events() { return events_; }

  // Sends any request: assigns the request_id (returned) and remembers the
  // handler until the reply arrives.
  std::uint64_t request(v1::ClientFrame frame, ReplyHandler on_reply = nullptr);

  std::uint64_t hello(const std::string& nick, ReplyHandler h = nullptr);
  // Logs in to the account `nick`; `regain` closes its other connections.
  std::uint64_t login(const std::string& nick, const std::string& password, bool regain, ReplyHandler h = nullptr);
  // Accounts: registers the nick logged in under; changes the account's
  // password; drops the account.
  std::uint64_t register_account(const std::string& password, ReplyHandler h = nullptr);
  std::uint64_t change_password(const std::string& old_password, const std::string& new_password,
                                ReplyHandler h = nullptr);
  std::uint64_t drop_account(const std::string& password, ReplyHandler h = nullptr);
  // Changes the nick in place; rooms see a Presence RENAMED.
  std::uint64_t rename(const std::string& nick, ReplyHandler h = nullptr);
  std::uint64_t join(const std::string& room, ReplyHandler h = nullptr);
  // A room with a key (RoomModes.has_key) takes it with the join.
  std::uint64_t join(const std::string& room, const std::string& key, ReplyHandler h = nullptr);
  std::uint64_t leave(const std::string& room, ReplyHandler h = nullptr);
  // The reply to a say is the sender's own copy of the message, carrying
  // client_msg_id and the room's sequence number.
  std::uint64_t say(const std::string& room, const std::string& text, std::uint64_t client_msg_id,
                    ReplyHandler h = nullptr);
  std::uint64_t direct(const std::string& nick, const std::string& text, ReplyHandler h = nullptr);
  // One page of the room list: the rooms named after `cursor`, at most
  // `limit` (0: the server's page). Ask again with the reply's next_cursor
  // until it is empty. Without a cursor: the first page.
  std::uint64_t list_rooms(const std::string& cursor, std::uint32_t limit, ReplyHandler h = nullptr);
  std::uint64_t list_rooms(ReplyHandler h = nullptr) { return list_rooms("", 0, std::move(h)); }
  // One page of a room's members in nick order, after `cursor` (empty: the
  // first page), at most `limit` (0: the server's page); ask again with the
  // reply's next_cursor until it is empty.
  std::uint64_t who(const std::string& room, const std::string& cursor, std::uint32_t limit,
                    ReplyHandler h = nullptr);
  std::uint64_t who(const std::string& room, ReplyHandler h = nullptr) { return who(room, "", 0, std::move(h)); }
  std::uint64_t set_topic(const std::string& room, const std::string& topic, ReplyHandler h = nullptr);
  std::uint64_t get_topic(const std::string& room, ReplyHandler h = nullptr);
  // Rooms with keepers (issue 13), for the room's ops: each is answered with
  // a moderation_ack (the room gets the same Moderation as an event).
  // `duration_s` 0 bans until unbanned; a mask is "NICK", "account:NAME" or
  // "address:ADDR[/BITS]".
  std::uint64_t kick(const std::string& room, const std::string& nick, const std::string& reason,
                     ReplyHandler h = nullptr);
  std::uint64_t ban(const std::string& room, const std::string& mask, const std::string& reason,
                    std::uint32_t duration_s, ReplyHandler h = nullptr);
  std::uint64_t unban(const std::string& room, const std::string& mask, ReplyHandler h = nullptr);
  std::uint64_t invite(const std::string& room, const std::string& nick, ReplyHandler h = nullptr);
  // Sets the modes present in `modes` (its room is replaced by `room`); with
  // none present it only reads them, as get_modes does: a ModesReply.
  std::uint64_t set_modes(const std::string& room, v1::SetModesRequest modes, ReplyHandler h = nullptr);
  std::uint64_t get_modes(const std::string& room, ReplyHandler h = nullptr);
  std::uint64_t set_role(const std::string& room, const std::string& nick, v1::Role role,
                         ReplyHandler h = nullptr);
  // A page of history: after `after_seq` when given, else before `before_seq`.
  std::uint64_t history(const std::string& room, std::uint64_t before_seq,
                        std::optional<std::uint64_t> after_seq, std::uint32_t limit,
                        ReplyHandler h = nullptr);
  std::uint64_t ping(ReplyHandler h = nullptr);

 private:
  Client(asio::io_context& io, Events events);
  void read();
  void on_frame(std::string_view payload);
  void write(std::string bytes);
  void write_next();
  void fail(std::error_code ec);
  void start_tls(const std::string& host);
  // Calls f with the stream the bytes travel on: the TLS stream or the socket.
  template <class F>
  void with_stream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(socket_);
    }
  }

  asio::io_context& io_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  Events events_;
  std::function<void(std::error_code)> on_connected_;
  bool connected_ = false;
  bool closed_ = false;
  v1::Welcome welcome_;

  common::FrameDecoder decoder_{64u << 20};
  std::vector<char> read_buffer_;
  std::vector<std::string> queued_;
  std::vector<std::string> writing_;
  v1::ServerFrame scratch_;

  std::uint64_t next_request_id_ = 1;
  std::unordered_map<std::uint64_t, ReplyHandler> pending_;
};

}  // namespace chat::client
