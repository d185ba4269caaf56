#include "client/chat/line_mode.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "client/chat/encoding.hpp"
#include "client/chat/format.hpp"

namespace chat::term {
namespace {

// A script or bot cannot pick another nick: a refused login ends the run.
Options with_login_exit(Options options) {
  options.quit_on_login_failure = true;
  return options;
}

}  // namespace

LineMode::LineMode(Options options, bool json, std::chrono::milliseconds eof_timeout)
    : json_(json),
      eof_timeout_(eof_timeout),
      core_(io_, with_login_exit(std::move(options)), [this](const UiEvent& e) { on_event(e); }),
      input_(io_),
      signals_(io_, SIGINT, SIGTERM) {
  // Asio makes the descriptor non-blocking, which would leak to whoever
  // shares our stdin after we exit; remember the flags to put them back.
  saved_flags_ = ::fcntl(STDIN_FILENO, F_GETFL);
  if (saved_flags_ != -1) input_.assign(::dup(STDIN_FILENO));
}

LineMode::~LineMode() {
  std::error_code ignored;
  input_.close(ignored);
  if (saved_flags_ != -1) ::fcntl(STDIN_FILENO, F_SETFL, saved_flags_);
}

int LineMode::run() {
  signals_.async_wait([this](std::error_code ec, int) {
    if (!ec) core_.quit();
  });
  core_.start();
  if (input_.is_open()) {
    read_input();
  } else {
    core_.finish(eof_timeout_);
  }
  io_.run();
  return output_broken_ ? 1 : core_.exit_status();
}

void LineMode::read_input() {
  asio::async_read_until(input_, buffer_, '\n', [this](std::error_code ec, std::size_t n) {
    if (ec == asio::error::operation_aborted || quit_) return;
    if (!ec) {
      std::string line(asio::buffers_begin(buffer_.data()), asio::buffers_begin(buffer_.data()) + n);
      buffer_.consume(n);
      core_.submit(line);
      // The line may have been /quit: then reading on would keep us alive.
      if (!quit_) read_input();
      return;
    }
    // EOF (or an unreadable stdin): the last line may lack its newline.
    if (buffer_.size() > 0) {
      std::string rest(asio::buffers_begin(buffer_.data()), asio::buffers_end(buffer_.data()));
      buffer_.consume(buffer_.size());
      core_.submit(rest);
    }
    core_.finish(eof_timeout_);
  });
}

void LineMode::stop_input() {
  std::error_code ignored;
  input_.cancel(ignored);
  signals_.cancel(ignored);
}

void LineMode::on_event(const UiEvent& e) {
  if (std::holds_alternative<QuitEvent>(e)) {
    quit_ = true;
    stop_input();
  }
  if (output_broken_) return;
  auto write = [this](const std::string& line) {
    if (line.empty()) return;
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    // One flush per line: a reader (a test, a pipe to grep) sees each event
    // as it happens.
    if (std::fflush(stdout) != 0) {
      output_broken_ = true;
      core_.quit();
    }
  };
  if (json_) {
    write(json_line(e));
  } else {
    // Shown in the charset lines are typed in (JSON is UTF-8 by definition).
    for (const auto& line : plain_lines(e)) write(from_utf8(line, core_.options().input_charset));
  }
}

}  // namespace chat::term
