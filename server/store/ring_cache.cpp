#include "server/store/ring_cache.hpp"

#include <algorithm>

namespace chat::server {

namespace {
// The entry, its deque slot and the message object around the strings.
constexpr std::size_t kEntryOverhead = 128;
}  // namespace

std::size_t RingCache::footprint(const v1::RoomMessage& message, const std::string& identity) {
  return kEntryOverhead + message.room().size() + message.sender().size() + message.text().size() +
         identity.size();
}

RingCache::Ring* RingCache::find(const std::string& room) {
  auto it = slot_of_.find(room);
  return it == slot_of_.end() ? nullptr : &slots_[it->second];
}

const RingCache::Ring* RingCache::find(const std::string& room) const {
  auto it = slot_of_.find(room);
  return it == slot_of_.end() ? nullptr : &slots_[it->second];
}

void RingCache::push(const std::string& room, v1::RoomMessage message, std::string identity) {
  if (capacity_ == 0) return;
  auto [it, added] = slot_of_.try_emplace(room, 0);
  if (added) {
    if (free_slots_.empty()) {
      it->second = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    } else {
      it->second = free_slots_.back();
      free_slots_.pop_back();
    }
  }
  Ring& r = slots_[it->second];
  if (r.ring.empty() || message.seq() != r.first + r.ring.size()) {
    while (!r.ring.empty()) pop_oldest(r);  // not the next one: start the ring again from here
    r.first = message.seq();
  }
  const std::size_t bytes = footprint(message, identity);
  order_.push_back(Arrival{it->second, r.life, message.seq()});
  r.ring.push_back(Entry{std::move(message), std::move(identity), bytes});
  bytes_ += bytes;
  ++held_;
  if (r.ring.size() > capacity_) pop_oldest(r);
  trim_to_budget();
  if (order_.size() > 2 * held_ + 1024) compact();
}

void RingCache::pop_oldest(Ring& r) {
  bytes_ -= r.ring.front().bytes;
  --held_;
  r.ring.pop_front();
  ++r.first;
}

// Whether the arrival's message is still held.
bool RingCache::holds(const Arrival& a) const {
  const Ring& r = slots_[a.slot];
  return r.life == a.life && !r.ring.empty() && a.seq >= r.first && a.seq < r.first + r.ring.size();
}

void RingCache::trim_to_budget() {
  if (budget_ == 0) return;
  while (bytes_ > budget_ && !order_.empty()) {
    const Arrival a = order_.front();
    order_.pop_front();
    if (!holds(a)) continue;
    // Arrivals of one room are in seq order, so the room's oldest is this one.
    pop_oldest(slots_[a.slot]);
    ++trimmed_;
  }
}

void RingCache::compact() {
  std::erase_if(order_, [this](const Arrival& a) { return !holds(a); });
}

std::uint64_t RingCache::first(const std::string& room) const {
  const Ring* r = find(room);
  return r == nullptr || r->ring.empty() ? 0 : r->first;
}

bool RingCache::read(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader,
                     MessageList& out) const {
  const Ring* r = find(room);
  if (r == nullptr || r->ring.empty()) return false;
  const std::uint64_t last = r->first + r->ring.size() - 1;
  for (std::uint64_t seq = std::max(lo, r->first); seq <= std::min(hi, last); ++seq) {
    const Entry& e = r->ring[seq - r->first];
    v1::RoomMessage* m = out.Add();
    *m = e.message;
    if (e.identity != reader) m->clear_client_msg_id();
  }
  return lo >= r->first;
}

void RingCache::drop(const std::string& room) {
  auto it = slot_of_.find(room);
  if (it == slot_of_.end()) return;
  Ring& r = slots_[it->second];
  while (!r.ring.empty()) pop_oldest(r);
  r.first = 0;
  ++r.life;  // its arrivals still queued no longer count
  free_slots_.push_back(it->second);
  slot_of_.erase(it);
}

}  // namespace chat::server
