#!/usr/bin/env python3
"""Cluster mode against one node (issue 11): scenarios A, C and D (or
--only) against one chatd, and against two chatd --cluster nodes sharing
the rooms through one redis-server, alternated run by run so both see the
same drift of a shared machine. chat-bench spreads its connections over
the nodes (--also-port: every room has members on both, so every say
crosses Redis) and counts the CPU of every server process, Redis's too
(--also-pid). Every server process is pinned to the same core(s) as the
single node, chat-bench to the other: the figures compare the work per
delivery, not the cores given.

Then the rate at which one Redis saturates: Redis on a core of its own,
the nodes on another, chat-bench's publishers at max rate in many rooms
with one subscriber on each node, reporting says per second and Redis's
CPU per second (a Redis at ~1.0 core is saturated).

    /usr/bin/python3 client/bench/cluster_bench.py [--runs 3] [--only A,C,D] [--out bench-results]

Writes OUT/cluster.md and OUT/cluster.jsonl. Sends traffic to 127.0.0.1
only; every process it starts is stopped again.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reproduce  # noqa: E402
from reproduce import BENCH, BENCH_CORE, CHATD, SCENARIOS, SERVER_CORE, fmt, machine, median  # noqa: E402

NODE_FLAGS = ["--bind", "127.0.0.1", "--port", "0", "--rate", "0", "--max-connections-per-address", "0",
              "--connect-rate", "0", "--max-pre-login", "1000000", "--room-create-per-address", "1000000",
              "--max-rooms-per-address", "1000000", "--reactors", "1", "--log-level", "warn"]


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(core, workdir):
    port = free_port()
    proc = subprocess.Popen(["taskset", "-c", core, "redis-server", "--bind", "127.0.0.1", "--port", str(port),
                             "--save", "", "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
            return proc, port
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def start_node(core, extra):
    cmd = ["taskset", "-c", core, CHATD] + NODE_FLAGS + extra
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, preexec_fn=reproduce.raise_fd_limit)
    line = proc.stdout.readline()
    return proc, int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])


def bench(port, pids, args, also_ports=()):
    cmd = ["taskset", "-c", BENCH_CORE, BENCH, "--port", str(port), "--server-pid", str(pids[0]), "--json", "--quiet"]
    for p in also_ports:
        cmd += ["--also-port", str(p)]
    for pid in pids[1:]:
        cmd += ["--also-pid", str(pid)]
    out = subprocess.run(cmd + args, capture_output=True, text=True, timeout=600, preexec_fn=reproduce.raise_fd_limit)
    if out.returncode != 0:
        raise RuntimeError(f"chat-bench failed ({out.returncode}): {out.stderr.strip()}")
    r = json.loads(out.stdout)
    if r.get("measured_s"):
        r["server_cpu_cores"] = r["server_cpu_s"] / r["measured_s"]
    return r


def stop(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=30)


def run(setup, args, node_core=SERVER_CORE, redis_core=SERVER_CORE, redis_only=False):
    """setup: "single" (one chatd, memory store) or "cluster" (Redis and two
    nodes); redis_only: the server CPU reported is Redis's alone."""
    if setup == "single":
        node, port = start_node(node_core, ["--store", "memory"])
        try:
            return bench(port, [node.pid], args)
        finally:
            stop([node])
    workdir = tempfile.mkdtemp(prefix="chat-cluster-bench-")
    redis, rport = start_redis(redis_core, workdir)
    nodes = []
    try:
        for i in range(2):
            nodes.append(start_node(node_core, ["--cluster", f"redis://127.0.0.1:{rport}", "--node-id", f"bench{i}"]))
        pids = [redis.pid] if redis_only else [nodes[0][0].pid, nodes[1][0].pid, redis.pid]
        return bench(nodes[0][1], pids, args, [nodes[1][1]])
    finally:
        stop([n for n, _ in nodes])
        stop([redis])
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="A,C,D")
    parser.add_argument("--out", default=os.path.join(reproduce.ROOT, "bench-results"))
    parser.add_argument("--no-saturation", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    names = args.only.split(",")
    per = {(n, s): [] for n in names for s in ("single", "cluster")}
    with open(os.path.join(args.out, "cluster.jsonl"), "w") as raw:
        for i in range(args.runs):
            for name in names:
                for setup in ("single", "cluster"):
                    print(f"{name}, {setup}, run {i + 1}/{args.runs}", file=sys.stderr, flush=True)
                    r = run(setup, SCENARIOS[name][1][0])
                    r.update(scenario=name, setup=setup)
                    raw.write(json.dumps(r) + "\n")
                    raw.flush()
                    per[(name, setup)].append(r)
                    time.sleep(1)
        saturation = [] if args.no_saturation else saturate(args, raw)
    lines = [f"One node against two cluster nodes and Redis, alternated, {args.runs} runs each, medians "
             f"({machine()}; every server process on core {SERVER_CORE}, chat-bench on core {BENCH_CORE}; "
             "1 reactor per node; the single node on the memory store, as Redis keeps no AOF here):", "",
             "| scenario | setup | deliveries/s | deliveries per server CPU-s (nodes + Redis) | server CPU (cores) "
             "| p50 µs | p99 µs | lost+dup+reordered |",
             "|---|---|---|---|---|---|---|---|"]
    for name in names:
        for setup in ("single", "cluster"):
            runs = per[(name, setup)]
            m = lambda k: median(runs, k)
            bad = sum(r.get("lost", 0) + r.get("duplicated", 0) + r.get("reordered", 0) for r in runs)
            lines.append(f"| {name} | {'1 node' if setup == 'single' else '2 nodes + Redis'} "
                         f"| {fmt(m('deliveries_per_s'))} | {fmt(m('deliveries_per_server_cpu_s'))} "
                         f"| {fmt(m('server_cpu_cores'), 2)} | {fmt(m('latency_p50_us'))} | {fmt(m('latency_p99_us'))} "
                         f"| {bad} |")
        one = median(per[(name, "single")], "deliveries_per_server_cpu_s")
        two = median(per[(name, "cluster")], "deliveries_per_server_cpu_s")
        if one and two:
            lines.append(f"| {name} | cluster / single | | {two / one:.0%} | | | | |")
    if saturation:
        lines += ["", "Redis saturation: Redis alone on core " + SERVER_CORE + ", both nodes and chat-bench on core "
                  + BENCH_CORE + "; 200 rooms, 1 publisher at max rate and 1 subscriber in each, on both nodes:", "",
                  "| run | says/s | Redis CPU (cores) | p50 µs | p99 µs |", "|---|---|---|---|---|"]
        for i, r in enumerate(saturation):
            lines.append(f"| {i + 1} | {fmt(r['published'] / r['measured_s'])} | {r['redis_cores']:.2f} "
                         f"| {fmt(r.get('latency_p50_us'))} | {fmt(r.get('latency_p99_us'))} |")
    with open(os.path.join(args.out, "cluster.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def saturate(args, raw):
    """Many rooms at max rate: as many says per second as the nodes can get
    through Redis, and how busy Redis is meanwhile."""
    out = []
    load = ["--rooms", "200", "--subs", "2", "--pubs", "1", "--window", "8", "--threads", "1"] + reproduce.MEASURE
    for i in range(args.runs):
        print(f"saturation run {i + 1}/{args.runs}", file=sys.stderr, flush=True)
        r = run("cluster", load, node_core=BENCH_CORE, redis_core=SERVER_CORE, redis_only=True)
        r["redis_cores"] = r["server_cpu_cores"]
        r.update(scenario="saturation", setup="cluster")
        raw.write(json.dumps(r) + "\n")
        out.append(r)
        time.sleep(1)
    return out


if __name__ == "__main__":
    main()
