#pragma once
// A reactor: one thread running one io_context (epoll underneath), the
// sessions adopted onto it, its local room membership, and its shard of the
// rooms and nicks. Other threads reach it only through its inbox.
// Thread safety: reactor-confined, except inbox(), which any thread may send
// into through its own Producer, and metrics(), which any thread may read.

#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mailbox.hpp"
#include "common/thread_owner.hpp"
#include "server/config.hpp"
#include "server/messages.hpp"
#include "server/metrics.hpp"
#include "server/nick_shard.hpp"
#include "server/room_shard.hpp"

namespace chat::server {

class Session;

// What every reactor shares: immutable once the server has started.
struct ServerContext {
  Config config;
  std::uint32_t reactors = 1;
  std::uint64_t epoch = 0;
  SharedFrame welcome;
};

class Reactor final : public Router {
 public:
  using Inbox = common::Mailbox<Message>;

  Reactor(std::uint32_t index, const ServerContext& context);
  ~Reactor() override;

  // Before the threads start: one producer into each other reactor's inbox.
  void connect(std::vector<std::unique_ptr<Reactor>>& all);
  // The thread body: runs the loop until shutdown has finished.
  void run();

  // Testing and fuzzing: drive this reactor from the calling thread instead
  // of run(). attach() makes the caller the owner; poll() runs whatever is
  // ready without blocking and says how many handlers ran; adopt() takes a
  // connected socket as if the acceptor had handed it over.
  void attach();
  std::size_t poll() { return io_.poll(); }
  void adopt(int fd) { on(msg::Adopt{fd}); }
  std::size_t session_count() const { return sessions_.size(); }

  Inbox& inbox() { return inbox_; }
  const ReactorMetrics& metrics() const { return metrics_; }
  std::uint64_t mailbox_wakeups() const { return inbox_.wakeups(); }

  // ---- reactor thread only
  std::uint32_t reactor_count() const override { return context_.reactors; }
  void send(std::uint32_t to, Message&& m) override;

  const Config& config() const { return context_.config; }
  ReactorMetrics& metrics() { return metrics_; }
  std::uint32_t room_owner(const std::string& room) const;
  std::uint32_t nick_owner(const std::string& nick) const;
  // Scratch space shared by all sessions of this reactor (one read, one
  // write at a time).
  std::span<char> read_buffer() { return read_buffer_; }
  std::span<char> write_buffer() { return write_buffer_; }
  v1::ClientFrame& scratch_request() { return scratch_request_; }

  void schedule_flush(std::shared_ptr<Session> session);
  void remove_local_member(const std::string& room, Session* session);
  void list_rooms(SessionId session, std::uint64_t request_id);
  // Removes a closing session from every list, tells the owners of its rooms
  // and nick; runs later, at a safe point, never inside the session's handler.
  void retire(std::shared_ptr<Session> session);

 private:
  void dispatch(Message&& m);
  void wait_inbox();
  void drain_inbox();
  void flush_sessions();
  void start_tick();
  void begin_stop();
  void forget(const std::shared_ptr<Session>& session);
  Session* find(SessionId id);

  void on(msg::Adopt&& m);
  void on(msg::Stop&& m);
  void on(msg::Barrier&& m);
  void on(msg::Deliver&& m);
  void on(msg::Joined&& m);
  void on(msg::JoinRefused&& m);
  void on(msg::RoomList&& m);
  void on(msg::NickClaimed&& m);
  void on(msg::DeliverDirect&& m);
  void on(msg::ToSession&& m);
  void on(msg::ListRooms&& m);

  const std::uint32_t index_;
  const ServerContext& context_;
  common::ThreadOwner owner_;
  asio::io_context io_;
  Inbox inbox_;
  asio::posix::stream_descriptor wake_;
  std::vector<std::unique_ptr<Inbox::Producer>> peers_;  // [r]: into reactor r's inbox
  asio::steady_timer tick_;
  ReactorMetrics metrics_;

  std::uint64_t next_serial_ = 1;
  std::unordered_map<SessionId, std::shared_ptr<Session>> sessions_;
  std::unordered_map<std::string, std::vector<Session*>> local_members_;  // room -> sessions here
  std::vector<std::shared_ptr<Session>> to_flush_;
  bool flush_posted_ = false;

  RoomShard rooms_;
  NickShard nicks_;

  struct PendingList {
    SessionId session = 0;
    std::uint64_t request_id = 0;
    std::uint32_t waiting = 0;
    std::vector<v1::RoomInfo> rooms;
  };
  std::uint64_t next_query_ = 1;
  std::unordered_map<std::uint64_t, PendingList> pending_lists_;

  bool stopping_ = false;
  std::uint32_t barriers_[3] = {0, 0, 0};

  std::vector<char> read_buffer_;
  std::vector<char> write_buffer_;
  v1::ClientFrame scratch_request_;
};

}  // namespace chat::server
