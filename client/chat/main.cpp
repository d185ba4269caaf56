// chat: the terminal client. Full-screen when stdin and stdout are
// terminals, line mode otherwise (or with --plain / --json).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <vector>

#include "client/chat/encoding.hpp"
#include "client/chat/line_mode.hpp"
#include "client/chat/probe.hpp"
#include "client/chat/servers.hpp"
#include "client/chat/tui.hpp"
#include "common/tls_context.hpp"
#include "common/version.hpp"

int main(int argc, char** argv) {
  chat::term::Options options;
  bool plain = false;
  bool json = false;
  bool check = false;
  // The defaults are Options' own (see backoff.hpp for how they are used).
  int reconnect_min_ms = static_cast<int>(options.reconnect_min.count());
  int reconnect_max_ms = static_cast<int>(options.reconnect_max.count());
  int ping_ms = static_cast<int>(options.ping_interval.count());
  int eof_timeout_ms = 5000;
  bool tls = false;
  std::string tls_ca;

  CLI::App app{"chat: a terminal client for chatd", "chat"};
  app.add_option("--host", options.host,
                 "Server address; a cluster's nodes as a list (a,b:7779,[::1]), tried in turn when one goes away")
      ->envname("CHAT_HOST")
      ->capture_default_str();
  app.add_option("--port", options.port, "Server port")->envname("CHAT_PORT")->capture_default_str();
  app.add_flag("--tls", tls, "Connect with TLS, verifying the server's certificate (chatd's --tls-port, 7778)")
      ->envname("CHAT_TLS");
  app.add_option("--tls-ca", tls_ca, "PEM file of the CAs to trust with --tls (default: the system's)")
      ->envname("CHAT_TLS_CA");
  auto* nick = app.add_option("--nick", options.nick, "Your nickname")->envname("CHAT_NICK");
  std::string password_file;
  app.add_option("--password-file", password_file,
                 "Log in to the account --nick with the password on this file's first line "
                 "(or set CHAT_PASSWORD; without either: a guest)")
      ->envname("CHAT_PASSWORD_FILE");
  app.add_option("--join", options.rooms, "A room to join (repeatable)");
  app.add_flag("--plain", plain, "Line mode: read lines from stdin, print one line per event");
  app.add_flag("--json", json, "Line mode with one JSON object per event");
  app.add_flag("--check", check, "Connect, wait for the server's welcome, print it and exit (0: up)");
  app.add_option("--reconnect-min-ms", reconnect_min_ms, "First reconnect delay")->capture_default_str();
  app.add_option("--reconnect-max-ms", reconnect_max_ms, "Longest reconnect delay")->capture_default_str();
  app.add_option("--ping-ms", ping_ms, "How often to measure the round trip")->capture_default_str()->check(CLI::Range(50, 600000));
  app.add_option("--eof-timeout-ms", eof_timeout_ms, "Line mode: how long to wait for replies after end of input")
      ->capture_default_str();
  app.set_version_flag("--version", "chat " + std::string(chat::common::kVersion), "Print the version and exit");
  CLI11_PARSE(app, argc, argv);

  if (!tls_ca.empty() && !tls) {
    std::cerr << "chat: --tls-ca needs --tls\n";
    return 2;
  }
  if (tls) {
    try {
      options.tls = chat::common::client_tls_context(tls_ca);
    } catch (const std::exception& e) {
      std::cerr << "chat: " << e.what() << "\n";
      return 2;
    }
  }
  std::vector<chat::term::Server> servers;
  try {
    servers = chat::term::parse_servers(options.host, options.port);
  } catch (const std::invalid_argument& e) {
    std::cerr << "chat: --host: " << e.what() << "\n";
    return 2;
  }
  if (check) {
    // Up if any of them is.
    int status = 1;
    for (const auto& s : servers) {
      status = chat::term::probe(s.host, s.port, options.tls, std::chrono::seconds(5));
      if (status == 0) break;
    }
    return status;
  }
  if (nick->count() == 0 && options.nick.empty()) {
    std::cerr << "chat: --nick is required (or set CHAT_NICK)\n";
    return 2;
  }
  // What the user types, and these arguments, are in their locale's
  // charset; the wire takes only UTF-8 (encoding.hpp). Only LC_CTYPE: line
  // mode's output keeps C number formats.
  std::setlocale(LC_CTYPE, "");  // NOLINT(concurrency-mt-unsafe): no other thread yet
  options.input_charset = chat::term::locale_charset();
  auto as_utf8 = [&options](std::string& text, const char* flag) {
    auto utf8 = chat::term::to_utf8(text, options.input_charset);
    if (!utf8.ok()) std::cerr << "chat: " << flag << ": " << utf8.error << "\n";
    text = std::move(utf8.text);
    return utf8.ok();
  };
  if (!as_utf8(options.nick, "--nick")) return 2;
  if (!password_file.empty()) {
    std::ifstream in(password_file);
    if (!in || !std::getline(in, options.password)) {
      std::cerr << "chat: --password-file: cannot read " << password_file << "\n";
      return 2;
    }
  } else if (const char* password = std::getenv("CHAT_PASSWORD"); password != nullptr) {  // NOLINT(concurrency-mt-unsafe): no other thread yet
    options.password = password;
  }
  for (auto& room : options.rooms) {
    if (!as_utf8(room, "--join")) return 2;
  }
  options.reconnect_min = std::chrono::milliseconds(std::max(1, reconnect_min_ms));
  options.reconnect_max = std::chrono::milliseconds(std::max(reconnect_min_ms, reconnect_max_ms));
  options.ping_interval = std::chrono::milliseconds(ping_ms);
  // A closed stdout must be an error return, not a silent death.
  ::signal(SIGPIPE, SIG_IGN);

  const bool terminal = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  if (plain || json || !terminal) {
    chat::term::LineMode line(std::move(options), json, std::chrono::milliseconds(eof_timeout_ms));
    return line.run();
  }
  chat::term::Tui tui(std::move(options));
  return tui.run();
}
