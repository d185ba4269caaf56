#!/usr/bin/env python3
"""What a login with a password costs chatd (issue 13): chat-bench --logins
against a fresh release chatd for each run, at each --password-cost, with 1
and 4 threads logging in at once.

    PYTHONPATH=build/release/python /usr/bin/python3 client/bench/login_cost.py [--runs 3]

chatd (2 reactors, the SQLite store, --login-attempts 0 and --connect-rate 0
so that nothing but the hasher limits the bench) is pinned to core 1,
chat-bench to core 0. Prints one JSON line per run, then a Markdown table of
medians. Sends traffic to 127.0.0.1 only.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from rawconn import start_chatd  # noqa: E402

CHATD = os.path.join(ROOT, "build/release/server/chatd")
BENCH = os.path.join(ROOT, "build/release/client/chat-bench")


def one_run(cost, threads):
    data = tempfile.mkdtemp(prefix="chatd-logins-")
    chatd, port, _ = start_chatd(["taskset", "-c", "1"], CHATD,
                                 ["--data-dir", data, "--reactors", "2", "--login-attempts", "0",
                                  "--connect-rate", "0", "--password-cost", cost])
    try:
        out = subprocess.run(["taskset", "-c", "0", BENCH, "--port", str(port), "--logins", "--threads",
                              str(threads), "--duration", "10", "--warmup", "2", "--server-pid", str(chatd.pid),
                              "--json", "--quiet"], capture_output=True, text=True, timeout=120, check=True)
        return json.loads(out.stdout)
    finally:
        chatd.terminate()
        chatd.wait(30)
        shutil.rmtree(data, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    table = ["| --password-cost | threads | logins/s | server CPU ms per login | p50 ms | p99 ms | refused + errors |",
             "|---|---|---|---|---|---|---|"]
    for cost in ("interactive", "moderate"):
        for threads in (1, 4):
            runs = []
            for _ in range(args.runs):
                r = one_run(cost, threads)
                r.update(cost=cost)
                print(json.dumps(r), flush=True)
                runs.append(r)
            med = lambda key: statistics.median(r[key] for r in runs)
            cpu = statistics.median(r["server_cpu_s"] * 1000 / r["logins"] for r in runs if r["logins"])
            table.append(f"| {cost} | {threads} | {med('logins_per_s'):.1f} | {cpu:.0f} "
                         f"| {med('latency_p50_us') / 1000:.0f} | {med('latency_p99_us') / 1000:.0f} "
                         f"| {sum(r['refused'] + r['errors'] for r in runs)} |")
    print("\n".join(table))


if __name__ == "__main__":
    main()
