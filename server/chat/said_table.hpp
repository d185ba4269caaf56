#pragma once
// The sequencer's memory of named says: which seq each (room, identity,
// client_msg_id) got, for at least a window (10 minutes), and at most a
// number of entries per shard, oldest forgotten first.
//
// Each say looks it up and most are new, so the common case is made cheap:
// a speaker (one identity in one room) keeps its ids in arrival order, and
// while they only grow (chat, chat-bench and the Python client count up from
// the clock) a new id is known to be new by comparing it with the last one,
// and an old one is found by binary search. Ids that arrive below the
// speaker's largest go to a small hash map of their own. Entries are PODs in
// deques: no string or node is allocated per say, and the table stays at
// about 50 bytes an entry (a string-keyed unordered_map of every key cost
// four times that, and 6% of a reactor's CPU at full rate in a profile of
// scenario A).
// Thread safety: reactor-confined (the room owner's thread).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chat::server {

class SaidTable {
 public:
  struct Said {
    std::uint64_t seq = 0;
    std::int64_t at_ms = 0;
  };

  SaidTable(std::int64_t window_ms, std::size_t max_entries) : window_ms_(window_ms), max_entries_(max_entries) {}

  // The say named (room, identity, id), if it is remembered.
  const Said* recall(std::string_view room, std::string_view identity, std::uint64_t id);
  // Remembers a say that recall() did not know, first forgetting what is
  // older than the window before `at_ms`, and the oldest past the cap.
  void note(std::string_view room, std::string_view identity, std::uint64_t id, Said said);

  std::size_t size() const { return order_.size(); }
  std::size_t speakers() const { return speakers_.size(); }

 private:
  struct Entry {
    std::uint64_t id = 0;
    Said said;
  };
  struct Speaker {
    std::string key;                               // its key in speakers_, to erase it by
    std::deque<Entry> ascending;                   // ids increasing, in arrival order
    std::unordered_map<std::uint64_t, Said> others;  // ids that came below the largest
  };
  struct Noted {
    std::int64_t at_ms = 0;
    Speaker* speaker = nullptr;  // stable: a map node, erased only once empty
    std::uint64_t id = 0;
  };

  // room \0 identity, built in scratch_ (no allocation once it is large enough)
  const std::string& speaker_key(std::string_view room, std::string_view identity);
  void forget_oldest();

  std::int64_t window_ms_;
  std::size_t max_entries_;
  std::string scratch_;
  std::unordered_map<std::string, Speaker> speakers_;
  std::deque<Noted> order_;  // every entry, oldest first
};

}  // namespace chat::server
