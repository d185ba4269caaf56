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
#include "client/chat/format.hpp"

namespace chat::term {
namespace {

using common::Overloaded;

constexpr int kPairStatus = 1;
constexpr int kPairError = 2;
constexpr int kPairInfo = 3;
constexpr int kPairTime = 4;
constexpr int kPairNickBase = 10;
constexpr std::size_t kMaxLines = 5000;

std::wstring widen(const std::string& s) {
  std::wstring out;
  std::mbstate_t st{};
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    wchar_t wc;
    const std::size_t n = std::mbrtowc(&wc, p, left, &st);
    if (n == static_cast<std::size_t>(-1) || n == static_cast<std::size_t>(-2)) {
      out.push_back(L'?');
      st = std::mbstate_t{};
      ++p;
      --left;
      continue;
    }
    if (n == 0) break;
    // Control characters from a peer must not drive the terminal.
    out.push_back(std::iswcntrl(static_cast<wint_t>(wc)) ? L' ' : wc);
    p += n;
    left -= n;
  }
  return out;
}

std::string narrow(const std::wstring& w) {
  std::string out;
  std::mbstate_t st{};
  char buf[MB_LEN_MAX];
  for (wchar_t wc : w) {
    const std::size_t n = std::wcrtomb(buf, wc, &st);
    if (n == static_cast<std::size_t>(-1)) {
      out.push_back('?');
      st = std::mbstate_t{};
    } else {
      out.append(buf, n);
    }
  }
  return out;
}

int width_of(wchar_t wc) {
  const int w = ::wcwidth(wc);
  return w < 0 ? 1 : w;
}

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

Tui::Tui(Options options)
    : core_(io_, std::move(options), [this](const UiEvent& e) { on_event(e); }),
      input_fd_(io_),
      // Registered before initscr(), so ncurses leaves SIGWINCH to us.
      signals_(io_, SIGINT, SIGTERM, SIGWINCH) {
  buffers_[""];
}

Tui::~Tui() {
  if (curses_) endwin();
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
  input_fd_.assign(::dup(STDIN_FILENO));
  std::function<void()> wait_signal = [this, &wait_signal] {
    signals_.async_wait([this, &wait_signal](std::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGWINCH) {
        resize();
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
  io_.run();
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
            const std::string me = core_.nick();
            if (!m.own && !me.empty() && m.text.find(me) != std::string::npos) l.text_attr |= A_BOLD;
            add_line(m.room, l);
            if (m.room != core_.current_room() && !m.history && !m.own) {
              Buffer& b = buffers_[m.room];
              ++b.unread;
              if (l.text_attr & A_BOLD) b.mentioned = true;
            }
          },
          [&](const DirectEvent& d) {
            add_line(core_.current_room(),
                     Line{ts, d.outgoing ? "-> *" + d.peer + "*" : "*" + d.peer + "*", nick_pair(d.peer), d.text,
                          A_BOLD});
          },
          [&](const PresenceEvent& p) {
            add_line(p.room, Line{ts, "*", kPairInfo, plain_bodies(e).front().substr(2), A_DIM});
          },
          [&](const ErrorEvent& err) {
            add_line(core_.current_room(), Line{ts, "!", kPairError, err.code + " " + err.message, 0});
          },
          [&](const GapEvent& g) {
            add_line(g.room, Line{ts, "--", kPairError, plain_bodies(e).front().substr(3), A_BOLD});
          },
          [&](const InfoEvent& i) {
            add_line(i.room.empty() ? core_.current_room() : i.room, Line{ts, "--", kPairInfo, i.text, 0});
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
            const auto rooms = core_.rooms();
            for (auto it = buffers_.begin(); it != buffers_.end();) {
              const bool known = it->first.empty() || std::find(rooms.begin(), rooms.end(), it->first) != rooms.end();
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
  while (!quit_ && (status = get_wch(&ch)) != ERR) on_key(status, ch);
  if (!quit_) draw();
}

void Tui::on_key(int status, wint_t ch) {
  const bool was_tab = status == OK && ch == L'\t';
  if (!was_tab) completion_.active = false;
  if (escape_) {
    escape_ = false;
    if (status == OK && ch >= L'0' && ch <= L'9') {
      core_.submit("/switch " + std::to_string(ch == L'0' ? 10 : ch - L'0'));
      return;
    }
  }
  Buffer& b = view();
  const int page = std::max(1, LINES - 4);
  if (status == KEY_CODE_YES) {
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
      case KEY_RESIZE: resize(); break;
      default: break;
    }
    return;
  }
  switch (ch) {
    case L'\r':
    case L'\n': submit_input(); return;
    case 27: escape_ = true; return;
    case 127:
    case 8:
      if (cursor_ > 0) input_.erase(--cursor_, 1);
      return;
    case 1: cursor_ = 0; return;                 // Ctrl+A
    case 5: cursor_ = input_.size(); return;     // Ctrl+E
    case 2: if (cursor_ > 0) --cursor_; return;  // Ctrl+B
    case 6: if (cursor_ < input_.size()) ++cursor_; return;  // Ctrl+F
    case 11: input_.erase(cursor_); return;      // Ctrl+K
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
    } else {
      for (const auto& n : core_.members(core_.current_room())) {
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
    if (!room.empty() && !core_.topic(room).empty()) title += ": " + core_.topic(room);
    std::wstring wt = widen(title);
    mvaddnwstr(0, 0, wt.c_str(), std::min<int>(cols, static_cast<int>(wt.size())));
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
    const std::size_t indent = cells.size();
    put(widen(it->text), static_cast<attr_t>(it->text_attr), 0);
    std::vector<std::vector<Cell>> wrapped(1);
    int used = 0;
    for (const Cell& c : cells) {
      const int w = width_of(c.ch);
      if (used + w > cols) {
        wrapped.emplace_back();
        used = 0;
        for (std::size_t i = 0; i < std::min<std::size_t>(indent, static_cast<std::size_t>(cols / 2)); ++i) {
          wrapped.back().push_back({L' ', A_NORMAL, 0});
          ++used;
        }
      }
      wrapped.back().push_back(c);
      used += w;
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
  const auto rooms = core_.rooms();
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
  const std::wstring ws = widen(s);
  mvaddnwstr(row, 0, ws.c_str(), std::min<int>(cols, static_cast<int>(ws.size())));
  attroff(COLOR_PAIR(kPairStatus));
}

void Tui::draw_input(int row, int cols) {
  const std::string room = core_.current_room();
  const std::wstring prompt = widen("[" + (room.empty() ? std::string("chat") : room) + "] ");
  int avail = std::max(1, cols - static_cast<int>(prompt.size()) - 1);
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
  wmove(stdscr, row, std::min(cols - 1, static_cast<int>(prompt.size()) + before));
}

}  // namespace chat::term
