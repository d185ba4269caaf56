#include "server/chat/sequencer.hpp"

#include "server/ops/metrics.hpp"

namespace chat::server {

void LocalSequencer::remember(const std::string& room, const std::vector<RecentSend>& sends) {
  for (const RecentSend& s : sends) {
    if (!said_.recall(room, s.identity, s.client_msg_id)) {
      said_.note(room, s.identity, s.client_msg_id, Said{s.seq, s.timestamp_ms});
    }
  }
}

void LocalSequencer::publish(RoomState& room, msg::Publish&& m) {
  if (m.client_msg_id != 0) {
    if (const Said* said = said_.recall(room.name, m.identity, m.client_msg_id)) {
      resend(room, *said, m);
      return;
    }
  }
  if (!health_.ok) {
    router_.error_to_session(m.session, v1::Error::CODE_STORE_UNAVAILABLE,
                             "the server cannot store messages now; send it again later", m.request_id,
                             health_.retry_after_ms);
    return;
  }
  v1::ServerFrame frame;
  auto* message = frame.mutable_message();
  message->set_room(room.name);
  message->set_sender(std::move(m.nick));
  message->set_text(std::move(m.text));
  message->set_seq(++room.last_seq);
  message->set_timestamp_ms(now_ms());
  // Encoded once for every member. The sender's own copy also carries its
  // request_id and client_msg_id, so it is the one other encoding.
  // One clock read per message, not per delivery: the outbox reads the
  // clock once per flush pass and subtracts (net/outbox.cpp). The wait for
  // the store counts: latency is from sequencing to the write.
  PendingDelivery p{room.last_seq, monotonic_ns(), common::make_shared_frame(frame), m.session, nullptr, {}};
  frame.set_request_id(m.request_id);
  message->set_client_msg_id(m.client_msg_id);
  p.sender_frame = common::make_shared_frame(frame);
  if (m.client_msg_id != 0) said_.note(room.name, m.identity, m.client_msg_id, Said{p.seq, message->timestamp_ms()});
  if (store_.append(room.name, std::move(*message), m.identity)) {
    deliver(room, p);  // durable already: the memory store
  } else {
    room.pending.push_back(std::move(p));
  }
}

void LocalSequencer::on_durable(RoomState& room, std::uint64_t seq) {
  while (!room.pending.empty() && room.pending.front().seq <= seq) {
    deliver(room, room.pending.front());
    room.pending.pop_front();
  }
}

void LocalSequencer::deliver(RoomState& room, PendingDelivery& p) {
  fan_out_.broadcast(room, p.frame, p.sender, p.sender_frame, p.sequenced_ns);
  room.delivered_seq = p.seq;
  for (const auto& [session, request_id] : p.resent_by) {
    v1::ServerFrame again;
    common::FrameDecoder decoder(p.sender_frame->size());
    decoder.feed(*p.sender_frame, [&](std::string_view payload) {
      return again.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
    });
    again.set_request_id(request_id);
    router_.to_session(session, common::make_shared_frame(again));
  }
}

void LocalSequencer::resend(RoomState& room, const Said& said, const msg::Publish& m) {
  if (said.seq > room.delivered_seq) {
    for (PendingDelivery& p : room.pending) {
      if (p.seq == said.seq) p.resent_by.emplace_back(m.session, m.request_id);
    }
    return;  // it goes out with the original, once durable
  }
  v1::ServerFrame frame;
  frame.set_request_id(m.request_id);
  auto* message = frame.mutable_message();
  message->set_room(room.name);
  message->set_seq(said.seq);
  message->set_client_msg_id(m.client_msg_id);
  message->set_sender(m.nick);
  message->set_timestamp_ms(said.at_ms);
  MessageList stored;
  if (said.seq >= store_.first_seq(room.name) &&
      !store_.read(room.name, said.seq, said.seq, m.identity, stored)) {
    store_.read_later(room.name, said.seq, said.seq, m.identity, HistoryStore::Fill::kOwnCopy, std::move(frame),
                      m.session);
    return;
  }
  if (!stored.empty()) *message = stored[0];  // else gone from the store: the seq is what the sender needs
  router_.to_session(m.session, common::make_shared_frame(frame));
}

}  // namespace chat::server
