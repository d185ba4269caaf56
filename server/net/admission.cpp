#include "server/net/admission.hpp"

#include <algorithm>

namespace chat::server {

namespace {
constexpr std::chrono::seconds kSweepEvery{5};
}  // namespace

Admission::Verdict Admission::check(const AddressKey& key, Clock::time_point now) {
  if (now - last_sweep_ >= kSweepEvery) forget_idle(now);
  auto it = addresses_.find(key);
  if (it == addresses_.end()) {
    it = addresses_.emplace(key, Address{0, 0, {}, common::TokenBucket(limits_.rate, limits_.burst, now), now}).first;
  }
  Address& a = it->second;
  a.last_attempt = now;
  if (!a.bucket.try_take(now)) return {Refusal::kRate, a.bucket.retry_after_ms(now)};
  if (limits_.per_address != 0 && a.open >= limits_.per_address) return {Refusal::kPerAddress, 0};
  if (connections_.size() >= limits_.total) return {Refusal::kTotal, 0};
  if (pre_login_ >= limits_.pre_login && a.waiting > 0 && now - a.waiting_since >= kWaitingTooLong) {
    return {Refusal::kPreLoginWaiting, kPreLoginRetryMs};
  }
  return {};
}

std::optional<SessionId> Admission::admit(SessionId session, const AddressKey& key) {
  Address& a = addresses_.at(key);  // check() made the entry, and nothing since could forget it
  ++a.open;
  if (a.waiting++ == 0) a.waiting_since = a.last_attempt;  // check()'s now
  connections_.emplace(session, Connection{key, true});
  waiting_.push_back(session);
  if (++pre_login_ <= limits_.pre_login) return std::nullopt;
  // Over the cap: the oldest that is still waiting goes. It is no longer
  // counted as waiting from now on, so the next newcomer drops the next one.
  while (!waiting_.empty()) {
    const SessionId oldest = waiting_.front();
    waiting_.pop_front();
    auto c = connections_.find(oldest);
    if (c == connections_.end() || !c->second.pre_login) continue;
    stop_waiting(c->second);
    return oldest;
  }
  return std::nullopt;
}

void Admission::on(const AdmissionNote& note) {
  auto c = connections_.find(note.session);
  if (c == connections_.end()) return;  // not one of ours (or a second note)
  if (c->second.pre_login) {
    stop_waiting(c->second);
    // Entries that no longer wait would pile up behind clients that log in
    // and stay; drop them once they outnumber the waiting two to one.
    if (waiting_.size() > 2 * pre_login_ + 64) compact_waiting();
  }
  if (note.kind == AdmissionNote::Kind::kLoggedIn) return;
  auto a = addresses_.find(c->second.key);
  if (a != addresses_.end() && a->second.open > 0) --a->second.open;
  connections_.erase(c);
}

void Admission::stop_waiting(Connection& c) {
  c.pre_login = false;
  --pre_login_;
  auto a = addresses_.find(c.key);
  if (a != addresses_.end() && a->second.waiting > 0) --a->second.waiting;
}

void Admission::compact_waiting() {
  std::erase_if(waiting_, [this](SessionId id) {
    auto c = connections_.find(id);
    return c == connections_.end() || !c->second.pre_login;
  });
}

void Admission::forget_idle(Clock::time_point now) {
  last_sweep_ = now;
  // A bucket refills from empty in burst / rate seconds.
  const auto refill = limits_.rate > 0 ? std::chrono::duration<double>(limits_.burst / limits_.rate)
                                       : std::chrono::duration<double>(0);
  std::erase_if(addresses_, [&](const auto& entry) {
    return entry.second.open == 0 && now - entry.second.last_attempt >= refill;
  });
}

}  // namespace chat::server
