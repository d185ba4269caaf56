#include "server/store/ring_cache.hpp"

#include <algorithm>

namespace chat::server {

void RingCache::push(const std::string& room, v1::RoomMessage message, std::string identity) {
  if (capacity_ == 0) return;
  Ring& r = rooms_[room];
  if (r.ring.empty() || message.seq() != r.first + r.ring.size()) {
    r.ring.clear();  // not the next one: start the ring again from here
    r.first = message.seq();
  }
  r.ring.push_back(Entry{std::move(message), std::move(identity)});
  if (r.ring.size() > capacity_) {
    r.ring.pop_front();
    ++r.first;
  }
}

std::uint64_t RingCache::first(const std::string& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() || it->second.ring.empty() ? 0 : it->second.first;
}

bool RingCache::read(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader,
                     MessageList& out) const {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.ring.empty()) return false;
  const Ring& r = it->second;
  const std::uint64_t last = r.first + r.ring.size() - 1;
  for (std::uint64_t seq = std::max(lo, r.first); seq <= std::min(hi, last); ++seq) {
    const Entry& e = r.ring[seq - r.first];
    v1::RoomMessage* m = out.Add();
    *m = e.message;
    if (e.identity != reader) m->clear_client_msg_id();
  }
  return lo >= r.first;
}

}  // namespace chat::server
