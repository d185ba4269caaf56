#pragma once
// Background threads run nicer than the reactors.
//
// The acceptor and the store's checkpointer do work that can wait: a
// connection flood's accepts and refusals, a checkpoint's copying. Where
// they share a core with reactors (chatd's threads are not pinned; a small
// machine has few cores), the scheduler then lets a reactor that wakes up
// run first, so the people already connected keep their latency and the
// background work takes the CPU the reactors leave. Measured with
// client/bench/attacks.py (BENCHMARKS.md, "Attacks"): under a flood of
// pre-login connections a bystander's p99 with the attack went from 22.9
// to 7.6 ms with the acceptor so lowered.
// Thread safety: affects only the calling thread.

namespace chat::server {

// How much nicer than the thread that started chatd.
inline constexpr int kBackgroundNiceness = 10;

// Lowers the calling thread's priority by kBackgroundNiceness (Linux keeps a
// nice value per thread). `who` names the thread in the debug line that a
// failure logs; failing costs only the priority.
void run_as_background_thread(const char* who);

}  // namespace chat::server
