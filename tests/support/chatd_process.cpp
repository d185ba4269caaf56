#include "support/chatd_process.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>

#include "support/wait.hpp"

namespace chat::testing {

namespace {

std::uint16_t port_after(const std::string& line, const std::string& marker) {
  const auto at = line.find(marker);
  if (at == std::string::npos) return 0;
  std::size_t i = at + marker.size();
  std::size_t j = i;
  while (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j]))) ++j;
  return j > i ? static_cast<std::uint16_t>(std::stoi(line.substr(i, j - i))) : 0;
}

std::vector<std::string> chatd_argv(const std::string& data_dir, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {CHATD_PATH, "--bind", "127.0.0.1", "--port", "0", "--metrics", "127.0.0.1:0",
                                   "--data-dir", data_dir};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// chatd prints both lines as soon as it listens; this only bounds a chatd
// that never does (it crashed, or hangs), so the test fails instead of
// running into ctest's timeout.
constexpr std::chrono::seconds kStartTimeout{60};

}  // namespace

// Every test client comes from 127.0.0.1, one address playing many users:
// the per-address limits are off unless a flag turns them on (flags win over
// the environment; admission_test.cpp does so).
const std::vector<std::string> kOneAddressManyUsers = {"CHATD_CONNECT_RATE=0",
                                                       "CHATD_MAX_CONNECTIONS_PER_ADDRESS=0"};

std::optional<TempDir> own_dir_if(const std::string& given) {
  if (!given.empty()) return std::nullopt;
  return std::make_optional<TempDir>("chatd-data");
}

ChatdProcess::ChatdProcess(Options options)
    : own_data_(own_dir_if(options.data_dir)),
      child_(chatd_argv(own_data_ ? own_data_->str() : options.data_dir, options.args),
             ChildOptions{.env = kOneAddressManyUsers, .max_fds = options.max_fds,
                          .max_file_bytes = options.max_file_bytes}) {
  child_.wait(
      [this](const ChildProcess::Lines& lines) {
        for (const auto& line : lines) {
          if (!port_) port_ = port_after(line, "listening on 127.0.0.1:");
          if (!tls_port_) tls_port_ = port_after(line, "TLS on 127.0.0.1:");
          if (!metrics_port_) metrics_port_ = port_after(line, "metrics on http://127.0.0.1:");
        }
        // The metrics line comes last (with --tls-only, no plaintext line).
        return (port_ != 0 || tls_port_ != 0) && metrics_port_ != 0;
      },
      kStartTimeout);
}

std::vector<std::string> ChatdProcess::output() const { return child_.lines(); }

std::optional<int> ChatdProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (sig != 0) child_.signal(sig);
  return child_.wait_exit(timeout);
}

HttpReply http_request(const std::string& host, std::uint16_t port, const std::string& method,
                       const std::string& path) {
  HttpReply reply;
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    return reply;
  }
  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    ::close(fd);
    return reply;
  }
  const std::string request = method + " " + path + " HTTP/1.0\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto end = response.find("\r\n\r\n");
  if (end == std::string::npos || response.rfind("HTTP/", 0) != 0) return reply;
  reply.head = response.substr(0, end);
  reply.body = response.substr(end + 4);
  reply.status = std::stoi(reply.head.substr(reply.head.find(' ') + 1, 3));
  return reply;
}

std::map<std::string, double> ChatdProcess::metrics() const {
  std::map<std::string, double> out;
  std::istringstream lines(http("GET", "/metrics").body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

double ChatdProcess::metric(const std::string& name) const {
  const auto all = metrics();
  auto it = all.find(name);
  return it == all.end() ? -1 : it->second;
}

bool ChatdProcess::wait_metric(const std::string& name, double value, std::chrono::milliseconds timeout) const {
  return wait_until([&] { return metric(name) == value; }, timeout, std::chrono::milliseconds(20));
}

namespace {

// A "Name:   123 kB" line of /proc/PID/status, in bytes; 0 if absent.
std::size_t status_bytes(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  const std::string prefix = field + ":";
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(prefix, 0) == 0) return std::stoul(line.substr(prefix.size())) * 1024;
  }
  return 0;
}

}  // namespace

std::size_t ChatdProcess::rss_bytes() const { return status_bytes(pid(), "VmRSS"); }

std::size_t ChatdProcess::peak_rss_bytes() const { return status_bytes(pid(), "VmHWM"); }

bool ChatdProcess::reset_peak_rss() const {
  std::ofstream clear_refs("/proc/" + std::to_string(pid()) + "/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return clear_refs.good();
}

std::size_t ChatdProcess::open_fds() const {
  std::size_t n = 0;
  if (DIR* dir = ::opendir(("/proc/" + std::to_string(pid()) + "/fd").c_str())) {
    while (dirent* e = ::readdir(dir)) n += e->d_name[0] != '.';
    ::closedir(dir);
  }
  return n;
}

double ChatdProcess::cpu_seconds() const {
  std::ifstream stat("/proc/" + std::to_string(pid()) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which is in parentheses): utime is the 14th field overall.
  std::istringstream rest(all.substr(all.rfind(')') + 2));
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace chat::testing
