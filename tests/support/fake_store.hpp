#pragma once
// A HistoryStore that keeps what it is given in plain vectors and records
// every call, so a test can check what a room shard stored and drive what
// it loads. `keep` imitates a store that has forgotten older messages;
// `durable_at_once = false` imitates a store that answers appends later
// (the test then calls the shard's on(msg::Durable)).
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "server/store/history_store.hpp"

namespace chat::testing {

class FakeHistoryStore : public server::HistoryStore {
 public:
  std::vector<server::StoredRoom> load() override { return preloaded; }
  std::optional<server::StoredRoom> find(const std::string& room) override {
    auto it = evicted.find(room);
    if (it == evicted.end()) return std::nullopt;
    return it->second;
  }
  std::uint64_t create(const std::string& room) override {
    created.push_back(room);
    messages.erase(room);
    return next_incarnation++;
  }
  bool append(const std::string& room, v1::RoomMessage message, const std::string& identity) override {
    auto& list = messages[room];
    list.push_back(std::move(message));
    identities[room].push_back(identity);
    if (list.size() > keep) {
      list.erase(list.begin());
      identities[room].erase(identities[room].begin());
    }
    return durable_at_once;
  }
  void on_durable(const std::string& room, std::uint64_t seq) override { durable[room] = seq; }
  void set_topic(const std::string& room, const std::string& topic, const std::string& set_by) override {
    topics[room] = {topic, set_by};
  }
  void set_settings(const std::string& room, const std::string& bytes) override { settings[room] = bytes; }
  std::uint64_t first_seq(const std::string& room) const override {
    auto it = messages.find(room);
    return it == messages.end() || it->second.empty() ? 0 : it->second.front().seq();
  }
  void on_retained(const std::string&, std::uint64_t) override {}
  bool read(const std::string& room, std::uint64_t lo, std::uint64_t hi, const std::string& reader,
            server::MessageList& out) const override {
    ++reads;
    auto it = messages.find(room);
    if (it == messages.end()) return true;
    for (std::size_t i = 0; i < it->second.size(); ++i) {
      const auto& m = it->second[i];
      if (m.seq() < lo || m.seq() > hi) continue;
      auto* copy = out.Add();
      *copy = m;
      if (identities.at(room)[i] != reader) copy->clear_client_msg_id();
    }
    return true;
  }
  void read_later(const std::string&, std::uint64_t, std::uint64_t, const std::string&, Fill, v1::ServerFrame,
                  server::SessionId) override {
    ++later_reads;
  }
  void evict(const std::string& room) override {
    dropped.push_back(room);
    messages.erase(room);
  }

  std::size_t keep = std::numeric_limits<std::size_t>::max();
  bool durable_at_once = true;
  std::vector<server::StoredRoom> preloaded;
  std::map<std::string, server::StoredRoom> evicted;  // what find() answers
  std::uint64_t next_incarnation = 100;
  std::map<std::string, std::vector<v1::RoomMessage>> messages;
  std::map<std::string, std::vector<std::string>> identities;
  std::map<std::string, std::pair<std::string, std::string>> topics;  // room -> (topic, set by)
  std::map<std::string, std::string> settings;  // room -> StoredRoomSettings, encoded
  std::map<std::string, std::uint64_t> durable;
  std::vector<std::string> created;
  std::vector<std::string> dropped;
  mutable int reads = 0;
  int later_reads = 0;
};

}  // namespace chat::testing
