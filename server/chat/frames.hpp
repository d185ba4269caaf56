#pragma once
// Builders for the server's outgoing frames. Pure.

#include <cstdint>
#include <string_view>

#include "chat/v1/chat.pb.h"
#include "common/framing.hpp"

namespace chat::server {

// Unix time in milliseconds, the timestamp on every message.
std::int64_t now_ms();

common::SharedFrame error_frame(v1::Error::Code code, std::string_view message,
                                std::uint64_t request_id, std::uint32_t retry_after_ms = 0);
// The same, not yet encoded.
v1::ServerFrame error_message(v1::Error::Code code, std::string_view message, std::uint64_t request_id = 0,
                              std::uint32_t retry_after_ms = 0);

}  // namespace chat::server
