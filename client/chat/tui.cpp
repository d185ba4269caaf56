#include "client/chat/tui.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <cstring>
#include <cwchar>
#include <cwctype>

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <ncursesw/curses.h>
// curses defines move(y, x) as a macro, which breaks std::move.
#undef move

#include "common/overloaded.hpp"
#include "client/chat/encoding.hpp"
#include "client/chat/format.hpp"
#include "client/chat/text.hpp"

namespace chat::term {
namespace {

using common::Overloaded;

constexpr int kPairStatus = 1;
constexpr int kPairError = 2;
constexpr int kPairInfo = 3;
constexpr int kPairTime = 4;
constexpr int kPairNickBase = 10;
constexpr std::size_t kMaxLines = 5000;

// Text from ChatCore (UTF-8) as the screen's wide characters, whatever the
// locale (encoding.hpp); invalid bytes show as '?'.
std::wstring widen(const std::string& s) {
  std::wstring out;
  for (const wchar_t wc : wide_from_utf8(s, L'?')) {
    if (is_bidi_control(static_cast<char32_t>(wc))) {
      // It would reorder what follows it on the screen: show it instead.
      wchar_t buf[16];
      std::swprintf(buf, 16, L"<U+%04X>", static_cast<unsigned>(wc));
      out += buf;
    } else {
      // Control characters from a peer must not drive the terminal.
      out.push_back(std::iswcntrl(static_cast<wint_t>(wc)) ? L' ' : wc);
    }
  }
  return out;
}

// What was typed (wide characters, from the terminal's charset by ncurses)
// as UTF-8 for ChatCore: the full screen's input_charset is UTF-8.
std::string narrow(const std::wstring& w) { return utf8_from_wide(w); }

int width_of(wchar_t wc) { return char_columns(wc); }

// The key code ncurses gives for `seq` on this terminal, or 0.
int key_code(const char* seq) {
  const int code = key_defined(seq);
  return code > 0 ? code : 0;
}

// Writes a terminal mode sequence ncurses does not know, after what ncurses
// has written (it flushes on refresh).
void write_mode(const char* seq) {
  std::fputs(seq, stdout);
  std::fflush(stdout);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_word_char(wchar_t wc) { return std::iswalnum(static_cast<wint_t>(wc)) != 0; }

std::uint32_t fnv1a(const std::string& s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

bool starts_with_ci(const std::wstring& s, const std::wstring& prefix) {
  if (prefix.size() > s.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::towlower(static_cast<wint_t>(s[i])) != std::towlower(static_cast<wint_t>(prefix[i]))) return false;
  }
  return true;
}

// One screen cell run: characters sharing an attribute.
struct Cell {
  wchar_t ch;
  attr_t attr;
  short pair;
};

}  // namespace

namespace {

// ncurses gives typed text as wide characters, and narrow() makes UTF-8 of
// them: whatever the locale, ChatCore gets UTF-8 from the full screen.
Options typed_as_utf8(Options options) {
  options.input_charset = "UTF-8";
  return options;
}

}  // namespace

Tui::Tui(Options options)
    : core_(io_, typed_as_utf8(std::move(options)), [this](const UiEvent& e) { on_event(e); }),
      input_fd_(io_),
      // Registered before initscr(), so ncurses leaves SIGWINCH to us.
      signals_(io_, SIGINT, SIGTERM, SIGWINCH) {
  buffers_[""];
}

Tui::~Tui() {
  if (curses_) {
    write_mode("\033[?2004l");
    endwin();
  }
  std::error_code ignored;
  input_fd_.close(ignored);
  if (saved_flags_ != -1) ::fcntl(STDIN_FILENO, F_SETFL, saved_flags_);
}

int Tui::run() {
  std::setlocale(LC_ALL, "");
  saved_flags_ = ::fcntl(STDIN_FILENO, F_GETFL);
  // Alt+N arrives as ESC N; do not wait a second to tell it from a lone ESC.
  set_escdelay(25);
  initscr();
  curses_ = true;
  cbreak();  // Ctrl+C stays a signal, handled below
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);
  if (has_colors()) {
    start_color();
    use_default_colors();
    init_pair(kPairStatus, COLOR_WHITE, COLOR_BLUE);
    init_pair(kPairError, COLOR_RED, -1);
    init_pair(kPairInfo, COLOR_CYAN, -1);
    init_pair(kPairTime, COLORS >= 16 ? 8 : COLOR_WHITE, -1);
    static const short k256[] = {33, 40, 166, 129, 37, 160, 178, 99, 64, 202, 31, 170};
    static const short k8[] = {COLOR_RED, COLOR_GREEN, COLOR_YELLOW, COLOR_BLUE, COLOR_MAGENTA, COLOR_CYAN};
    if (COLORS >= 256) {
      palette_size_ = 12;
      for (int i = 0; i < palette_size_; ++i) init_pair(static_cast<short>(kPairNickBase + i), k256[i], -1);
    } else {
      palette_size_ = 6;
      for (int i = 0; i < palette_size_; ++i) init_pair(static_cast<short>(kPairNickBase + i), k8[i], -1);
    }
  }
  key_paste_begin_ = key_code("\033[200~");
  key_paste_end_ = key_code("\033[201~");
  key_alt_left_ = key_code("\033[1;3D");
  key_alt_right_ = key_code("\033[1;3C");
  key_ctrl_left_ = key_code("\033[1;5D");
  key_ctrl_right_ = key_code("\033[1;5C");
  input_fd_.assign(::dup(STDIN_FILENO));
  std::function<void()> wait_signal = [this, &wait_signal] {
    signals_.async_wait([this, &wait_signal](std::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGWINCH) {
        resize();
        // resizeterm() queued a KEY_RESIZE; take it now (it only redraws).
        read_keys();
        wait_signal();
      } else {
        core_.quit();
      }
    });
  };
  wait_signal();
  core_.start();
  wait_input();
  draw();
  write_mode("\033[?2004h");  // bracketed paste on
  io_.run();
  write_mode("\033[?2004l");
  endwin();
  curses_ = false;
  return 0;
}

