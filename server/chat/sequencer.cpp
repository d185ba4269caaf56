#include "server/chat/sequencer.hpp"

#include "server/ops/metrics.hpp"

namespace chat::server {

void LocalSequencer::publish(RoomState& room, msg::Publish&& m) {
  v1::ServerFrame frame;
  auto* message = frame.mutable_message();
  message->set_room(room.name);
  message->set_sender(std::move(m.nick));
  message->set_text(std::move(m.text));
  message->set_seq(++room.last_seq);
  message->set_timestamp_ms(now_ms());
  // Encoded once for every member. The sender's own copy also carries its
  // request_id and client_msg_id, so it is the one other encoding.
  const SharedFrame shared = common::make_shared_frame(frame);
  frame.set_request_id(m.request_id);
  message->set_client_msg_id(m.client_msg_id);
  const SharedFrame own = common::make_shared_frame(frame);
  message->clear_client_msg_id();
  // One clock read per message, not per delivery: the outbox reads the
  // clock once per write and subtracts (net/outbox.cpp).
  fan_out_.broadcast(room, shared, m.session, own, monotonic_ns());
  store_.append(room.name, std::move(*message));
}

}  // namespace chat::server
