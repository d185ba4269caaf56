// ChatCore's account commands (issue 13): /register, /password and /login.
// (chat_core.hpp describes the class; this file only splits it.)
#include <utility>

#include "client/chat/chat_core.hpp"

namespace chat::term {

void ChatCore::execute_account(const Command& c) {
  // A password may hold spaces: the whole rest of the line.
  const std::string password = c.arg + (c.text.empty() ? "" : " " + c.text);
  switch (c.kind) {
    case CommandKind::kRegister:
      client_->register_account(password, guard([this, password](const v1::ServerFrame& f) {
        if (!reply_ok(f)) return;
        options_.password = password;  // reconnects log in to it
        info("registered " + f.account().account() + ": nobody else can use this nick now");
      }));
      return;
    case CommandKind::kPassword: {
      const std::string new_password = c.text;
      client_->change_password(c.arg, new_password, guard([this, new_password](const v1::ServerFrame& f) {
        if (!reply_ok(f)) return;
        options_.password = new_password;
        info("password changed");
      }));
      return;
    }
    case CommandKind::kLogin:
      // A connection logs in once (a second hello is ALREADY_LOGGED_IN): a
      // logged-in one is dropped and made again, as after a cut, and its
      // hello carries the password. Refused, the password before it is put
      // back (login() does), so reconnects are not refused over and over.
      if (!login_fallback_) login_fallback_ = options_.password;
      options_.password = password;
      if (logged_in_) return relogin("logging in to the account " + nick_);
      if (!hello_pending_ && welcomed_ && client_ && client_->connected()) return login();
      info("will log in to the account " + nick_);
      return;
    default:
      return;
  }
}

void ChatCore::relogin(const std::string& why) {
  for (auto& r : rooms_) {
    r.joined = false;
    r.syncing = false;
    r.buffered.clear();
  }
  logged_in_ = false;
  attempt_ = 0;  // at once, not after the last cut's backoff
  // First: it bumps gen_, so what the closing connection says is stale.
  schedule_reconnect(why);
  if (client_) client_->close();
}

}  // namespace chat::term
