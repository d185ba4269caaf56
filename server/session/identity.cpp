// Session: who the connection is. Hello (a guest's, or a login to an
// account through the authenticator), rename, and the account requests
// (register, change_password, drop); each answer comes back by mail and is
// finished here. The other requests are in requests.cpp.
#include <spdlog/spdlog.h>

#include <utility>

#include "common/names.hpp"
#include "server/chat/frames.hpp"
#include "server/session/local_hub.hpp"
#include "server/session/session.hpp"

namespace chat::server {

using v1::Error;

// ---------------------------------------------------------------- the nick

void Session::on_hello(v1::HelloRequest& hello, std::uint64_t rid) {
  if (logged_in() || nick_pending_) {
    reply_error(Error::CODE_ALREADY_LOGGED_IN, "already logged in as " + nick_, rid);
    return;
  }
  const std::size_t max = hub_.config().max_nick_bytes;
  if (!common::is_valid_nick(hello.nick(), max)) {
    reply_error(Error::CODE_INVALID_NICK,
                "a nick is 1-" + std::to_string(max) + " of A-Z a-z 0-9 _ -, starting with a letter", rid);
    return;
  }
  if (!hello.password().empty() && !check_password(hello.password(), rid)) return;
  nick_pending_ = true;
  msg::Authenticate login{std::move(*hello.mutable_nick()), id_, rid, std::move(*hello.mutable_password()),
                          hello.regain(), address_};
  hub_.authenticator().authenticate(std::move(login));
}

void Session::on_authenticated(msg::Authenticated&& m) {
  hub_.assert_owner();
  if (!m.ok) {
    nick_pending_ = false;
    reply_error(m.code, m.reason, m.request_id, m.retry_after_ms);
    resume();
    return;
  }
  claim_nick(std::move(m.nick), m.request_id, std::move(m.account), m.regain);
}

void Session::on_rename(v1::RenameRequest& rename, std::uint64_t rid) {
  if (!account_.empty()) {
    reply_error(Error::CODE_ACCOUNT_NICK, "an account's connections keep its nick (" + account_ + ")", rid);
    return;
  }
  if (!check_nick(rename.nick(), rid)) return;
  if (rename.nick() == nick_) {
    send(rename_reply(nick_, rid));
    return;
  }
  if (refused(RateLimits::Limit::kRename, rid)) return;  // each is a presence to every room it is in
  claim_nick(std::move(*rename.mutable_nick()), rid);
}

void Session::claim_nick(std::string nick, std::uint64_t request_id, std::string account, bool regain) {
  nick_pending_ = true;
  pending_account_ = account;
  msg::ClaimNick claim{std::move(nick), id_, request_id, std::move(account), regain};
  hub_.router().to_nick_owner(claim.nick, std::move(claim));
}

void Session::on_nick_claimed(const msg::NickClaimed& m) {
  hub_.assert_owner();
  nick_pending_ = false;
  if (!m.ok) {
    spdlog::debug("nick {} refused: {} (session {})", m.nick, Error::Code_Name(m.code), label());
    if (m.code == Error::CODE_NICK_REGISTERED) {
      reply_error(m.code,
                  (common::fold_case(m.nick) == common::fold_case(m.registered_as) ? m.nick + " is registered"
                                                                                   : m.nick + " looks like the account " + m.registered_as) +
                      ": log in with its password, or pick another nick",
                  m.request_id);
    } else if (m.code == Error::CODE_TOO_MANY_SESSIONS) {
      reply_error(m.code,
                  m.nick + " has " + std::to_string(hub_.config().max_sessions_per_account) +
                      " connections logged in already; log in with regain to replace them",
                  m.request_id);
    } else {
      reply_error(Error::CODE_NICK_TAKEN, "nick is taken: " + m.nick, m.request_id);
    }
  } else if (!logged_in()) {
    nick_ = m.nick;
    account_ = std::move(pending_account_);
    identity_ = common::fold_case(nick_);
    on_logged_in();
    spdlog::info("login {}{} from {} (session {})", nick_, account_.empty() ? "" : " (account)", peer_, label());
    v1::ServerFrame reply;
    reply.set_request_id(m.request_id);
    reply.mutable_hello()->set_nick(nick_);
    reply.mutable_hello()->set_account(account_);
    send(common::make_shared_frame(reply));
    if (!account_.empty()) {
      // The nick owner has asked for the DMs kept for the account; they may
      // have come already.
      if (mailbag_ == nullptr) {
        mailbag_ = std::make_unique<Mailbag>();
      } else if (mailbag_->arrived) {
        send_stored(mailbag_->stored);
        mailbag_.reset();
      }
    }
  } else {
    // A rename. The old nick is given back unless only its case changed (the
    // owner has respelled the same entry). Each room owner hears of it after
    // every earlier Join and Publish of this session, on the same channel.
    std::string old = std::exchange(nick_, m.nick);
    identity_ = common::fold_case(nick_);  // a guest is its nick
    spdlog::debug("rename {} to {} (session {})", old, nick_, label());
    if (common::fold_case(old) != common::fold_case(nick_)) {
      hub_.router().to_nick_owner(old, msg::ReleaseNick{old, id_});  // `old` outlives the call
    }
    send(rename_reply(old, m.request_id));  // first: before a room owner answers
    for (const Membership& r : rooms_) hub_.router().to_room_owner(msg::Rename{r.room, id_, old, nick_});
  }
  resume();  // whatever the client sent after its hello or rename
}

// ----------------------------------------------------- direct messages

void Session::send_direct(const SharedFrame& frame) {
  if (mailbag_ != nullptr) {
    mailbag_->held.push_back(frame);  // bounded by this session's DM rate, for a mailbox read's time
    return;
  }
  send(frame);
}

void Session::on_stored_directs(std::vector<msg::StoredDirect>&& directs) {
  hub_.assert_owner();
  if (!logged_in()) {
    // Before the nick owner's answer: kept for after the hello reply.
    if (mailbag_ == nullptr) mailbag_ = std::make_unique<Mailbag>();
    mailbag_->arrived = true;
    mailbag_->stored = std::move(directs);
    return;
  }
  send_stored(directs);
  if (mailbag_ == nullptr) return;
  for (const SharedFrame& frame : mailbag_->held) send(frame);
  mailbag_.reset();
}

void Session::send_stored(std::vector<msg::StoredDirect>& directs) {
  if (!directs.empty()) spdlog::debug("{} direct messages kept for {} (session {})", directs.size(), account_, label());
  for (msg::StoredDirect& d : directs) {
    v1::ServerFrame frame;
    auto* direct = frame.mutable_direct();
    direct->set_sender(std::move(d.sender));
    direct->set_text(std::move(d.text));
    direct->set_timestamp_ms(d.timestamp_ms);
    direct->set_stored(true);
    send(common::make_shared_frame(frame));
  }
}

// ---------------------------------------------------------------- accounts

bool Session::check_password(const std::string& password, std::uint64_t rid) {
  const std::size_t min = kMinPasswordBytes;
  if (password.size() >= min && password.size() <= kMaxPasswordBytes) return true;
  reply_error(Error::CODE_INVALID_PASSWORD,
              "a password is " + std::to_string(min) + " to " + std::to_string(kMaxPasswordBytes) + " bytes", rid);
  return false;
}

void Session::on_register(v1::RegisterRequest& r, std::uint64_t rid) {
  if (!account_.empty()) {
    reply_error(Error::CODE_ACCOUNT_EXISTS, "already logged in to the account " + account_, rid);
    return;
  }
  if (!check_password(r.password(), rid)) return;
  msg::AccountRequest request{msg::AccountRequest::Kind::kRegister, nick_, std::move(*r.mutable_password()), {}, id_,
                              rid, address_};
  hub_.authenticator().request(std::move(request));
}

void Session::on_change_password(v1::ChangePasswordRequest& r, std::uint64_t rid) {
  if (account_.empty()) {
    reply_error(Error::CODE_NOT_REGISTERED, "log in to an account first (hello with a password)", rid);
    return;
  }
  if (!check_password(r.new_password(), rid)) return;
  if (r.old_password().size() > kMaxPasswordBytes) {
    reply_error(Error::CODE_BAD_LOGIN, "wrong password for " + account_, rid);
    return;
  }
  hub_.authenticator().request(msg::AccountRequest{msg::AccountRequest::Kind::kChangePassword, account_,
                                                   std::move(*r.mutable_old_password()),
                                                   std::move(*r.mutable_new_password()), id_, rid, address_});
}

void Session::on_drop_account(v1::DropAccountRequest& r, std::uint64_t rid) {
  if (account_.empty()) {
    reply_error(Error::CODE_NOT_REGISTERED, "log in to an account first (hello with a password)", rid);
    return;
  }
  if (r.password().size() > kMaxPasswordBytes) {
    reply_error(Error::CODE_BAD_LOGIN, "wrong password for " + account_, rid);
    return;
  }
  hub_.authenticator().request(msg::AccountRequest{msg::AccountRequest::Kind::kDrop, account_,
                                                   std::move(*r.mutable_password()), {}, id_, rid, address_});
}

void Session::on_account_changed(const msg::AccountChanged& m) {
  hub_.assert_owner();
  if (!m.ok) {
    reply_error(m.code, m.reason, m.request_id, m.retry_after_ms);
    return;
  }
  using Kind = msg::AccountRequest::Kind;
  v1::ServerFrame reply;
  reply.set_request_id(m.request_id);
  auto* account = reply.mutable_account();
  account->set_account(m.account);
  if (m.kind == Kind::kRegister) {
    account->set_action(v1::AccountReply::ACTION_REGISTERED);
    // Still under the nick it registered (it may have renamed meanwhile).
    if (common::fold_case(nick_) == common::fold_case(m.account)) account_ = m.account;
  } else if (m.kind == Kind::kChangePassword) {
    account->set_action(v1::AccountReply::ACTION_PASSWORD_CHANGED);
  } else {
    account->set_action(v1::AccountReply::ACTION_DROPPED);
    account_.clear();
  }
  send(common::make_shared_frame(reply));
}

SharedFrame Session::rename_reply(const std::string& old_nick, std::uint64_t request_id) const {
  v1::ServerFrame reply;
  reply.set_request_id(request_id);
  reply.mutable_rename()->set_old_nick(old_nick);
  reply.mutable_rename()->set_nick(nick_);
  return common::make_shared_frame(reply);
}

}  // namespace chat::server
