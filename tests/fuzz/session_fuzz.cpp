// libFuzzer target: a whole reactor with real sessions, driven from this
// thread. The input is a script of chunks, each sent by one of two clients
// over a socketpair; the reactor decodes, handles and answers them (rooms,
// nicks, history, direct messages all live on the one reactor). Sanitizers
// catch what goes wrong; the target also checks the sessions all go away.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include "server/runtime/reactor.hpp"
#include "server/store/memory_store.hpp"

namespace {

chat::server::ServerContext& context() {
  static chat::server::ServerContext ctx = [] {
    chat::server::ServerContext c;
    c.config.max_frame_bytes = 4096;
    c.config.max_body_bytes = 512;
    c.config.history_per_room = 16;
    c.config.replay_on_join = 4;
    c.config.max_history_page = 8;
    c.config.outbox_cap_bytes = 16 * 1024;
    c.config.rate_per_sec = 0;
    c.reactors = 1;
    c.epoch = 1;
    c.welcome = std::make_shared<const std::string>("\x00", 1);  // an empty ServerFrame
    // Invalid UTF-8 in a string field is refused by the parser, which also
    // logs; keep the fuzzer's output readable.
    google::protobuf::SetLogHandler(nullptr);
    // Nor log every connection the fuzzer makes.
    spdlog::set_level(spdlog::level::off);
    return c;
  }();
  return ctx;
}

chat::server::Store& store() {
  static chat::server::MemoryStore memory(context().config.history_per_room, context().config.history_memory);
  return memory;
}

// Reads and discards what the server sent this client; says whether there
// was anything. One static buffer: a 64 KiB local would have its ASan
// shadow set up and torn down on every call.
bool drain(int fd) {
  static char buf[65536];
  bool any = false;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return any;
    any = true;
    if (static_cast<std::size_t>(n) < sizeof buf) return any;  // a short read took all there was
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::unique_ptr<chat::server::Reactor>> reactors;
  reactors.push_back(std::make_unique<chat::server::Reactor>(0, context(), store()));
  auto& reactor = *reactors[0];
  reactor.connect(reactors);
  reactor.attach();

  int peers[2];
  for (int& peer : peers) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) std::abort();
    reactor.adopt(pair[0]);
    peer = pair[1];
  }
  // Runs whatever is ready, reads what it sent, and repeats only when there
  // was something to read: reading can wake a session waiting to write, but
  // when nothing was read no descriptor changed since poll() found nothing
  // more to do, and polling again would only cost an empty epoll_wait.
  auto settle = [&] {
    for (int i = 0; i < 64 && reactor.poll() > 0; ++i) {
      const bool read0 = drain(peers[0]);
      const bool read1 = drain(peers[1]);
      if (!read0 && !read1) break;
    }
  };
  settle();

  // Script: [header: bit 7 = which client, bits 0-6 = chunk length] [chunk].
  std::size_t at = 0;
  while (at < size) {
    const std::uint8_t header = data[at++];
    const std::size_t n = std::min<std::size_t>(header & 0x7f, size - at);
    const int peer = peers[header >> 7];
    if (n > 0) [[maybe_unused]] auto sent = ::send(peer, data + at, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    at += n;
    settle();
  }

  for (int peer : peers) ::close(peer);
  for (int i = 0; i < 1000 && (reactor.session_count() > 0 || reactor.poll() > 0); ++i) reactor.poll();
  if (reactor.session_count() != 0) std::abort();  // a session outlived its connection
  return 0;
}
