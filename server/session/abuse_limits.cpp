// Session: the limits that keep one client from hurting others through
// someone else's resources (issue 12): the DM budget of a target, so many
// senders cannot flood one reader off the server, and the room-creation
// budgets of a connection and of its address, so nobody can churn or hold
// the server's room slots.
#include <algorithm>
#include <limits>

#include "server/session/local_hub.hpp"
#include "server/session/session.hpp"

namespace chat::server {

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

}  // namespace chat::server
