#include "support/chatd_process.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

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

}  // namespace

ChatdProcess::ChatdProcess(Options options) {
  std::vector<std::string> args = {CHATD_PATH, "--bind", "127.0.0.1", "--port", "0", "--metrics", "127.0.0.1:0"};
  args.insert(args.end(), options.args.begin(), options.args.end());
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  // Everything the child needs is built before fork: the test has other
  // threads, so the child may only make async-signal-safe calls until exec.
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const rlimit limit{options.max_fds.value_or(0), options.max_fds.value_or(0)};
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    // chatd dies with the test even when the test aborts (a sanitizer
    // report, a crash): an orphan would hold ctest's output pipe open and
    // turn the failure into a timeout.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(out[1], STDOUT_FILENO);
    ::close_range(3, ~0U, 0);  // none of the test's sockets live on in chatd
    if (options.max_fds) ::setrlimit(RLIMIT_NOFILE, &limit);
    ::execv(CHATD_PATH, argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  FILE* in = ::fdopen(out[0], "r");
  char line[512];
  for (int i = 0; i < 2 && std::fgets(line, sizeof line, in); ++i) {
    if (!port_) port_ = port_after(line, "listening on 127.0.0.1:");
    if (!metrics_port_) metrics_port_ = port_after(line, "metrics on http://127.0.0.1:");
  }
  // Keep reading chatd's stdout in the background so it never blocks on a full pipe.
  std::thread([in] {
    char sink[512];
    while (std::fgets(sink, sizeof sink, in)) {
    }
    std::fclose(in);
  }).detach();
}

ChatdProcess::~ChatdProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::optional<int> ChatdProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  if (sig != 0) ::kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

std::map<std::string, double> ChatdProcess::metrics() const {
  std::map<std::string, double> out;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(metrics_port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  std::istringstream lines(response.substr(std::min(response.size(), response.find("\r\n\r\n") + 4)));
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

std::size_t ChatdProcess::rss_bytes() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  }
  return 0;
}

std::size_t ChatdProcess::open_fds() const {
  std::size_t n = 0;
  if (DIR* dir = ::opendir(("/proc/" + std::to_string(pid_) + "/fd").c_str())) {
    while (dirent* e = ::readdir(dir)) n += e->d_name[0] != '.';
    ::closedir(dir);
  }
  return n;
}

double ChatdProcess::cpu_seconds() const {
  std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
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
