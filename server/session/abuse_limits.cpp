// Session: the limits that keep one client from hurting others (issue 12):
// stalls past the connection's own budgets (rate_limits.hpp); admission
// before login (whole frames only, a few of them); the DM budget of a
// target, so many senders cannot flood one reader off the server; and the
// room-creation budgets of a connection and of its address, so nobody can
// churn or hold the server's room slots.
#include <algorithm>
#include <limits>

#include "server/session/local_hub.hpp"
#include "server/session/session.hpp"

namespace chat::server {

using v1::Error;

namespace {
// A backlog clears as fast as the target reads; no better guess is at hand.
constexpr std::uint32_t kBacklogRetryMs = 1000;
}  // namespace

Session::DirectAdmit Session::admit_direct(std::size_t bytes, Clock::time_point now, std::uint32_t& retry_after_ms) {
  hub_.assert_owner();
  // Half the outbox is kept from DMs: a target that does not keep up is
  // refused DMs long before it could be dropped for them.
  if (outbox_.bytes() + bytes > hub_.config().outbox_cap_bytes / 2) {
    retry_after_ms = kBacklogRetryMs;
    return DirectAdmit::kBacklog;
  }
  if (!direct_bucket_.try_take(now)) {
    retry_after_ms = direct_bucket_.retry_after_ms(now);
    return DirectAdmit::kRate;
  }
  return DirectAdmit::kOk;
}

std::uint32_t Session::heard_ms_ago(Clock::time_point now) const {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_heard_).count();
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 0, std::numeric_limits<std::uint32_t>::max()));
}

void Session::reserve_creation(msg::Join& join) {
  const auto now = Clock::now();
  join.address = address_;
  if (!created_.try_reserve(now)) {
    join.create_limit = msg::Join::CreateLimit::kConnection;
    join.retry_after_ms = created_.retry_after_ms(now);
    return;
  }
  CreationBudget& address = hub_.address_budget(address_);
  if (!address.try_reserve(now)) {
    created_.release(1);
    join.create_limit = msg::Join::CreateLimit::kAddress;
    join.retry_after_ms = address.retry_after_ms(now);
  }
}

void Session::settle_creation(bool created, Clock::time_point now) {
  hub_.assert_owner();
  created_.settle(created, now);
  hub_.address_budget(address_).settle(created, now);
}

// ---------------------------------------------------------------- stalls

// Instead of parsing and answering every request past the limit (a flood
// would cost a reply each), stop reading: the kernel's buffer fills and TCP
// pushes back on the client. It hears of it once per stall.
void Session::stall(RateLimits::Limit limit, Clock::time_point now) {
  stalled_ = true;
  const std::uint32_t ms = limits_.resume_after_ms(now);
  count_limited(limit);
  reply_error(Error::CODE_RATE_LIMITED, limits_.describe(limit, ms), 0, ms);
  wait_for_refill(ms);
}

void Session::count_limited(RateLimits::Limit limit) {
  ReactorMetrics::bump(hub_.metrics().rate_limited);
  ReactorMetrics::bump(hub_.metrics().rate_limited_by[RateLimits::index(limit)]);
}

void Session::wait_for_refill(std::uint32_t ms) {
  // One timer per session, made on its first stall: a heap entry in the
  // reactor's timer queue while it waits, nothing otherwise.
  if (!stall_timer_) stall_timer_ = std::make_unique<asio::steady_timer>(hub_.executor());
  stall_timer_->expires_after(std::chrono::milliseconds(std::max<std::uint32_t>(ms, 1)));
  stall_timer_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec) self->end_stall();
  });
}

void Session::end_stall() {
  hub_.assert_owner();
  if (state_ != State::kOpen) return;
  // Replies that came meanwhile may have charged more than the wait it was
  // told: tell it the new one.
  const auto now = Clock::now();
  if (const auto limit = limits_.refilling(now); limit != RateLimits::Limit::kNone) {
    stall(limit, now);
    return;
  }
  stalled_ = false;
  paused_ = true;
  resume();  // the frames held in the decoder first, then reading again
}

// ---------------------------------------------------------------- admission

// Only a whole frame counts as hearing from the client: a byte at a time
// of a frame that never ends keeps nobody's connection open (slowloris).
bool Session::note_frame() {
  last_heard_ = Clock::now();
  ping_sent_ = false;
  if (logged_in()) return true;
  const std::size_t cap = hub_.config().max_pre_login_frames;
  if (++pre_login_frames_ <= cap) return true;
  close_for(Error::CODE_LOGIN_TIMEOUT, "more than " + std::to_string(cap) + " frames before logging in");
  return false;
}

void Session::on_logged_in() {
  decoder_.set_max_frame_bytes(hub_.config().max_frame_bytes);
  hub_.note_logged_in(id_);
}

void Session::drop_before_login() {
  hub_.assert_owner();
  close_for(Error::CODE_TOO_MANY_CONNECTIONS, "too many connections have not logged in; this was the oldest");
}

}  // namespace chat::server
