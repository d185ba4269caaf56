#include "server/ops/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace chat::server {

namespace {

// /proc/self/stat's fields after the command name, which is in parentheses
// and may hold spaces: rest[0] is field 3 (state).
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = all.rfind(')');
  if (paren == std::string::npos) return {};
  std::istringstream rest(all.substr(paren + 1));
  return {std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
}

// "btime N" in /proc/stat: boot time, seconds since the epoch.
std::uint64_t boot_time() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      std::uint64_t value = 0;
      in >> value;
      return value;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

std::uint64_t count_fds() {
  std::error_code ec;
  std::uint64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n > 0 ? n - 1 : 0;  // less the one the iterator itself holds
}

}  // namespace

std::optional<ProcessMetrics> read_process_metrics() {
  // Field numbers as in proc(5): utime 14, stime 15, starttime 22, vsize 23, rss 24.
  const std::vector<std::string> f = stat_fields();
  constexpr std::size_t kFirst = 3;
  if (f.size() < 24 - kFirst + 1) return std::nullopt;
  auto field = [&f](std::size_t number) { return std::stoull(f[number - kFirst]); };
  const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  ProcessMetrics m;
  m.cpu_seconds = static_cast<double>(field(14) + field(15)) / ticks;
  m.start_time_seconds = static_cast<double>(boot_time()) + static_cast<double>(field(22)) / ticks;
  m.virtual_bytes = field(23);
  m.resident_bytes = field(24) * page;
  m.open_fds = count_fds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) m.max_fds = limit.rlim_cur;
  return m;
}

}  // namespace chat::server
