#pragma once
// The reactor's own side of the chat: the sessions that live on it, which of
// them are in each room, and the answers and fan-out that arrive for them.
// A Deliver from a room owner becomes one LocalFrameRef handed to every
// local member; an owner's answer (join, nick, direct message, room list)
// goes to the session that asked. Sessions reach the rest of the server
// through it: the router, the authenticator, the shared scratch buffers, the
// flush list.
// Thread safety: reactor-confined.

#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/app/config.hpp"
#include "server/auth/authenticator.hpp"
#include "common/mailbox.hpp"
#include "server/chat/remote_directs.hpp"
#include "server/chat/remote_rooms.hpp"
#include "server/chat/router.hpp"
#include "server/net/admission.hpp"
#include "server/net/transport.hpp"
#include "server/ops/metrics.hpp"
#include "server/session/creation_budget.hpp"

namespace chat::server {

class Session;

class LocalHub {
 public:
  // `remote`: in cluster mode, where a DM from another node is answered;
  // `rooms_elsewhere`: where the room list asks for the other nodes' rooms.
  LocalHub(asio::io_context& io, std::uint32_t index, const Config& config, ReactorMetrics& metrics,
           Router& router, Authenticator& authenticator, RemoteDirects* remote = nullptr,
           RemoteRooms* rooms_elsewhere = nullptr);
  ~LocalHub();

  // A new connection, greeted with `welcome`: a session with id `id` (the
  // one admission gave it), or with the next id here if 0.
  void adopt(std::unique_ptr<Transport> transport, const SharedFrame& welcome, SessionId id = 0);
  std::size_t session_count() const { return sessions_.size(); }

  // What arrives for the sessions here.
  void on(msg::Deliver&& m);
  void on(msg::Joined&& m);
  void on(msg::JoinRefused&& m);
  void on(const msg::Removed& m);
  void on(msg::Authenticated&& m);
  void on(msg::AccountChanged&& m);
  void on(const msg::Regained& m);
  void on(msg::NickClaimed&& m);
  void on(msg::DeliverDirect&& m);
  void on(msg::StoredDirects&& m);
  void on(msg::ToSession&& m);
  void on(msg::RoomList&& m);

  // Sessions, on their reactor's thread.
  // One page of the room list (see ListRoomsRequest).
  void list_rooms(SessionId session, std::uint64_t request_id, const v1::ListRoomsRequest& request);
  void remove_local_member(const std::string& room, Session* session);
  // Writes `session` with the flush at the end of this turn: one gather
  // write per session per turn, whatever was queued before it.
  void schedule_flush(std::shared_ptr<Session> session);
  // Removes a closing session from every list and tells the owners of its
  // rooms and nick; runs later, at a safe point, never inside the session's
  // own handler.
  void retire(std::shared_ptr<Session> session);

  // Admission (net/admission.hpp): where to report, the reports, and the
  // acceptor's order to drop a connection that has not logged in.
  void report_to(common::Mailbox<AdmissionNote>& notes);
  void note_logged_in(SessionId id) { note(id, AdmissionNote::Kind::kLoggedIn); }
  void note_closed(SessionId id) { note(id, AdmissionNote::Kind::kClosed); }
  void drop_pre_login(SessionId id);
  // Issue 12: the rooms created by an address whose connections live here,
  // against this reactor's share of --room-create-per-address.
  CreationBudget& address_budget(const std::string& address);

  // The reactor's tick and shutdown.
  void check_idle();
  void stop_reading();
  void close_all(v1::Presence::Reason reason, const SharedFrame& last_frame, std::chrono::milliseconds grace);
  void clear();

  const Config& config() const { return config_; }
  ReactorMetrics& metrics() { return metrics_; }
  Router& router() { return router_; }
  Authenticator& authenticator() { return authenticator_; }
  asio::io_context& executor() { return io_; }
  void assert_owner() const { router_.assert_owner(); }
  // Scratch space shared by all sessions here (one read, one write at a time).
  std::span<char> read_buffer() { return read_buffer_; }
  std::span<char> write_buffer() { return write_buffer_; }
  v1::ClientFrame& scratch_request() { return scratch_request_; }

 private:
  Session* find(SessionId id);
  void flush_sessions();
  void forget(const std::shared_ptr<Session>& session);
  void note(SessionId id, AdmissionNote::Kind kind);

  asio::io_context& io_;
  const std::uint32_t index_;
  const Config& config_;
  ReactorMetrics& metrics_;
  Router& router_;
  Authenticator& authenticator_;
  RemoteDirects* remote_;
  RemoteRooms* rooms_elsewhere_;

  std::uint64_t next_serial_ = 1;
  std::unordered_map<SessionId, std::shared_ptr<Session>> sessions_;
  std::unordered_map<std::string, std::vector<Session*>> local_members_;  // room -> sessions here
  std::vector<std::shared_ptr<Session>> to_flush_;
  bool flush_posted_ = false;

  // A list_rooms gathering one RoomList from every reactor.
  struct PendingList {
    SessionId session = 0;
    std::uint64_t request_id = 0;
    std::uint32_t waiting = 0;
    std::size_t limit = 0;
    bool more = false;  // some shard has rooms after those it sent
    std::vector<v1::RoomInfo> rooms;
    // Cluster mode: secret rooms held here, and the rooms Redis listed.
    std::vector<std::string> hidden;
    std::vector<v1::RoomInfo> elsewhere;
  };
  void reply_list(PendingList& pending);
  std::uint64_t next_query_ = 1;
  std::unordered_map<std::uint64_t, PendingList> pending_lists_;

  std::unique_ptr<common::Mailbox<AdmissionNote>::Producer> admission_;  // null: no acceptor (tests)
  std::unordered_map<std::string, CreationBudget> address_created_;  // issue 12; idle ones pruned each tick

  std::vector<char> read_buffer_;
  std::vector<char> write_buffer_;
  v1::ClientFrame scratch_request_;
};

}  // namespace chat::server
