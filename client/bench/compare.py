#!/usr/bin/env python3
"""Alternates two chatd builds under the same chat-bench load, in one sitting.

    /usr/bin/python3 client/bench/compare.py OLD_CHATD NEW_CHATD [--only A,C] [--runs 3]

Runs each scenario (reproduce.py's definitions: server and generator pinned to
separate cores, 1 reactor, --rate 0) old, new, old, new, ... so that drift on a
shared machine hits both builds alike, and prints each run and the medians:
deliveries per server CPU-second and the latency percentiles.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reproduce  # noqa: E402

KEYS = [("deliveries_per_server_cpu_s", "deliveries/CPU-s", 0), ("latency_p50_us", "p50 µs", 0),
        ("latency_p99_us", "p99 µs", 0), ("latency_p999_us", "p99.9 µs", 0), ("server_cpu_cores", "server cores", 2)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--only", default="A,C")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    builds = {"old": os.path.abspath(args.old), "new": os.path.abspath(args.new)}
    for name in args.only.split(","):
        title, arg_sets, reactors = reproduce.SCENARIOS[name]
        results = {"old": [], "new": []}
        for i in range(args.runs):
            for label, path in builds.items():
                reproduce.CHATD = path
                r = reproduce.run_once(arg_sets[0], reactors)
                results[label].append(r)
                shown = ", ".join(f"{h} {reproduce.fmt(r.get(k), d)}" for k, h, d in KEYS)
                shown += ", lost/dup/reordered/gaps " + "/".join(
                    str(r.get(k)) for k in ("lost", "duplicated", "reordered", "seq_gaps"))
                print(f"{name} run {i + 1} {label}: {shown}", flush=True)
        print(f"\n{name}: {title} (medians of {args.runs})")
        print("| build | " + " | ".join(h for _, h, _ in KEYS) + " |")
        print("|---|" + "---|" * len(KEYS))
        for label in builds:
            row = [reproduce.fmt(reproduce.median(results[label], k), d) for k, _, d in KEYS]
            print(f"| {label} | " + " | ".join(row) + " |")
        old = reproduce.median(results["old"], KEYS[0][0])
        new = reproduce.median(results["new"], KEYS[0][0])
        if old:
            print(f"new/old deliveries per CPU-second: {new / old:.3f}\n")


if __name__ == "__main__":
    main()
