#pragma once
// Waiting for a condition that nothing signals: a metric, a file, a process
// list, a screen. Tests wait for a condition or a metric, never for a fixed
// sleep (STYLE.md). What a TestClient, a ChildProcess or a RawConnection
// receives has an event-driven wait of its own; use that instead.
// Thread safety: any thread; pred runs on the caller's.

#include <chrono>
#include <functional>

namespace chat::testing {

// Checks pred now and then every `poll` until it holds; false if it still
// does not once `timeout` has passed (it is checked once more at the end).
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(10));

}  // namespace chat::testing
