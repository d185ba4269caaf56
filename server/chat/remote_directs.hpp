#pragma once
// Direct messages across a cluster's nodes (issue 11): where a nick owner
// sends a DM for a nick no session here holds, and where the node that
// delivered (or refused) a DM from another node sends its answer back to
// the sender. The cluster link is behind it (ClusterLinkPort): the DM goes
// to the node holding the nick's lease, on that node's own channel, and
// the answer on the sender's node's channel. On a single node there is
// none, and such a DM is NO_SUCH_NICK.
// Thread safety: reactor-confined (one per reactor).

#include <string>

#include "server/chat/messages.hpp"

namespace chat::server {

class RemoteDirects {
 public:
  virtual ~RemoteDirects() = default;
  // To the node holding `m.to`; the sender hears from that node, or
  // NO_SUCH_NICK from the link if no node holds it.
  virtual void send(msg::RouteDirect&& m) = 0;
  // The ack or refusal of a DM that came from `origin` (another node's
  // "node:session:request"); `frame` has no request_id, the sender's node
  // puts it in.
  virtual void answer(const std::string& origin, const v1::ServerFrame& frame) = 0;
};

}  // namespace chat::server
