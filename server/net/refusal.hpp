#pragma once
// How chatd turns a connection away before it has a session: one frame (or
// none), a FIN after it, and what the client already sent read first, so
// the close that follows sends no RST (an RST would make the client's
// kernel drop the frame unread). The acceptor refuses this way past its
// admission limits, the TLS transport a plaintext client on the TLS port.
// Thread safety: touches only the descriptor given.

#include <sys/socket.h>

#include <string_view>

namespace chat::server {

inline void send_refusal(int fd, std::string_view frame) {
  if (!frame.empty()) {
    [[maybe_unused]] const ssize_t sent = ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  ::shutdown(fd, SHUT_WR);
  char sink[1024];
  for (int i = 0; i < 4 && ::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
  }
}

}  // namespace chat::server
