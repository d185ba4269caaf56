#pragma once
// Cluster mode's Sequencer (issue 11): a say goes to Redis through the
// room link, which numbers, stores and publishes it in one function call;
// every node's owner of the room, this one too, delivers it when it comes
// back on the room's channel (RoomShard::on(ClusterDeliver)). So nothing
// is numbered or stored here, and a say to Redis that fails is the
// sender's STORE_UNAVAILABLE, answered by the link.
// Thread safety: reactor-confined (the room owner's thread).

#include "server/chat/frames.hpp"
#include "server/chat/room_link.hpp"
#include "server/chat/sequencer.hpp"

namespace chat::server {

class ClusterSequencer final : public Sequencer {
 public:
  explicit ClusterSequencer(RoomLink& link) : link_(link) {}
  void publish(RoomState& room, msg::Publish&& m) override {
    link_.say(cluster::Say{room.name, std::move(m.nick), std::move(m.identity), m.client_msg_id, std::move(m.text),
                           now_ms(), cluster::make_origin(link_.node(), m.session, m.request_id)},
              m.session, m.request_id);
  }
  void on_durable(RoomState&, std::uint64_t) override {}
  void on_store_health(const msg::StoreHealth&) override {}
  void remember(const std::string&, const std::vector<RecentSend>&) override {}

 private:
  RoomLink& link_;
};

}  // namespace chat::server
