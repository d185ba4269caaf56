// The cluster link's direct messages (issue 11). A DM for a nick no session
// on this node holds goes to the node holding the nick's lease, on that
// node's own channel (chat_direct: the lease is read and the DM published
// in one call, so no node holding it means NO_SUCH_NICK at once). That
// node's link hands it to the nick's owner there, which delivers it as a
// local DM and answers, ack or refusal, on the sender's node's channel;
// the sender's link gives the answer the request's id and hands it to the
// sender's session.
//
//   sender ─▶ nick owner ─RemoteDirects─▶ link ─chat_direct─▶ chat:node:{B}:directs
//   node B's link ─RouteDirect{origin}─▶ nick owner ─▶ session ─answer─▶ chat:node:{A}:directs ─▶ sender
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "server/chat/frames.hpp"
#include "server/chat/router.hpp"
#include "server/cluster/cluster_link.hpp"
#include "server/cluster/cluster_say.hpp"

namespace chat::server {

namespace {

std::string to_hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool from_hex(const std::string& hex, std::string& out) {
  auto value = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return false;
  out.clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = value(hex[i]);
    const int lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

}  // namespace

void ClusterLink::handle(const link_mail::Direct& d) {
  if (!connected()) {
    answer_session(d.session,
                   error_frame(v1::Error::CODE_STORE_UNAVAILABLE,
                               "the cluster's Redis cannot be reached now; send it again later", d.request_id, 1000),
                   v1::Error::CODE_STORE_UNAVAILABLE);
    return;
  }
  const nlohmann::json payload = {{"kind", "direct"},
                                  {"to", d.to},
                                  {"from", d.from_nick},
                                  {"text", d.text},
                                  {"origin", cluster::make_origin(options_.node, d.session, d.request_id)}};
  try {
    const auto started = Clock::now();
    const redis::Reply reply = cmd_->command(cluster::direct_command(d.folded, payload.dump()));
    timed(started);
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) return;  // its node answers
    if (redis::is_error(reply.get())) {
      counters_.script_errors.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("cluster: a direct message failed: {}", redis::text(reply.get()));
    }
    answer_session(d.session, error_frame(v1::Error::CODE_NO_SUCH_NICK, "no such nick: " + d.to, d.request_id),
                   v1::Error::CODE_NO_SUCH_NICK);
  } catch (const redis::Error& e) {
    answer_session(d.session,
                   error_frame(v1::Error::CODE_STORE_UNAVAILABLE, "the cluster's Redis went away; send it again",
                               d.request_id, 1000),
                   v1::Error::CODE_STORE_UNAVAILABLE);
    drop(e.what());
  }
}

void ClusterLink::handle(const link_mail::Answer& a) {
  if (!connected()) return;  // the sender hears nothing: as a DM to a node that died
  const std::string node = a.origin.substr(0, a.origin.find(':'));
  const nlohmann::json payload = {{"kind", "answer"}, {"origin", a.origin}, {"frame", to_hex(a.frame)}};
  try {
    cmd_->command({"PUBLISH", cluster::keys::node_channel(node), payload.dump()});
  } catch (const redis::Error& e) {
    drop(e.what());
  }
}

void ClusterLink::on_node_message(const std::string& payload) {
  const auto j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  auto text = [&](const char* name) {
    const auto it = j.is_object() ? j.find(name) : j.end();
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string kind = text("kind");
  const std::string origin = text("origin");
  if (kind == "direct" && !origin.empty() && !text("to").empty()) {
    const std::string to = text("to");
    const auto owner = Router::nick_owner(to, static_cast<std::uint32_t>(reactors_.size()));
    reactors_[owner]->send(msg::RouteDirect{to, text("from"), text("text"), 0, 0, origin});
    return;
  }
  SessionId session = 0;
  std::uint64_t request_id = 0;
  std::string bytes;
  v1::ServerFrame frame;
  if (kind == "answer" && cluster::parse_origin(origin, options_.node, session, request_id) &&
      from_hex(text("frame"), bytes) && frame.ParseFromString(bytes)) {
    frame.set_request_id(request_id);
    if (frame.has_error()) frame.mutable_error()->set_request_id(request_id);
    const auto code = frame.has_error() ? frame.error().code() : v1::Error::CODE_UNSPECIFIED;
    answer_session(session, common::make_shared_frame(frame), code);
    return;
  }
  spdlog::error("cluster: a message on {} that is neither a direct message nor an answer", node_channel_);
}

}  // namespace chat::server
