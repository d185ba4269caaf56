#include "server/store/memory_store.hpp"

#include <algorithm>
#include <random>

namespace chat::server {

namespace {
std::uint64_t random_epoch() {
  std::random_device rd;
  std::uint64_t epoch = 0;
  while (epoch == 0) epoch = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return epoch;
}
}  // namespace

MemoryStore::MemoryStore(std::size_t history_per_room)
    : history_per_room_(history_per_room), epoch_(random_epoch()) {}

std::uint64_t MemoryHistoryStore::create(const std::string& room) {
  rooms_.erase(room);
  return next_incarnation_++;
}

void MemoryHistoryStore::append(const std::string& room, v1::RoomMessage message) {
  Ring& r = rooms_[room];
  if (r.ring.empty()) r.first = message.seq();
  r.ring.push_back(std::move(message));
  if (r.ring.size() > capacity_) {
    r.ring.pop_front();
    ++r.first;
  }
}

std::uint64_t MemoryHistoryStore::first_seq(const std::string& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() || it->second.ring.empty() ? 0 : it->second.first;
}

void MemoryHistoryStore::read(const std::string& room, std::uint64_t lo, std::uint64_t hi,
                              MessageList& out) const {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.ring.empty()) return;
  const Ring& r = it->second;
  const std::uint64_t last = r.first + r.ring.size() - 1;
  for (std::uint64_t seq = std::max(lo, r.first); seq <= std::min(hi, last); ++seq) {
    *out.Add() = r.ring[seq - r.first];
  }
}

}  // namespace chat::server
