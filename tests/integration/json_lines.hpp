#pragma once
// What `chat --json` printed, one JSON object per line: the seqs shown for a
// room, and how many events of a type.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace chat::testing {

// Sequence numbers of the live (non-replayed) messages shown for `room`.
inline std::vector<std::uint64_t> shown_seqs(const std::vector<std::string>& lines, const std::string& room) {
  std::vector<std::uint64_t> seqs;
  for (const auto& l : lines) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_discarded() || j.value("type", "") != "message" || j.value("room", "") != room) continue;
    if (j.value("history", false)) continue;
    seqs.push_back(j.value("seq", std::uint64_t{0}));
  }
  return seqs;
}

inline int count_type(const std::vector<std::string>& lines, const std::string& type, const std::string& key = "",
                      const std::string& value = "") {
  int n = 0;
  for (const auto& l : lines) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_discarded() || j.value("type", "") != type) continue;
    if (!key.empty() && j.value(key, "") != value) continue;
    ++n;
  }
  return n;
}

inline bool has_seqs_through(const std::vector<std::string>& lines, const std::string& room, std::uint64_t n) {
  const auto seqs = shown_seqs(lines, room);
  return std::set<std::uint64_t>(seqs.begin(), seqs.end()).size() >= n;
}

}  // namespace chat::testing