int Tui::nick_pair(const std::string& nick) const {
  if (palette_size_ == 0) return 0;
  return kPairNickBase + static_cast<int>(fnv1a(nick) % static_cast<std::uint32_t>(palette_size_));
}

Tui::Buffer& Tui::view() { return buffers_[core_.current_room()]; }

void Tui::add_line(const std::string& room, Line line) {
  auto it = buffers_.find(room);
  if (it == buffers_.end()) {
    // A window the core has (a room's replay comes before its "joined"):
    // its buffer starts now. Anything else goes where the user is.
    const auto& windows = core_.windows();
    if (std::find(windows.begin(), windows.end(), room) != windows.end()) it = buffers_.emplace(room, Buffer{}).first;
  }
  Buffer& b = it == buffers_.end() ? view() : it->second;
  b.lines.push_back(std::move(line));
  if (b.lines.size() > kMaxLines) b.lines.pop_front();
  // A reader scrolled up keeps looking at the same lines.
  if (b.scroll > 0) ++b.scroll;
}

void Tui::on_event(const UiEvent& e) {
  if (std::holds_alternative<QuitEvent>(e)) {
    quit_ = true;
    std::error_code ignored;
    input_fd_.cancel(ignored);
    signals_.cancel(ignored);
    return;
  }
  const std::int64_t ts = event_time(e);
  std::visit(
      Overloaded{
          [&](const MessageEvent& m) {
            Line l{ts, m.action ? "* " + m.nick : "<" + m.nick + ">", nick_pair(m.nick), m.text, 0};
            if (m.history) l.text_attr = A_DIM;
            // A highlight: our nick as a whole word, any case ("alice:",
            // "Alice,"), as irssi and weechat do. It rings the bell.
            const bool named = !m.own && !m.history && mentions(m.text, core_.nick());
            if (named) l.text_attr |= A_BOLD;
            add_line(m.room, l);
            if (named) beep();
            if (m.room != core_.current_room() && !m.history && !m.own) {
              Buffer& b = buffers_[m.room];
              ++b.unread;
              if (named) b.mentioned = true;
            }
          },
          [&](const DirectEvent& d) {
            // Its window: the core opened it (for an outgoing one, once the
            // server took the message).
            std::string window = core_.query_window(d.peer);
            if (window.empty()) window = core_.current_room();
            const std::string from = d.outgoing ? core_.nick() : d.peer;
            const bool action = d.text.rfind(kActionPrefix, 0) == 0;
            Line l{ts, action ? "* " + from : "<" + from + ">", nick_pair(from),
                   (action ? d.text.substr(kActionPrefix.size()) : d.text) + stored_note(d), 0};
            add_line(window, l);
            if (d.outgoing) {
              // Sent from another window (/msg): say so where it was typed.
              if (window != core_.current_room()) {
                add_line(core_.current_room(), Line{ts, "-> *" + d.peer + "*", nick_pair(d.peer), d.text, 0});
              }
              return;
            }
            // A direct message counts like a highlight: unread, "!", the bell.
            beep();
            if (window != core_.current_room()) {
              Buffer& b = buffers_[window];
              ++b.unread;
              b.mentioned = true;
            }
          },
          [&](const PresenceEvent& p) {
            add_line(p.room, Line{ts, "*", kPairInfo, plain_bodies(e).front().substr(2), A_DIM});
          },
          [&](const PresenceDeltaEvent& p) {
            add_line(p.room, Line{ts, "*", kPairInfo, plain_bodies(e).front().substr(2), A_DIM});
          },
          [&](const ErrorEvent& err) {
            add_line(core_.current_room(), Line{ts, "!", kPairError, err.code + " " + err.message, 0});
          },
          [&](const GapEvent& g) {
            add_line(g.room, Line{ts, "--", kPairError, plain_bodies(e).front().substr(3), A_BOLD});
          },
          [&](const InfoEvent& i) {
            if (i.everywhere) {
              for (auto& [name, b] : buffers_) {
                if (name.empty() && buffers_.size() > 1) continue;  // the status buffer, unless it is all there is
                add_line(name, Line{ts, "--", kPairInfo, i.text, 0});
              }
              return;
            }
            add_line(i.room.empty() ? core_.current_room() : i.room, Line{ts, "--", kPairInfo, i.text, 0});
          },
          [&](const ModerationEvent& m) {
            // In the room's window (an invite to a room we are not in: where the user is).
            const bool loud = m.you && (m.what == "kicked" || m.what == "banned" || m.what == "invited");
            add_line(m.room, Line{ts, "*", loud ? kPairError : kPairInfo, plain_bodies(e).front().substr(2),
                                  loud ? static_cast<int>(A_BOLD) : 0});
            if (loud) beep();
          },
          [&](const ModesEvent& m) {
            for (const auto& body : plain_bodies(e)) add_line(m.room, Line{ts, "--", kPairInfo, body.substr(3), 0});
          },
          [&](const JoinedEvent& j) {
            buffers_[j.room];
            for (const auto& body : plain_bodies(e)) add_line(j.room, Line{ts, "--", kPairInfo, body.substr(3), 0});
          },
          [&](const PartedEvent& p) {
            buffers_.erase(p.room);
            add_line(core_.current_room(), Line{ts, "--", kPairInfo, "left " + p.room, 0});
          },
          [&](const SwitchEvent& s) {
            // A window the core no longer has (a /join the server refused)
            // goes; so does anything shown only there.
            const auto& windows = core_.windows();
            for (auto it = buffers_.begin(); it != buffers_.end();) {
              const bool known =
                  it->first.empty() || std::find(windows.begin(), windows.end(), it->first) != windows.end();
              it = known ? std::next(it) : buffers_.erase(it);
            }
            Buffer& b = buffers_[s.room];
            b.unread = 0;
            b.mentioned = false;
          },
          [&](const ConnectionEvent& c) {
            for (const auto& body : plain_bodies(e)) {
              for (auto& [name, b] : buffers_) {
                // Connection news belongs in every window, as in irssi.
                if (name.empty() || c.state != ConnState::kConnecting) {
                  add_line(name, Line{ts, "--", kPairInfo, body.substr(3), A_DIM});
                }
              }
            }
          },
          [&](const StatusEvent&) {},
          [&](const QuitEvent&) {},
          [&](const auto&) {
            // Replies to commands (who, list, topic, help): where the user is.
            const auto* t = std::get_if<TopicEvent>(&e);
            const std::string room = t ? t->room : core_.current_room();
            for (const auto& body : plain_bodies(e)) {
              const bool info = body.rfind("-- ", 0) == 0;
              add_line(room, Line{ts, info ? "--" : "", kPairInfo, info ? body.substr(3) : body, 0});
            }
          },
      },
      e);
  draw();
}

