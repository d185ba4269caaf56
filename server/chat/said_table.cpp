#include "server/chat/said_table.hpp"

#include <algorithm>

namespace chat::server {

const std::string& SaidTable::speaker_key(std::string_view room, std::string_view identity) {
  scratch_.assign(room);
  scratch_.push_back('\0');
  scratch_.append(identity);
  return scratch_;
}

const SaidTable::Said* SaidTable::recall(std::string_view room, std::string_view identity, std::uint64_t id) {
  auto it = speakers_.find(speaker_key(room, identity));
  if (it == speakers_.end()) return nullptr;
  Speaker& s = it->second;
  if (!s.ascending.empty() && id <= s.ascending.back().id) {
    auto at = std::lower_bound(s.ascending.begin(), s.ascending.end(), id,
                               [](const Entry& e, std::uint64_t want) { return e.id < want; });
    if (at != s.ascending.end() && at->id == id) return &at->said;
  }
  if (s.others.empty()) return nullptr;
  auto other = s.others.find(id);
  return other == s.others.end() ? nullptr : &other->second;
}

void SaidTable::note(std::string_view room, std::string_view identity, std::uint64_t id, Said said) {
  while (!order_.empty() && (order_.front().at_ms < said.at_ms - window_ms_ || order_.size() >= max_entries_)) {
    forget_oldest();
  }
  auto [it, added] = speakers_.try_emplace(speaker_key(room, identity));
  Speaker& s = it->second;
  if (added) s.key = it->first;
  if (s.ascending.empty() || id > s.ascending.back().id) {
    s.ascending.push_back(Entry{id, said});
  } else {
    s.others.emplace(id, said);
  }
  order_.push_back(Noted{said.at_ms, &s, id});
}

void SaidTable::forget_oldest() {
  const Noted oldest = order_.front();
  order_.pop_front();
  Speaker& s = *oldest.speaker;
  // Arrival order holds within ascending too: if the oldest entry is there,
  // it is its front.
  if (!s.ascending.empty() && s.ascending.front().id == oldest.id) {
    s.ascending.pop_front();
  } else {
    s.others.erase(oldest.id);
  }
  if (s.ascending.empty() && s.others.empty()) {
    const std::string key = std::move(s.key);
    speakers_.erase(key);
  }
}

}  // namespace chat::server
