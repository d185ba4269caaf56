#include "server/store/memory_store.hpp"

#include "common/random_id.hpp"

namespace chat::server {

MemoryStore::MemoryStore(std::size_t history_per_room, std::size_t history_memory)
    : history_per_room_(history_per_room), history_memory_(history_memory), epoch_(common::random_id()) {}

std::uint64_t MemoryHistoryStore::create(const std::string& room) {
  ring_.drop(room);
  return next_incarnation_++;
}

bool MemoryHistoryStore::append(const std::string& room, v1::RoomMessage message, const std::string& identity) {
  ring_.push(room, std::move(message), identity);
  return true;
}

bool MemoryHistoryStore::read(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader,
                              MessageList& out) const {
  ring_.read(room, lo, hi, reader, out);
  return true;  // what is not in the ring is gone
}

}  // namespace chat::server