void Tui::wait_input() {
  input_fd_.async_wait(asio::posix::stream_descriptor::wait_read, [this](std::error_code ec) {
    if (ec || quit_) return;
    read_keys();
    if (!quit_) wait_input();
  });
}

void Tui::read_keys() {
  wint_t ch;
  int status;
  while (!quit_ && (status = get_wch(&ch)) != ERR) {
    if (status == OK && ch == 27) {
      // Alt+key is ESC and the key, written together; a lone ESC has
      // nothing after it (ncurses waited ESCDELAY for more).
      wint_t next;
      const int next_status = get_wch(&next);
      if (next_status == ERR) {
        if (!paste_pending_.empty()) on_key(OK, L'n');  // Esc answers "no"
        break;
      }
      on_alt_key(next_status, next);
      continue;
    }
    if (pasting_) {
      on_paste_key(status, ch);
    } else {
      on_key(status, ch);
    }
  }
  if (!quit_) draw();
}

void Tui::on_alt_key(int status, wint_t ch) {
  completion_.active = false;
  if (status == KEY_CODE_YES) {
    // ESC then an arrow: Alt+arrow from terminals that send it so.
    if (ch == KEY_LEFT) switch_relative(-1);
    if (ch == KEY_RIGHT) switch_relative(1);
    return;
  }
  if (ch == L'[' || ch == L'O') {
    // A control sequence ncurses did not know (bracketed paste's markers,
    // Alt+arrows on some terminals): read it whole, so none of it is typed.
    std::string params;
    wint_t c;
    while (get_wch(&c) == OK) {
      if (c >= 0x40 && c <= 0x7e && !(ch == L'[' && params.empty() && c == L'[')) {
        if (ch == L'[') on_csi(params, c);
        return;
      }
      if (params.size() > 16) return;
      params.push_back(static_cast<char>(c));
    }
    return;
  }
  if (pasting_) return;
  if (!paste_pending_.empty()) return;
  if (ch >= L'0' && ch <= L'9') {
    core_.submit("/switch " + std::to_string(ch == L'0' ? 10 : ch - L'0'));
    return;
  }
  switch (ch) {
    case L'a':
    case L'A': jump_to_activity(); return;
    case L'b':
    case L'B': word_left(); return;
    case L'f':
    case L'F': word_right(); return;
    case L'd':
    case L'D': {  // the word after the cursor
      const std::size_t from = cursor_;
      word_right();
      input_.erase(from, cursor_ - from);
      cursor_ = from;
      return;
    }
    case 127:
    case 8: {  // Alt+Backspace: the word before the cursor
      const std::size_t to = cursor_;
      word_left();
      input_.erase(cursor_, to - cursor_);
      return;
    }
    default: return;  // an Alt+key with no binding is dropped, not typed
  }
}

