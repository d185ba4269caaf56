#pragma once
// The percentile the survival tests report for a bystander's round trips
// (printed and recorded, never asserted: timing is not pass/fail here).

#include <algorithm>
#include <vector>

namespace chat::testing {

// The 99th percentile of `ms` (nearest rank), in the same unit; 0 if empty.
inline double p99(std::vector<double> ms) {
  if (ms.empty()) return 0;
  std::sort(ms.begin(), ms.end());
  return ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
}

}  // namespace chat::testing
