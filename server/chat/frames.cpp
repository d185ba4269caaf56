#include "server/chat/frames.hpp"

#include <chrono>
#include <string>

namespace chat::server {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

v1::ServerFrame error_message(v1::Error::Code code, std::string_view message, std::uint64_t request_id,
                              std::uint32_t retry_after_ms) {
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  auto* error = frame.mutable_error();
  error->set_code(code);
  error->set_message(std::string(message));
  error->set_request_id(request_id);
  error->set_retry_after_ms(retry_after_ms);
  return frame;
}

common::SharedFrame error_frame(v1::Error::Code code, std::string_view message,
                                std::uint64_t request_id, std::uint32_t retry_after_ms) {
  return common::make_shared_frame(error_message(code, message, request_id, retry_after_ms));
}

}  // namespace chat::server
