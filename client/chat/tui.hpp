#pragma once
// The full-screen client (ncursesw): a message pane per room with
// scrollback, a status line, and an input line with editing, history and
// Tab completion. All chat logic lives in ChatCore; this class only draws
// and reads keys.
// Input: stdin is watched on the same io_context through an
// asio::posix::stream_descriptor (async_wait for readable), and ncurses
// reads the keys in nodelay mode, so the whole client runs on one thread.
// SIGINT, SIGTERM and SIGWINCH arrive through an asio::signal_set.
// Thread safety: confined to the thread that calls run().

#include <asio.hpp>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "client/chat/chat_core.hpp"

namespace chat::term {

class Tui {
 public:
  explicit Tui(Options options);
  ~Tui();
  int run();

 private:
  struct Line {
    std::int64_t ts_ms = 0;
    std::string prefix;  // "<nick>", "*", "!", "--"
    int prefix_pair = 0;
    std::string text;
    int text_attr = 0;
  };
  struct Buffer {
    std::deque<Line> lines;
    int scroll = 0;  // screen rows up from the bottom
    int unread = 0;
    bool mentioned = false;
  };
  struct Completion {
    bool active = false;
    std::size_t start = 0;  // where the completed word begins in input_
    std::vector<std::wstring> candidates;
    std::size_t index = 0;
    std::wstring suffix;
  };

  void on_event(const UiEvent& e);
  void add_line(const std::string& room, Line line);
  Buffer& view();
  void wait_input();
  void read_keys();
  void on_key(int status, wint_t ch);
  void submit_input();
  void complete();
  void resize();
  void draw();
  void draw_messages(int top, int rows, int cols);
  void draw_status(int row, int cols);
  void draw_input(int row, int cols);
  int nick_pair(const std::string& nick) const;

  asio::io_context io_{1};
  ChatCore core_;
  asio::posix::stream_descriptor input_fd_;
  asio::signal_set signals_;
  std::map<std::string, Buffer> buffers_;  // by room; "" is the status buffer
  std::wstring input_;
  std::size_t cursor_ = 0;
  std::vector<std::wstring> history_;
  std::size_t history_pos_ = 0;
  std::wstring stash_;  // the line being typed when history browsing began
  Completion completion_;
  bool escape_ = false;  // ESC seen: the next key is Alt+key
  bool quit_ = false;
  bool curses_ = false;
  int saved_flags_ = -1;
  int palette_size_ = 0;
};

}  // namespace chat::term