void Tui::on_csi(const std::string& params, wint_t final) {
  if (final == L'~' && params == "200") {
    pasting_ = true;
    paste_.clear();
  } else if (final == L'~' && params == "201") {
    finish_paste();
  } else if (pasting_ || !paste_pending_.empty()) {
    return;
  } else if (params == "1;3" && final == L'D') {
    switch_relative(-1);
  } else if (params == "1;3" && final == L'C') {
    switch_relative(1);
  } else if (params == "1;5" && final == L'D') {
    word_left();
  } else if (params == "1;5" && final == L'C') {
    word_right();
  }
}

void Tui::on_paste_key(int status, wint_t ch) {
  if (status == KEY_CODE_YES) {
    if (static_cast<int>(ch) == key_paste_end_ && key_paste_end_ != 0) finish_paste();
    if (ch == KEY_ENTER) paste_.push_back(L'\n');
    return;
  }
  if (ch == L'\r' || ch == L'\n') {
    paste_.push_back(L'\n');
  } else if (ch == L'\t') {
    paste_.push_back(L' ');
  } else if (std::iswprint(ch)) {
    paste_.push_back(static_cast<wchar_t>(ch));
  }
}

void Tui::finish_paste() {
  pasting_ = false;
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= paste_.size()) {
    std::size_t nl = paste_.find(L'\n', start);
    if (nl == std::wstring::npos) nl = paste_.size();
    lines.push_back(narrow(paste_.substr(start, nl - start)));
    start = nl + 1;
  }
  paste_.clear();
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return;
  if (lines.size() == 1) {
    // One line is typing: it waits in the input line for Enter.
    const std::wstring text = widen(lines.front());
    input_.insert(cursor_, text);
    cursor_ += text.size();
    return;
  }
  if (lines.size() > kPasteAsk) {
    const std::string window = core_.current_room().empty() ? "nowhere" : core_.current_room();
    add_line(core_.current_room(), Line{now_ms(), "--", kPairError,
                                        "paste " + std::to_string(lines.size()) + " lines to " + window +
                                            "? y sends them, n (or Esc) drops them",
                                        A_BOLD});
    view().scroll = 0;
    paste_pending_ = std::move(lines);
    return;
  }
  send_pasted(lines);
}

