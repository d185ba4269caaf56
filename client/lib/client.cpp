#include "client/lib/client.hpp"

namespace chat::client {

std::shared_ptr<Client> Client::create(asio::io_context& io, Events events) {
  return std::shared_ptr<Client>(new Client(io, std::move(events)));
}

Client::Client(asio::io_context& io, Events events)
    : io_(io), resolver_(io), socket_(io), events_(std::move(events)), read_buffer_(64 * 1024) {}

void Client::connect(const std::string& host, std::uint16_t port,
                     std::function<void(std::error_code)> done) {
  on_connected_ = std::move(done);
  resolver_.async_resolve(
      host, std::to_string(port),
      [self = shared_from_this(), host](const std::error_code& ec, asio::ip::tcp::resolver::results_type results) {
        if (self->closed_) return;  // closed while resolving
        if (ec) return self->fail(ec);
        asio::async_connect(self->socket_, results,
                            [self, host](const std::error_code& ec2, const asio::ip::tcp::endpoint&) {
                              if (self->closed_) return;
                              if (ec2) return self->fail(ec2);
                              std::error_code ignored;
                              self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
                              if (self->tls_context_) return self->start_tls(host);
                              self->read();
                            });
      });
}

// SNI and the name the certificate must carry are the host as given: a
// name, or an IP address (matched against the certificate's IP entries).
void Client::start_tls(const std::string& host) {
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls_context_);
  std::error_code not_an_address;
  asio::ip::make_address(host, not_an_address);
  if (not_an_address) SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str());  // SNI names hosts only
  std::error_code ignored;
  tls_->set_verify_callback(asio::ssl::host_name_verification(host), ignored);
  tls_->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this()](const std::error_code& ec) {
    if (self->closed_) return;
    if (ec) return self->fail(ec);
    self->read();
  });
}

void Client::close() {
  if (closed_) return;
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  fail(asio::error::operation_aborted);
}

void Client::fail(std::error_code ec) {
  if (closed_) return;
  closed_ = true;
  connected_ = false;
  std::error_code ignored;
  socket_.close(ignored);
  if (on_connected_) std::exchange(on_connected_, nullptr)(ec);
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, handler] : pending) {
    if (!handler) continue;
    v1::ServerFrame error;
    error.set_request_id(id);
    error.mutable_error()->set_message("disconnected: " + ec.message());
    error.mutable_error()->set_request_id(id);
    handler(error);
  }
  if (events_.on_disconnect) events_.on_disconnect(ec);
}

void Client::read() {
  with_stream([this](auto& stream) { stream.async_read_some(
      asio::buffer(read_buffer_), [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
        // A read that completed before close() may still be queued behind
        // it; after close() no event reaches the owner, whose callbacks may
        // point at something already gone.
        if (self->closed_) return;
        if (ec) return self->fail(ec);
        const auto error = self->decoder_.feed(std::string_view(self->read_buffer_.data(), n),
                                               [&](std::string_view payload) {
                                                 self->on_frame(payload);
                                                 return !self->closed_;
                                               });
        if (error != common::DecodeError::kNone) return self->fail(asio::error::invalid_argument);
        if (!self->closed_) self->read();
      }); });
}

void Client::on_frame(std::string_view payload) {
  v1::ServerFrame& frame = scratch_;
  frame.Clear();
  if (!frame.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return fail(asio::error::invalid_argument);
  }
  bool answered = false;
  if (frame.request_id() != 0) {
    auto it = pending_.find(frame.request_id());
    if (it != pending_.end()) {
      auto handler = std::move(it->second);
      pending_.erase(it);
      answered = true;
      if (handler) handler(frame);
    }
  }
  switch (frame.body_case()) {
    case v1::ServerFrame::kWelcome:
      welcome_ = frame.welcome();
      connected_ = true;
      if (events_.on_welcome) events_.on_welcome(welcome_);
      if (on_connected_) std::exchange(on_connected_, nullptr)(std::error_code{});
      break;
    case v1::ServerFrame::kMessage:
      if (events_.on_message) events_.on_message(frame.message());
      break;
    case v1::ServerFrame::kDirect:
      if (events_.on_direct) events_.on_direct(frame.direct());
      break;
    case v1::ServerFrame::kPresence:
      if (events_.on_presence) events_.on_presence(frame.presence());
      break;
    case v1::ServerFrame::kPresenceDelta:
      if (events_.on_presence_delta) events_.on_presence_delta(frame.presence_delta());
      break;
    case v1::ServerFrame::kTopicChanged:
      if (events_.on_topic) events_.on_topic(frame.topic_changed());
      break;
    case v1::ServerFrame::kModeration:
      if (events_.on_moderation) events_.on_moderation(frame.moderation());
      break;
    case v1::ServerFrame::kPing: {
      v1::ClientFrame pong;
      pong.mutable_pong()->set_nonce(frame.ping().nonce());
      write(common::encode_frame(pong));
      break;
    }
    case v1::ServerFrame::kShutdown:
      if (events_.on_shutdown) events_.on_shutdown(frame.shutdown());
      break;
    case v1::ServerFrame::kError:
      if (!answered && events_.on_error) events_.on_error(frame.error());
      break;
    default:
      break;
  }
}

