#pragma once
// A chatd node of a test cluster: two reactors, the cluster's Redis at
// `redis_url`, node id "node<i>", no rate limits.

#include <memory>
#include <string>

#include "support/chatd_process.hpp"

namespace chat::testing {

inline std::unique_ptr<ChatdProcess> cluster_node(const std::string& redis_url, int i) {
  return std::make_unique<ChatdProcess>(ChatdProcess::Options{
      .args = {"--reactors", "2", "--cluster", redis_url, "--node-id", "node" + std::to_string(i), "--rate", "0"}});
}

}  // namespace chat::testing