void Tui::send_pasted(const std::vector<std::string>& lines) {
  for (const auto& l : lines) {
    if (l.find_first_not_of(' ') == std::string::npos) continue;  // the server refuses empty text
    // Pasted text is text: "/nick x" in a paste is said, never run ("//"
    // says a line that starts with "/").
    core_.submit(l.front() == '/' ? "/" + l : l);
  }
}

void Tui::switch_relative(int delta) {
  const auto& windows = core_.windows();
  if (windows.empty()) return;
  const auto n = static_cast<int>(windows.size());
  const auto it = std::find(windows.begin(), windows.end(), core_.current_room());
  const int at = it == windows.end() ? 0 : static_cast<int>(it - windows.begin());
  core_.switch_to(windows[static_cast<std::size_t>(((at + delta) % n + n) % n)]);
}

void Tui::jump_to_activity() {
  // irssi's Alt+A: the window where you were named first, else one with
  // unread messages, lowest number first.
  const auto& windows = core_.windows();
  std::string target;
  for (int pass = 0; pass < 2 && target.empty(); ++pass) {
    for (const auto& w : windows) {
      auto it = buffers_.find(w);
      if (w == core_.current_room() || it == buffers_.end() || it->second.unread == 0) continue;
      if (pass == 0 && !it->second.mentioned) continue;
      target = w;
      break;
    }
  }
  if (!target.empty()) core_.switch_to(target);
}

void Tui::word_left() {
  while (cursor_ > 0 && !is_word_char(input_[cursor_ - 1])) --cursor_;
  while (cursor_ > 0 && is_word_char(input_[cursor_ - 1])) --cursor_;
}

void Tui::word_right() {
  while (cursor_ < input_.size() && !is_word_char(input_[cursor_])) ++cursor_;
  while (cursor_ < input_.size() && is_word_char(input_[cursor_])) ++cursor_;
}

