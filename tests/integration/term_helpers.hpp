#pragma once
// Helpers for the terminal client's tests: shell commands (for tmux and
// the demo scripts), a private tmux server whose pane runs the full-screen
// `chat`, and, from tests/support, the TCP proxy that can cut every
// connection through it and ChildProcess for chat in line mode and chatd.
// Thread safety: each helper is used from the test thread.

#include <asio.hpp>
#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include <functional>

#include "support/child_process.hpp"
#include "support/tcp_proxy.hpp"
#include "support/wait.hpp"

namespace chat::testing {

using namespace std::chrono_literals;

// Runs a shell command (/bin/sh -c, stdin closed, stderr inherited) and
// returns (exit status, stdout); the status is -1 if it is still running
// after `timeout` (the shell is then killed).
inline std::pair<int, std::string> run_command(const std::string& command,
                                               std::chrono::milliseconds timeout = 120s) {
  ChildProcess sh({"/bin/sh", "-c", command});
  sh.close_stdin();
  const auto status = sh.wait_exit(timeout);
  return {status.value_or(-1), sh.text()};
}

// A private tmux server (-L) with one detached session, "t", whose pane
// runs sh; the tests type into it and read its screen.
class Tmux {
 public:
  Tmux(int cols, int rows) : socket_("chat-test-" + std::to_string(::getpid()) + "-" + std::to_string(next_++)) {
    // A private server (-L), no user config (-f /dev/null), a fixed size.
    run("new-session -d -s t -x " + std::to_string(cols) + " -y " + std::to_string(rows) +
        " 'env TERM=xterm-256color LANG=C.UTF-8 PS1=\"$ \" sh'");
    path_ = run("display -p '#{socket_path}'").second;
    while (!path_.empty() && path_.back() == '\n') path_.pop_back();
  }
  ~Tmux() {
    run("kill-server");
    // kill-server leaves the socket file behind.
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  std::pair<int, std::string> run(const std::string& args) const {
    return run_command("tmux -L " + socket_ + " -f /dev/null " + args + " 2>&1");
  }
  void keys(const std::string& keys) const { run("send-keys -t t " + keys); }
  // Literal text, then nothing else.
  void type(const std::string& text) const {
    // One shell word for run()'s sh: single-quoted, each ' as '\''.
    std::string quoted;
    for (char ch : text) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    run("send-keys -t t -l '" + quoted + "'");
  }
  std::string screen() const { return run("capture-pane -p -t t").second; }
  bool wait_screen(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout = 20s) const {
    return wait_until([&] { return pred(screen()); }, timeout, 50ms);
  }
  bool wait_text(const std::string& needle, std::chrono::milliseconds timeout = 20s) const {
    return wait_screen([&](const std::string& s) { return s.find(needle) != std::string::npos; }, timeout);
  }
  // Resizes the pane's window, as a user dragging the terminal's corner.
  void resize(int cols, int rows) const {
    run("resize-window -t t -x " + std::to_string(cols) + " -y " + std::to_string(rows));
  }
  // A tmux format for the pane's window: "#{window_bell_flag}", ...
  std::string format(const std::string& f) const {
    std::string out = run("display -p -t t '" + f + "'").second;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  // Pastes `text` as a terminal does: bracketed (ESC[200~ ... ESC[201~)
  // when the program asked for it; newlines arrive as CR.
  void paste(const std::string& text) const {
    std::string quoted;
    for (char ch : text) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    run("set-buffer -b p -- '" + quoted + "'");
    run("paste-buffer -p -d -b p -t t");
  }
  // The screen's rows, trailing blank rows dropped.
  std::vector<std::string> rows() const {
    const std::string s = screen();
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < s.size()) {
      const auto nl = s.find('\n', start);
      lines.push_back(s.substr(start, nl - start));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines;
  }
  std::string status_line() const {
    const std::string s = screen();
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < s.size()) {
      const auto nl = s.find('\n', start);
      lines.push_back(s.substr(start, nl - start));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines.size() >= 2 ? lines[lines.size() - 2] : "";
  }

 private:
  static inline int next_ = 0;
  std::string socket_;
  std::string path_;
};

// chatd as a child process, for restarting it on the same port.
// The in-memory store: a restart is a new epoch, the case these tests are about.
inline std::unique_ptr<ChildProcess> start_chatd(std::uint16_t port) {
  return std::make_unique<ChildProcess>(std::vector<std::string>{
      CHATD_PATH, "--store", "memory", "--bind", "127.0.0.1", "--port", std::to_string(port), "--reactors", "2",
      "--rate", "0", "--log-level", "warn", "--shutdown-grace-ms", "500"});
}

// Its port, from its "listening on" line (0 if it never said).
inline std::uint16_t chatd_port(ChildProcess& chatd) {
  if (!chatd.wait_line("listening on ", 20s)) return 0;
  const std::string line = chatd.lines().front();
  const auto colon = line.rfind(':', line.find(" with "));
  return static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
}

// `chat` in line mode (--plain, or --json), with more flags after the nick.
inline std::unique_ptr<ChildProcess> start_plain(std::uint16_t port, const std::string& nick,
                                                 const std::vector<std::string>& extra, bool json_mode = false) {
  std::vector<std::string> argv{CHAT_PATH, json_mode ? "--json" : "--plain", "--host", "127.0.0.1", "--port",
                                std::to_string(port), "--nick", nick};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<ChildProcess>(argv);
}

inline bool tmux_available() { return run_command("command -v tmux >/dev/null").first == 0; }

// Starts `chat` full screen in the tmux pane, in a shell line that reports
// its exit status as EXITED=N afterwards.
inline void start_ui(const Tmux& tmux, std::uint16_t port, const std::string& nick, const std::string& extra) {
  tmux.type(std::string(CHAT_PATH) + " --host 127.0.0.1 --port " + std::to_string(port) + " --nick " + nick + " " +
            extra + "; echo EXITED=$?");
  tmux.keys("Enter");
}

}  // namespace chat::testing
