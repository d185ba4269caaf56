#pragma once
// A HistoryStore that keeps what it is given in plain vectors and records
// every call, so a test can check what a room shard stored and drive what
// it loads. `keep` imitates a store that has forgotten older messages.
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "server/store/history_store.hpp"

namespace chat::testing {

class FakeHistoryStore : public server::HistoryStore {
 public:
  std::vector<server::StoredRoom> load() override { return preloaded; }
  std::uint64_t create(const std::string& room) override {
    created.push_back(room);
    messages.erase(room);
    return next_incarnation++;
  }
  void append(const std::string& room, v1::RoomMessage message) override {
    auto& list = messages[room];
    list.push_back(std::move(message));
    if (list.size() > keep) list.erase(list.begin());
  }
  void set_topic(const std::string& room, const std::string& topic, const std::string& set_by) override {
    topics[room] = {topic, set_by};
  }
  std::uint64_t first_seq(const std::string& room) const override {
    auto it = messages.find(room);
    return it == messages.end() || it->second.empty() ? 0 : it->second.front().seq();
  }
  void read(const std::string& room, std::uint64_t lo, std::uint64_t hi, server::MessageList& out) const override {
    ++reads;
    auto it = messages.find(room);
    if (it == messages.end()) return;
    for (const auto& m : it->second) {
      if (m.seq() >= lo && m.seq() <= hi) *out.Add() = m;
    }
  }
  void drop(const std::string& room) override {
    dropped.push_back(room);
    messages.erase(room);
  }

  std::size_t keep = std::numeric_limits<std::size_t>::max();
  std::vector<server::StoredRoom> preloaded;
  std::uint64_t next_incarnation = 100;
  std::map<std::string, std::vector<v1::RoomMessage>> messages;
  std::map<std::string, std::pair<std::string, std::string>> topics;  // room -> (topic, set by)
  std::vector<std::string> created;
  std::vector<std::string> dropped;
  mutable int reads = 0;
};

}  // namespace chat::testing
