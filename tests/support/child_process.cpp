#include "support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string_view>

extern char** environ;

namespace chat::testing {

namespace {

// The test's environment with `extra` ("NAME=value") added; an entry of the
// same name is replaced.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('=') + 1);  // with the '='
    const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const std::string& x) {
      return std::string_view(x).substr(0, x.find('=') + 1) == name;
    });
    if (!replaced) out.emplace_back(entry);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void close_fds(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, ChildOptions options) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    close_fds({in[0], in[1]});
    throw std::runtime_error("ChildProcess: pipe");
  }
  wake_ = ::eventfd(0, EFD_CLOEXEC);
  if (wake_ < 0) {
    close_fds({in[0], in[1], out[0], out[1]});
    throw std::runtime_error("ChildProcess: eventfd");
  }

  // Everything the child needs is built before fork: the test has other
  // threads (which may hold the allocator's locks), so the child makes only
  // async-signal-safe calls until exec.
  std::vector<char*> args = pointers(argv);
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  if (!options.env.empty()) {
    env_strings = merged_environment(options.env);
    envp = pointers(env_strings);
  }
  const rlimit limit{options.max_fds.value_or(0), options.max_fds.value_or(0)};
  const bool set_limit = options.max_fds.has_value();
  rlimit file_limit{};
  ::getrlimit(RLIMIT_FSIZE, &file_limit);
  const bool set_file_limit = options.max_file_bytes.has_value();
  if (set_file_limit) file_limit.rlim_cur = *options.max_file_bytes;
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) {
    close_fds({in[0], in[1], out[0], out[1], wake_});
    throw std::runtime_error("ChildProcess: fork");
  }
  if (pid_ == 0) {
    // Die with the test, even an aborted one; if it died before prctl took
    // effect, the child has already been reparented.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (::dup2(in[0], STDIN_FILENO) < 0 || ::dup2(out[1], STDOUT_FILENO) < 0) ::_exit(127);
    // Nothing else of the test's (sockets of in-process servers and
    // clients, other children's pipes) lives on in the child.
    ::close_range(3, ~0U, 0);
    if (set_limit && ::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(127);
    if (set_file_limit && ::setrlimit(RLIMIT_FSIZE, &file_limit) != 0) ::_exit(127);
    if (envp.empty()) {
      ::execv(args[0], args.data());
    } else {
      ::execve(args[0], args.data(), envp.data());
    }
    ::_exit(127);
  }

  ::close(in[0]);
  ::close(out[1]);
  stdin_ = in[1];
  try {
    reader_ = std::thread([this, fd = out[0]] { read_loop(fd); });
  } catch (...) {
    close_fds({out[0], stdin_, wake_});
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    throw;
  }
}

ChildProcess::~ChildProcess() {
  close_stdin();
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  // The child is gone, but a descendant of it may still hold stdout open:
  // tell the reader to stop instead of waiting for end of file.
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t ignored = ::write(wake_, &one, sizeof one);
  reader_.join();
  ::close(wake_);
}

void ChildProcess::write_line(const std::string& line) {
  const std::string l = line + "\n";
  if (stdin_ >= 0 && ::write(stdin_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) {
    throw std::runtime_error("ChildProcess: write to the child's stdin failed");
  }
}

void ChildProcess::close_stdin() {
  if (stdin_ >= 0) ::close(stdin_);
  stdin_ = -1;
}

ChildProcess::Lines ChildProcess::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

std::string ChildProcess::text() const {
  std::lock_guard lock(mu_);
  return text_;
}

bool ChildProcess::wait(const std::function<bool(const Lines&)>& pred, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  // After end of stdout the lines never change again: stop waiting then.
  cv_.wait_for(lock, timeout, [&] { return eof_ || pred(lines_); });
  return pred(lines_);
}

std::optional<std::string> ChildProcess::wait_for_line(const std::function<bool(const std::string&)>& pred,
                                                       std::chrono::milliseconds timeout) const {
  std::optional<std::string> found;
  std::size_t checked = 0;
  wait(
      [&](const Lines& ls) {
        for (; !found && checked < ls.size(); ++checked) {
          if (pred(ls[checked])) found = ls[checked];
        }
        return found.has_value();
      },
      timeout);
  return found;
}

bool ChildProcess::wait_line(const std::string& needle, std::chrono::milliseconds timeout) const {
  return wait_for_line([&](const std::string& l) { return l.find(needle) != std::string::npos; }, timeout)
      .has_value();
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto nap = std::chrono::milliseconds(1);
  while (!status_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(nap, deadline - now));
    nap = std::min(nap * 2, std::chrono::milliseconds(10));
  }
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return eof_; });
  return status_;
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

void ChildProcess::read_loop(int fd) {
  std::string partial;
  char buf[4096];
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, static_cast<std::size_t>(n));
    std::lock_guard lock(mu_);
    text_.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
      lines_.push_back(partial.substr(0, nl));
      partial.erase(0, nl + 1);
    }
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mu_);
  if (!partial.empty()) lines_.push_back(partial);
  eof_ = true;
  cv_.notify_all();
}

}  // namespace chat::testing