void Tui::on_key(int status, wint_t ch) {
  const bool was_tab = status == OK && ch == L'\t';
  if (!was_tab) completion_.active = false;
  if (!paste_pending_.empty()) {
    if (status == KEY_CODE_YES && ch == KEY_RESIZE) return draw();
    // The answer to "paste N lines?": y sends, anything else drops.
    auto lines = std::move(paste_pending_);
    paste_pending_.clear();
    if (status == OK && (ch == L'y' || ch == L'Y')) {
      send_pasted(lines);
    } else {
      add_line(core_.current_room(),
               Line{now_ms(), "--", kPairInfo, "paste of " + std::to_string(lines.size()) + " lines dropped", 0});
    }
    return;
  }
  Buffer& b = view();
  const int page = std::max(1, LINES - 4);
  if (status == KEY_CODE_YES) {
    const int code = static_cast<int>(ch);
    if (code != 0 && code == key_paste_begin_) {
      pasting_ = true;
      paste_.clear();
      return;
    }
    if (code != 0 && (code == key_alt_left_ || code == key_alt_right_)) {
      switch_relative(code == key_alt_left_ ? -1 : 1);
      return;
    }
    if (code != 0 && code == key_ctrl_left_) return word_left();
    if (code != 0 && code == key_ctrl_right_) return word_right();
    switch (ch) {
      case KEY_LEFT: if (cursor_ > 0) --cursor_; break;
      case KEY_RIGHT: if (cursor_ < input_.size()) ++cursor_; break;
      case KEY_HOME: cursor_ = 0; break;
      case KEY_END: cursor_ = input_.size(); break;
      case KEY_BACKSPACE:
        if (cursor_ > 0) input_.erase(--cursor_, 1);
        break;
      case KEY_DC:
        if (cursor_ < input_.size()) input_.erase(cursor_, 1);
        break;
      case KEY_UP:
        if (history_pos_ > 0) {
          if (history_pos_ == history_.size()) stash_ = input_;
          input_ = history_[--history_pos_];
          cursor_ = input_.size();
        }
        break;
      case KEY_DOWN:
        if (history_pos_ < history_.size()) {
          ++history_pos_;
          input_ = history_pos_ == history_.size() ? stash_ : history_[history_pos_];
          cursor_ = input_.size();
        }
        break;
      case KEY_PPAGE: b.scroll += page; break;
      case KEY_NPAGE: b.scroll = std::max(0, b.scroll - page); break;
      case KEY_ENTER: submit_input(); break;
      // ncurses has already resized (resize() on SIGWINCH): redraw only.
      // Calling resizeterm() here would queue another KEY_RESIZE, forever.
      case KEY_RESIZE: clearok(curscr, TRUE); break;
      default: break;
    }
    return;
  }
  switch (ch) {
    case L'\r':
    case L'\n': submit_input(); return;
    case 127:
    case 8:
      if (cursor_ > 0) input_.erase(--cursor_, 1);
      return;
    case 1: cursor_ = 0; return;                 // Ctrl+A
    case 5: cursor_ = input_.size(); return;     // Ctrl+E
    case 2: if (cursor_ > 0) --cursor_; return;  // Ctrl+B
    case 6: if (cursor_ < input_.size()) ++cursor_; return;  // Ctrl+F
    case 11: input_.erase(cursor_); return;      // Ctrl+K
    case 14: switch_relative(1); return;         // Ctrl+N: the next window
    case 16: switch_relative(-1); return;        // Ctrl+P: the previous one
    case 21:                                     // Ctrl+U
      input_.erase(0, cursor_);
      cursor_ = 0;
      return;
    case 23: {  // Ctrl+W: the word before the cursor
      std::size_t start = cursor_;
      while (start > 0 && input_[start - 1] == L' ') --start;
      while (start > 0 && input_[start - 1] != L' ') --start;
      input_.erase(start, cursor_ - start);
      cursor_ = start;
      return;
    }
    case 4:  // Ctrl+D: quit on an empty line, else delete forward
      if (input_.empty()) {
        core_.quit();
      } else if (cursor_ < input_.size()) {
        input_.erase(cursor_, 1);
      }
      return;
    case 12: clearok(curscr, TRUE); return;  // Ctrl+L
    case L'\t': complete(); return;
    default:
      if (std::iswprint(ch)) input_.insert(cursor_++, 1, static_cast<wchar_t>(ch));
      return;
  }
}

void Tui::submit_input() {
  if (input_.empty()) return;
  const std::wstring line = input_;
  if (history_.empty() || history_.back() != line) history_.push_back(line);
  history_pos_ = history_.size();
  input_.clear();
  cursor_ = 0;
  view().scroll = 0;
  core_.submit(narrow(line));
}

