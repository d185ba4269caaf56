#include "server/runtime/background_thread.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <spdlog/spdlog.h>
#include <system_error>

namespace chat::server {

void run_as_background_thread(const char* who) {
  // PRIO_PROCESS with a thread id sets that thread's nice value alone.
  const auto tid = static_cast<id_t>(::gettid());
  errno = 0;
  const int current = ::getpriority(PRIO_PROCESS, tid);
  if (errno != 0 || ::setpriority(PRIO_PROCESS, tid, std::min(current + kBackgroundNiceness, 19)) != 0) {
    spdlog::debug("{}: cannot lower its priority: {}", who, std::error_code(errno, std::generic_category()).message());
  }
}

}  // namespace chat::server
