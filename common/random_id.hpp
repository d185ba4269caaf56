#pragma once
// A random non-zero id of 53 bits (exact in every JSON number): the epochs
// and incarnations that tell a client a numbering started over. Drawn from
// std::random_device, so two servers, or two nodes of a cluster, never
// pick the same one by counting alike.
// Thread safety: any thread (each call makes its own random_device).

#include <cstdint>
#include <random>

namespace chat::common {

inline std::uint64_t random_id() {
  std::random_device rd;
  std::uint64_t id = 0;
  while (id == 0) id = ((static_cast<std::uint64_t>(rd()) << 32) ^ rd()) & ((1ull << 53) - 1);
  return id;
}

}  // namespace chat::common