void Tui::complete() {
  if (!completion_.active) {
    std::size_t start = cursor_;
    while (start > 0 && input_[start - 1] != L' ') --start;
    const std::wstring word = input_.substr(start, cursor_ - start);
    std::vector<std::wstring> candidates;
    if (start == 0 && !word.empty() && word[0] == L'/') {
      for (const auto& c : command_names()) {
        if (starts_with_ci(widen(c), word)) candidates.push_back(widen(c));
      }
      completion_.suffix = L" ";
    } else if (!word.empty() && word[0] == L'#') {
      // A room: the ones joined, in window order.
      for (const auto& r : core_.rooms()) {
        if (starts_with_ci(widen(r), word)) candidates.push_back(widen(r));
      }
      completion_.suffix = L" ";
    } else {
      const std::string current = core_.current_room();
      std::vector<std::string> nicks = ChatCore::is_query(current) ? std::vector<std::string>{current}
                                                                     : core_.members(current);
      for (const auto& n : nicks) {
        if (n != core_.nick() && starts_with_ci(widen(n), word)) candidates.push_back(widen(n));
      }
      // At the start of a line a nick is an address: "bob: ".
      completion_.suffix = start == 0 ? L": " : L" ";
    }
    if (candidates.empty()) return;
    completion_ = Completion{true, start, std::move(candidates), 0, completion_.suffix};
  } else {
    completion_.index = (completion_.index + 1) % completion_.candidates.size();
  }
  const std::wstring insert = completion_.candidates[completion_.index] + completion_.suffix;
  input_.replace(completion_.start, cursor_ - completion_.start, insert);
  cursor_ = completion_.start + insert.size();
}

void Tui::resize() {
  struct winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
    resizeterm(ws.ws_row, ws.ws_col);
  }
  clearok(curscr, TRUE);
  draw();
}

void Tui::draw() {
  if (!curses_ || quit_) return;
  const int rows = LINES;
  const int cols = COLS;
  erase();
  if (rows >= 4 && cols >= 10) {
    // Title: the room and its topic.
    attron(COLOR_PAIR(kPairStatus));
    mvhline(0, 0, ' ', cols);
    const std::string room = core_.current_room();
    std::string title = room.empty() ? " chat: /join a room, /help for commands" : " " + room;
    if (ChatCore::is_query(room)) {
      title += ": direct messages (/close closes)";
    } else if (!room.empty() && !core_.topic(room).empty()) {
      title += ": " + core_.topic(room);
    }
    // Cut to the screen's columns, not characters: a CJK character takes two.
    const std::wstring wt = fit_columns(widen(title), cols);
    mvaddnwstr(0, 0, wt.c_str(), static_cast<int>(wt.size()));
    attroff(COLOR_PAIR(kPairStatus));
    draw_messages(1, rows - 3, cols);
    draw_status(rows - 2, cols);
  }
  draw_input(rows - 1, cols);
  refresh();
}

void Tui::draw_messages(int top, int rows, int cols) {
  Buffer& b = view();
  // Lay out lines bottom-up into screen rows until the pane is full.
  std::vector<std::vector<Cell>> screen;
  const int want = rows + b.scroll;
  for (auto it = b.lines.rbegin(); it != b.lines.rend() && static_cast<int>(screen.size()) < want; ++it) {
    std::vector<Cell> cells;
    auto put = [&cells](const std::wstring& s, attr_t a, short pair) {
      for (wchar_t c : s) cells.push_back({c, a, pair});
    };
    put(widen(format_clock(it->ts_ms) + " "), A_NORMAL, kPairTime);
    if (!it->prefix.empty()) put(widen(it->prefix + " "), A_BOLD, static_cast<short>(it->prefix_pair));
    std::wstring prefix;
    for (const Cell& c : cells) prefix.push_back(c.ch);
    const int indent = std::min(columns(prefix), cols / 2);
    put(widen(it->text), static_cast<attr_t>(it->text_attr), 0);
    // Word wrap: rows break at spaces, continuation rows indented under the text.
    std::wstring chars;
    for (const Cell& c : cells) chars.push_back(c.ch);
    const auto starts = wrap_rows(chars, cols, indent);
    std::vector<std::vector<Cell>> wrapped;
    for (std::size_t r = 0; r < starts.size(); ++r) {
      std::size_t end = r + 1 < starts.size() ? starts[r + 1] : cells.size();
      while (r + 1 < starts.size() && end > starts[r] && cells[end - 1].ch == L' ') --end;
      wrapped.emplace_back();
      if (r > 0) wrapped.back().assign(static_cast<std::size_t>(indent), Cell{L' ', A_NORMAL, 0});
      wrapped.back().insert(wrapped.back().end(), cells.begin() + static_cast<long>(starts[r]),
                            cells.begin() + static_cast<long>(end));
    }
    for (auto r = wrapped.rbegin(); r != wrapped.rend(); ++r) screen.push_back(std::move(*r));
  }
  b.scroll = std::max(0, std::min(b.scroll, static_cast<int>(screen.size()) - rows));
  for (int i = 0; i < rows; ++i) {
    const int idx = b.scroll + (rows - 1 - i);
    if (idx < 0 || idx >= static_cast<int>(screen.size())) continue;
    wmove(stdscr, top + i, 0);
    for (const Cell& c : screen[static_cast<std::size_t>(idx)]) {
      attr_set(c.attr, c.pair, nullptr);
      const wchar_t s[2] = {c.ch, 0};
      addnwstr(s, 1);
    }
    attr_set(A_NORMAL, 0, nullptr);
  }
}