std::uint64_t Client::request(v1::ClientFrame frame, ReplyHandler on_reply) {
  const std::uint64_t id = next_request_id_++;
  frame.set_request_id(id);
  if (closed_) {
    if (on_reply) {
      v1::ServerFrame error;
      error.set_request_id(id);
      error.mutable_error()->set_message("not connected");
      error.mutable_error()->set_request_id(id);
      asio::post(io_, [on_reply = std::move(on_reply), error] { on_reply(error); });
    }
    return id;
  }
  pending_.emplace(id, std::move(on_reply));
  write(common::encode_frame(frame));
  return id;
}

void Client::write(std::string bytes) {
  if (closed_) return;
  queued_.push_back(std::move(bytes));
  if (writing_.empty()) write_next();
}

void Client::write_next() {
  if (queued_.empty() || closed_) return;
  writing_.swap(queued_);
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(writing_.size());
  for (const auto& b : writing_) buffers.push_back(asio::buffer(b));
  with_stream([this, &buffers](auto& stream) {
    asio::async_write(stream, buffers, [self = shared_from_this()](const std::error_code& ec, std::size_t) {
      self->writing_.clear();
      if (ec) return self->fail(ec);
      self->write_next();
    });
  });
}

std::uint64_t Client::hello(const std::string& nick, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_hello()->set_nick(nick);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::login(const std::string& nick, const std::string& password, bool regain, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_hello()->set_nick(nick);
  f.mutable_hello()->set_password(password);
  f.mutable_hello()->set_regain(regain);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::register_account(const std::string& password, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_register_account()->set_password(password);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::change_password(const std::string& old_password, const std::string& new_password,
                                      ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_change_password()->set_old_password(old_password);
  f.mutable_change_password()->set_new_password(new_password);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::drop_account(const std::string& password, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_drop_account()->set_password(password);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::rename(const std::string& nick, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_rename()->set_nick(nick);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::join(const std::string& room, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_join()->set_room(room);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::join(const std::string& room, const std::string& key, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_join()->set_room(room);
  f.mutable_join()->set_key(key);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::leave(const std::string& room, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_leave()->set_room(room);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::say(const std::string& room, const std::string& text,
                          std::uint64_t client_msg_id, ReplyHandler h) {
  v1::ClientFrame f;
  auto* say = f.mutable_say();
  say->set_room(room);
  say->set_text(text);
  say->set_client_msg_id(client_msg_id);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::direct(const std::string& nick, const std::string& text, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_direct()->set_nick(nick);
  f.mutable_direct()->set_text(text);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::list_rooms(const std::string& cursor, std::uint32_t limit, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_list_rooms()->set_cursor(cursor);
  f.mutable_list_rooms()->set_limit(limit);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::who(const std::string& room, const std::string& cursor, std::uint32_t limit, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_who()->set_room(room);
  f.mutable_who()->set_cursor(cursor);
  f.mutable_who()->set_limit(limit);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::set_topic(const std::string& room, const std::string& topic, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_set_topic()->set_room(room);
  f.mutable_set_topic()->set_topic(topic);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::get_topic(const std::string& room, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_get_topic()->set_room(room);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::kick(const std::string& room, const std::string& nick, const std::string& reason,
                           ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_kick()->set_room(room);
  f.mutable_kick()->set_nick(nick);
  f.mutable_kick()->set_reason(reason);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::ban(const std::string& room, const std::string& mask, const std::string& reason,
                          std::uint32_t duration_s, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_ban()->set_room(room);
  f.mutable_ban()->set_mask(mask);
  f.mutable_ban()->set_reason(reason);
  f.mutable_ban()->set_duration_s(duration_s);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::unban(const std::string& room, const std::string& mask, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_unban()->set_room(room);
  f.mutable_unban()->set_mask(mask);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::invite(const std::string& room, const std::string& nick, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_invite()->set_room(room);
  f.mutable_invite()->set_nick(nick);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::set_modes(const std::string& room, v1::SetModesRequest modes, ReplyHandler h) {
  v1::ClientFrame f;
  *f.mutable_set_modes() = std::move(modes);
  f.mutable_set_modes()->set_room(room);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::get_modes(const std::string& room, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_set_modes()->set_room(room);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::set_role(const std::string& room, const std::string& nick, v1::Role role, ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_set_role()->set_room(room);
  f.mutable_set_role()->set_nick(nick);
  f.mutable_set_role()->set_role(role);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::history(const std::string& room, std::uint64_t before_seq,
                              std::optional<std::uint64_t> after_seq, std::uint32_t limit,
                              ReplyHandler h) {
  v1::ClientFrame f;
  auto* history = f.mutable_history();
  history->set_room(room);
  history->set_before_seq(before_seq);
  if (after_seq) history->set_after_seq(*after_seq);
  history->set_limit(limit);
  return request(std::move(f), std::move(h));
}

std::uint64_t Client::ping(ReplyHandler h) {
  v1::ClientFrame f;
  f.mutable_ping()->set_nonce(next_request_id_);
  return request(std::move(f), std::move(h));
}

}  // namespace chat::client
