#pragma once
// Runs a program as a child process of the test: the one way the tests
// fork and exec (chatd, chat, chat-bench, python3, sh -c ...).
//
// The child gets a pipe on stdin, a pipe on stdout that a thread of ours
// drains at once and keeps line by line (so a chatty child never blocks on
// a full pipe), and the test's stderr. It dies with the test process, even
// an aborted one (PR_SET_PDEATHSIG): an orphan would hold ctest's output
// pipe open and turn a failure into a timeout. Descendants of the child are
// not covered: a shell's background jobs outlive it.
//
// Thread safety: construct, wait_exit, signal, write_line, close_stdin and
// destroy from one thread, and a thread that outlives the child (the death
// signal follows the forking thread, not the process). lines, text, wait
// and wait_line are safe from any thread: the reader thread appends under
// a mutex.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace chat::testing {

struct ChildOptions {
  std::vector<std::string> env = {};       // "NAME=value", added to (or replacing in) the test's environment
  std::optional<unsigned> max_fds = {};    // RLIMIT_NOFILE, soft and hard, for the child
  // RLIMIT_FSIZE's soft limit for the child (the hard one stays, so the
  // test can raise it again with prlimit).
  std::optional<std::uint64_t> max_file_bytes = {};
};

class ChildProcess {
 public:
  using Lines = std::vector<std::string>;
  static constexpr std::chrono::milliseconds kWait{20'000};

  // argv[0] is the program's path (no PATH search). Throws std::runtime_error
  // if the pipes or the fork fail; an exec that fails shows as exit status 127.
  explicit ChildProcess(std::vector<std::string> argv, ChildOptions options = {});
  ~ChildProcess();  // closes stdin; SIGKILL and reap if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The child's pid until it has been reaped by wait_exit, then -1.
  pid_t pid() const { return pid_; }

  // stdin: one line (a newline is added); throws if the write fails.
  void write_line(const std::string& line);
  void close_stdin();

  // stdout so far: complete lines (without '\n'; a last unterminated line
  // only once stdout has closed), and every byte exactly as written.
  Lines lines() const;
  std::string text() const;

  // Waits until pred(lines) holds, checked now and after every new line;
  // gives up early at end of stdout, since the lines cannot change after it.
  // The predicates run with the lines locked: they must not call this object.
  bool wait(const std::function<bool(const Lines&)>& pred, std::chrono::milliseconds timeout = kWait) const;
  // Waits for a line for which pred holds; returns the first such line.
  std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& pred,
                                           std::chrono::milliseconds timeout = kWait) const;
  // Waits for a line containing `needle`.
  bool wait_line(const std::string& needle, std::chrono::milliseconds timeout = kWait) const;

  // Waits up to `timeout` for the child to exit and reaps it; returns its
  // exit status, or 128 + the signal that killed it; nothing if it is still
  // running. Within the same deadline it then waits for the end of stdout,
  // so lines() and text() hold everything the child wrote (unless a
  // descendant of it still holds the pipe). Once reaped, later calls return
  // the same status.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  // Sends `sig` if the child has not been reaped yet.
  void signal(int sig);

 private:
  void read_loop(int fd);

  pid_t pid_ = -1;
  std::optional<int> status_;
  int stdin_ = -1;
  int wake_ = -1;  // eventfd: tells the reader to stop even if a descendant holds stdout open
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Lines lines_;        // guarded by mu_
  std::string text_;   // guarded by mu_
  bool eof_ = false;   // guarded by mu_
  std::thread reader_;
};

}  // namespace chat::testing
