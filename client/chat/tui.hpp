#pragma once
// The full-screen client (ncursesw): a message pane per room with
// scrollback, a status line, and an input line with editing, history and
// Tab completion. All chat logic lives in ChatCore; this class only draws
// and reads keys.
// Input: stdin is watched on the same io_context through an
// asio::posix::stream_descriptor (async_wait for readable), and ncurses
// reads the keys in nodelay mode, so the whole client runs on one thread.
// SIGINT, SIGTERM and SIGWINCH arrive through an asio::signal_set; on
// SIGWINCH the screen is resized once (resizeterm), and the KEY_RESIZE that
// resizeterm queues only redraws.
// Keys: Alt+key arrives as ESC then the key, read together; an Alt+key
// with no binding is dropped, never typed. Pastes come bracketed
// (ESC[200~ ... ESC[201~, asked for with ESC[?2004h): one line goes into
// the input line, several go out as text (a pasted "/command" is said, not
// run), more than kPasteAsk lines only after a "y".
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
  // A paste of more lines than this asks first (irssi's paste_verify_line_count).
  static constexpr std::size_t kPasteAsk = 5;

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
  void on_alt_key(int status, wint_t ch);
  void on_csi(const std::string& params, wint_t final);
  void on_paste_key(int status, wint_t ch);
  void finish_paste();
  void send_pasted(const std::vector<std::string>& lines);
  void switch_relative(int delta);
  void jump_to_activity();
  void word_left();
  void word_right();
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
  bool pasting_ = false;   // between ESC[200~ and ESC[201~
  std::wstring paste_;     // what has been pasted so far
  std::vector<std::string> paste_pending_;  // a long paste waiting for "y"
  // Key codes ncurses gives for sequences of this terminal, if it knows them.
  int key_paste_begin_ = 0, key_paste_end_ = 0;
  int key_alt_left_ = 0, key_alt_right_ = 0, key_ctrl_left_ = 0, key_ctrl_right_ = 0;
  bool quit_ = false;
  bool curses_ = false;
  int saved_flags_ = -1;
  int palette_size_ = 0;
};

}  // namespace chat::term
