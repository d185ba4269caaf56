#pragma once
// Line mode, for scripts, bots and tests: reads commands and text from stdin,
// one per line, and prints every event as one line on stdout (plain or
// JSON), flushed per line. Input, and plain output, are in the locale's
// charset (Options::input_charset); JSON output is UTF-8. End of input means /quit once what was typed has
// been sent and answered (bounded by a timeout). A refused login (the nick
// is taken) ends it with exit status 1.
// Input: stdin is read on the io_context's own thread through an
// asio::posix::stream_descriptor, so everything runs on one thread.
// Thread safety: confined to the thread that calls run().

#include <asio.hpp>
#include <chrono>

#include "client/chat/chat_core.hpp"

namespace chat::term {

class LineMode {
 public:
  LineMode(Options options, bool json, std::chrono::milliseconds eof_timeout);
  ~LineMode();
  // Runs until quit; returns the process exit status.
  int run();

 private:
  void read_input();
  void on_event(const UiEvent& e);
  void stop_input();

  asio::io_context io_{1};
  bool json_;
  std::chrono::milliseconds eof_timeout_;
  ChatCore core_;
  asio::posix::stream_descriptor input_;
  asio::signal_set signals_;
  asio::streambuf buffer_;
  int saved_flags_ = -1;
  bool output_broken_ = false;
  bool quit_ = false;
};

}  // namespace chat::term