void Tui::draw_status(int row, int cols) {
  std::string s = "[" + format_clock(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count())
                            .substr(0, 5) +
                  "] [" + core_.nick() + "]";
  // Every window, rooms and direct messages, by its number.
  const auto& rooms = core_.windows();
  const std::string current = core_.current_room();
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    if (rooms[i] == current) s += " [" + std::to_string(i + 1) + ":" + rooms[i] + "]";
  }
  std::string act;
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    auto it = buffers_.find(rooms[i]);
    if (it == buffers_.end() || it->second.unread == 0 || rooms[i] == current) continue;
    // (No "literal" + std::string&& here: GCC 12 at -O2 warns falsely, -Wrestrict.)
    if (!act.empty()) act += ' ';
    act += std::to_string(i + 1) + ":" + rooms[i] + "(" + std::to_string(it->second.unread) +
           (it->second.mentioned ? "!" : "") + ")";
  }
  if (!act.empty()) s += " [Act: " + act + "]";
  s += " [" + std::string(to_string(core_.state()));
  if (core_.state() == ConnState::kOnline && core_.rtt_ms()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " %.1fms", *core_.rtt_ms());
    s += buf;
  }
  s += "]";
  if (view().scroll > 0) s += " [scrolled: PgDn]";
  attron(COLOR_PAIR(kPairStatus));
  mvhline(row, 0, ' ', cols);
  const std::wstring ws = fit_columns(widen(s), cols);
  mvaddnwstr(row, 0, ws.c_str(), static_cast<int>(ws.size()));
  attroff(COLOR_PAIR(kPairStatus));
}

void Tui::draw_input(int row, int cols) {
  const std::string room = core_.current_room();
  const std::wstring prompt =
      paste_pending_.empty()
          ? fit_columns(widen("[" + (room.empty() ? std::string("chat") : room) + "] "), cols / 2)
          : widen("[paste " + std::to_string(paste_pending_.size()) + " lines? y/n] ");
  const int prompt_cols = columns(prompt);
  int avail = std::max(1, cols - prompt_cols - 1);
  // Scroll the line horizontally so the cursor stays visible.
  std::size_t first = 0;
  int before = 0;
  for (std::size_t i = 0; i < cursor_; ++i) before += width_of(input_[i]);
  while (before >= avail && first < cursor_) before -= width_of(input_[first++]);
  wmove(stdscr, row, 0);
  clrtoeol();
  addnwstr(prompt.c_str(), static_cast<int>(prompt.size()));
  int used = 0;
  for (std::size_t i = first; i < input_.size(); ++i) {
    const int w = width_of(input_[i]);
    if (used + w > avail) break;
    const wchar_t s[2] = {input_[i], 0};
    addnwstr(s, 1);
    used += w;
  }
  wmove(stdscr, row, std::min(cols - 1, prompt_cols + before));
}

}  // namespace chat::term
