#!/usr/bin/env python3
"""Reproduces BENCHMARKS.md: builds a release, runs scenarios A-H with chatd
pinned to one core and chat-bench on the other, several runs each, and writes
medians (summary.md), raw results (results.jsonl) and plots (*.png).
`--scaling` instead runs A and a 100-room variant with 1, 2, 4, ... reactors,
each on a core of its own, and writes scaling.md. `--versus-floor A` runs
one scenario against chatd and chat-bench-floor in turn (chatd, floor,
chatd, ...), so both see the same drift of a shared machine, and reports
chatd's deliveries per server CPU-second as a share of the floor's.
`--store memory` runs chatd with its in-memory store (the default is the
SQLite one), as the floor keeps nothing either.

Scenarios A-D and G also run against chat-bench-floor (rows "A floor" and so on):
the least a server can do and still pass chat-bench, one send per connection
per turn and nothing else, so its figures are what the kernel alone charges
for the same traffic on this machine.

    /usr/bin/python3 client/bench/reproduce.py [--runs 3] [--out bench-results] [--only A,C] [--no-floor]
    /usr/bin/python3 client/bench/reproduce.py --scaling [--runs 3]
    /usr/bin/python3 client/bench/reproduce.py --versus-floor A --store memory [--runs 5]
    /usr/bin/python3 client/bench/reproduce.py --versus-tls A,C --store memory [--runs 3]

Needs Debian's gnuplot-nox for the plots and util-linux's taskset. Sends
traffic to 127.0.0.1 only; every server it starts is stopped again.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHATD = os.path.join(ROOT, "build/release/server/chatd")
BENCH = os.path.join(ROOT, "build/release/client/chat-bench")
FLOOR = os.path.join(ROOT, "build/release/tools/bench_floor/chat-bench-floor")
CHATD_EXTRA = []  # --store memory adds ["--store", "memory"]
TLS = {}  # --versus-tls: {"cert": PEM, "key": PEM} while the TLS runs go
SERVER_CORE = "1"
BENCH_CORE = "0"

MEASURE = ["--duration", "10", "--warmup", "2"]
SCENARIOS = {
    "A": ("1 room x 100 subscribers, 1 publisher, max rate",
          [["--rooms", "1", "--subs", "100", "--pubs", "1"] + MEASURE], 1),
    "B": ("1 room x 100 subscribers, 4 publishers, max rate",
          [["--rooms", "1", "--subs", "100", "--pubs", "4"] + MEASURE], 1),
    "C": ("1 room x 100 subscribers, 1 publisher at 1000 msg/s",
          [["--rooms", "1", "--subs", "100", "--pubs", "1", "--rate", "1000"] + MEASURE], 1),
    "D": ("100 rooms x 10 subscribers, 1 publisher per room at 100 msg/s",
          [["--rooms", "100", "--subs", "10", "--pubs", "1", "--rate", "100"] + MEASURE], 1),
    "E": ("10 000 idle logged-in connections, each joined to a room",
          [["--idle", "10000", "--rooms", "100"]], 1),
    "G": ("a big room: 10 000 subscribers join one room",
          [["--idle", "10000", "--rooms", "1"]], 1),
    "H": ("many connections: 180 rooms x 100 (99 subscribers, 1 publisher at 1 msg/s)",
          [["--rooms", "180", "--subs", "99", "--pubs", "1", "--rate", "1", "--threads", "1"] + MEASURE], 1),
}
# Idle-mode scenarios: reported by joins, presence and memory, not latency.
IDLE = ["E", "G"]
# F: scenario A's load with 1, 2 and 4 reactors, all on the one server core.
F_REACTORS = [1, 2, 4]
# Scenarios that also run against chat-bench-floor.
FLOORED = ["A", "B", "C", "D", "G"]
# Those reported in deliveries per server CPU-second (not the idle G).
FLOORED_RATE = [s for s in FLOORED if s not in IDLE]


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def start_server(reactors, cores=None):
    """reactors: a count for chatd, or None for chat-bench-floor; cores:
    the CPU list to pin it to (SERVER_CORE unless given)."""
    cores = cores or SERVER_CORE
    if reactors is None:
        cmd = ["taskset", "-c", cores, FLOOR, "--port", "0"]
    else:
        # Every benchmark client comes from 127.0.0.1: the per-address
        # limits, like the rate limit, are off or out of reach (H's 180
        # rooms are all held by that one address, which may otherwise
        # create and hold 100). Its 18,000 connections come faster than they
        # log in: the cap on connections not logged in yet (half the total
        # by default) goes up to the total.
        cmd = ["taskset", "-c", cores, CHATD, "--bind", "127.0.0.1", "--port", "0", "--rate", "0",
               "--max-connections-per-address", "0", "--connect-rate", "0", "--max-pre-login", "1000000",
               "--room-create-per-address", "1000000", "--max-rooms-per-address", "1000000",
               "--reactors", str(reactors), "--log-level", "warn"] + CHATD_EXTRA
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, preexec_fn=raise_fd_limit)
    line = proc.stdout.readline()
    port = int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
    if TLS:  # the TLS port's line comes second, and the benchmark uses it
        line = proc.stdout.readline()
        port = int(line.split("TLS on ")[1].split()[0].rsplit(":", 1)[1])
    return proc, port, cmd


def run_once(args, reactors, server_cores=None, bench_cores=None):
    server, port, server_cmd = start_server(reactors, server_cores)
    try:
        tls = ["--tls", "--tls-ca", TLS["cert"]] if TLS else []
        cmd = ["taskset", "-c", bench_cores or BENCH_CORE, BENCH, "--port", str(port), "--server-pid", str(server.pid),
               "--json", "--quiet"] + tls + args
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, preexec_fn=raise_fd_limit)
        if out.returncode != 0:
            raise RuntimeError(f"chat-bench failed ({out.returncode}): {out.stderr.strip()}")
        result = json.loads(out.stdout)
        if result.get("measured_s"):
            result["server_cpu_cores"] = result["server_cpu_s"] / result["measured_s"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    shown = lambda c: " ".join(x if not x.startswith("/") else os.path.relpath(x, ROOT) for x in c)
    result["server_command"] = shown(server_cmd)
    result["bench_command"] = shown(cmd).replace(f"--port {port}", "--port PORT").replace(
        f"--server-pid {server.pid}", "--server-pid PID")
    return result


def median(results, key):
    values = [r[key] for r in results if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench-results"))
    parser.add_argument("--only", default="A,B,C,D,E,F,G,H")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--no-floor", action="store_true", help="skip the chat-bench-floor rows")
    parser.add_argument("--scaling", action="store_true",
                        help="instead of the scenarios: A and a 100-room variant with --reactors 1, 2, 4, ... "
                             "each reactor on a core of its own, chat-bench on the cores left")
    parser.add_argument("--versus-floor", metavar="SCENARIO", choices=FLOORED_RATE,
                        help="instead of the scenarios: SCENARIO against chatd and the floor, alternated")
    parser.add_argument("--versus-tls", metavar="SCENARIOS",
                        help="instead of the scenarios: each of SCENARIOS (e.g. A,C) over plaintext and over TLS, "
                             "alternated, with a self-signed certificate made by openssl")
    parser.add_argument("--store", choices=["sqlite", "memory"], default="sqlite",
                        help="chatd's store (default: sqlite, chatd's own default)")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: rewrite summary.md and the plots from OUT/results.jsonl")
    args = parser.parse_args()
    only = set(args.only.split(","))
    os.makedirs(args.out, exist_ok=True)

    if args.report_only:
        all_results = {}
        with open(os.path.join(args.out, "results.jsonl")) as f:
            for line in f:
                r = json.loads(line)
                all_results.setdefault(r["scenario"], (r["description"], []))[1].append(r)
        write_summary(args.out, all_results)
        write_plots(args.out, all_results)
        return

    if not args.no_build:
        subprocess.run(["cmake", "--preset", "release"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", "--preset", "release", "--target", "chatd", "chat-bench", "chat-bench-floor"],
                       cwd=ROOT, check=True)

    if args.store == "memory":
        CHATD_EXTRA.extend(["--store", "memory"])
    if args.scaling:
        return run_scaling(args)
    if args.versus_floor:
        return run_versus_floor(args)
    if args.versus_tls:
        return run_versus_tls(args)
    plan = [(name, desc, a, r) for name, (desc, argsets, r) in SCENARIOS.items() if name in only for a in argsets]
    if "F" in only:
        plan += [(f"F{r}", f"scenario A's load, {r} reactor(s) on one core", SCENARIOS["A"][1][0], r)
                 for r in F_REACTORS]
    if not args.no_floor:
        plan += [(f"{name} floor", f"{name}'s load against chat-bench-floor", SCENARIOS[name][1][0], None)
                 for name in FLOORED if name in only]

    all_results = {}
    with open(os.path.join(args.out, "results.jsonl"), "w") as raw:
        for name, desc, bench_args, reactors in plan:
            runs = []
            for i in range(args.runs):
                print(f"{name} run {i + 1}/{args.runs}: {desc}", file=sys.stderr, flush=True)
                r = run_once(bench_args, reactors)
                r["scenario"] = name
                r["description"] = desc
                raw.write(json.dumps(r) + "\n")
                raw.flush()
                runs.append(r)
                time.sleep(1)
            all_results[name] = (desc, runs)

    write_summary(args.out, all_results)
    write_plots(args.out, all_results)


SCALING = {
    "A": ["--rooms", "1", "--subs", "100", "--pubs", "1"] + MEASURE,
    "100 rooms": ["--rooms", "100", "--subs", "10", "--pubs", "1"] + MEASURE,
}


def run_scaling(args):
    """Deliveries/s by reactor count: chatd's k reactors on cores 1..k, chat-bench
    (one thread per core) on the cores left, k = 1, 2, 4, ... while one is left;
    then k = all the cores, chat-bench sharing core 0 with the server (on a
    2-core machine that is the only way to see 2 reactors)."""
    cores = os.cpu_count() or 1
    counts = [k for k in (1, 2, 4, 8, 16, 32, 64) if k <= cores] or [1]
    lines = [f"Scaling on {cores} cores ({machine()}), medians of {args.runs} runs:", "",
             "| load | reactors | server cores | generator cores | deliveries/s | deliveries per server CPU-s "
             "| p50 µs | p99 µs |", "|---|---|---|---|---|---|---|---|"]
    with open(os.path.join(args.out, "scaling.jsonl"), "w") as raw:
        for load, bench_args in SCALING.items():
            for k in counts:
                if k < cores:
                    server_cores = f"1-{k}" if k > 1 else "1"
                    rest = [c for c in range(cores) if not 1 <= c <= k]
                else:  # every core: the generator shares core 0
                    server_cores = f"0-{cores - 1}" if cores > 1 else "0"
                    rest = [0]
                bench_cores = ",".join(map(str, rest))
                extra = ["--threads", str(len(rest))]
                runs = []
                for i in range(args.runs):
                    print(f"scaling {load}, {k} reactor(s), run {i + 1}/{args.runs}", file=sys.stderr, flush=True)
                    r = run_once(bench_args + extra, k, server_cores, bench_cores)
                    r.update(load=load, reactors=k)
                    raw.write(json.dumps(r) + "\n")
                    runs.append(r)
                    time.sleep(1)
                m = lambda key: median(runs, key)
                shared = " (shared)" if k >= cores else ""
                lines.append(f"| {load} | {k} | {server_cores} | {bench_cores}{shared} | {fmt(m('deliveries_per_s'))} "
                             f"| {fmt(m('deliveries_per_server_cpu_s'))} | {fmt(m('latency_p50_us'))} "
                             f"| {fmt(m('latency_p99_us'))} |")
    with open(os.path.join(args.out, "scaling.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def run_versus_floor(args):
    name = args.versus_floor
    bench_args = SCENARIOS[name][1][0]
    per = {"chatd": [], "floor": []}
    with open(os.path.join(args.out, "versus-floor.jsonl"), "w") as raw:
        for i in range(args.runs):
            for who, reactors in (("chatd", 1), ("floor", None)):
                print(f"{name} against {who}, run {i + 1}/{args.runs}", file=sys.stderr, flush=True)
                r = run_once(bench_args, reactors)
                r.update(scenario=name, server=who)
                raw.write(json.dumps(r) + "\n")
                per[who].append(r)
                time.sleep(1)
    key = "deliveries_per_server_cpu_s"
    runs = lambda who: ", ".join(fmt(r[key]) for r in per[who])
    chatd, floor = median(per["chatd"], key), median(per["floor"], key)
    lines = [f"{name} against the floor, alternated, {args.runs} runs each ({machine()}; chatd's store: {args.store}):",
             "", f"- chatd: {fmt(chatd)} deliveries per server CPU-second (runs: {runs('chatd')})",
             f"- floor: {fmt(floor)} (runs: {runs('floor')})", f"- chatd / floor: {chatd / floor:.0%} (medians)"]
    lost = sum(r.get("lost", 0) + r.get("duplicated", 0) + r.get("reordered", 0) for r in per["chatd"])
    lines.append(f"- chatd lost, duplicated or reordered: {lost}")
    with open(os.path.join(args.out, "versus-floor.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def run_versus_tls(args):
    names = args.versus_tls.split(",")
    certs = tempfile.mkdtemp(prefix="chat-bench-tls-")
    cert, key = os.path.join(certs, "cert.pem"), os.path.join(certs, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    tls_flags = ["--tls-cert", cert, "--tls-key", key, "--tls-port", "0"]
    per = {(n, t): [] for n in names for t in ("plaintext", "TLS")}
    with open(os.path.join(args.out, "versus-tls.jsonl"), "w") as raw:
        for i in range(args.runs):
            for name in names:
                for transport in ("plaintext", "TLS"):
                    print(f"{name} over {transport}, run {i + 1}/{args.runs}", file=sys.stderr, flush=True)
                    TLS.clear()
                    if transport == "TLS":
                        TLS.update(cert=cert, key=key)
                        CHATD_EXTRA.extend(tls_flags)
                    try:
                        r = run_once(SCENARIOS[name][1][0], 1)
                    finally:
                        if transport == "TLS":
                            del CHATD_EXTRA[-len(tls_flags):]
                            TLS.clear()
                    r.update(scenario=name, transport=transport)
                    raw.write(json.dumps(r) + "\n")
                    per[(name, transport)].append(r)
                    time.sleep(1)
    shutil.rmtree(certs, ignore_errors=True)
    lines = [f"Plaintext against TLS, alternated, {args.runs} runs each, medians ({machine()}; 1 reactor; "
             f"chatd's store: {args.store}):", "",
             "| scenario | transport | deliveries/s | deliveries per server CPU-s | server CPU (cores) "
             "| p50 µs | p99 µs | lost+dup+reordered | RSS per idle connection (E, G) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        for transport in ("plaintext", "TLS"):
            runs = per[(name, transport)]
            m = lambda k: median(runs, k)
            bad = sum(r.get("lost", 0) + r.get("duplicated", 0) + r.get("reordered", 0) for r in runs)
            lines.append(f"| {name} | {transport} | {fmt(m('deliveries_per_s'))} | {fmt(m('deliveries_per_server_cpu_s'))} "
                         f"| {fmt(m('server_cpu_cores'), 2)} | {fmt(m('latency_p50_us'))} | {fmt(m('latency_p99_us'))} "
                         f"| {bad} | {fmt(m('rss_per_connection_bytes')) if name in IDLE else ''} |")
        plain = median(per[(name, "plaintext")], "deliveries_per_server_cpu_s")
        tls = median(per[(name, "TLS")], "deliveries_per_server_cpu_s")
        if plain and tls:
            lines.append(f"| {name} | TLS / plaintext | | {tls / plain:.0%} | | | | | |")
    with open(os.path.join(args.out, "versus-tls.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, Linux {os.uname().release}"


def write_summary(out, all_results):
    lines = [f"Medians of {len(next(iter(all_results.values()))[1])} runs; server pinned to core "
             f"{SERVER_CORE}, chat-bench to core {BENCH_CORE}.", ""]
    lines += ["| scenario | deliveries/s | deliveries per server CPU-s | server CPU (cores) | generator CPU (cores) "
              "| p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | lost | dup | reordered | seq gaps |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, (desc, runs) in all_results.items():
        if name.split()[0] in IDLE:
            continue
        m = lambda k: median(runs, k)
        lines.append(
            f"| {name}: {desc} | {fmt(m('deliveries_per_s'))} | {fmt(m('deliveries_per_server_cpu_s'))} "
            f"| {fmt(m('server_cpu_cores'), 2)} | {fmt(m('generator_cpu_cores'), 2)} "
            f"| {fmt(m('latency_p50_us'))} | {fmt(m('latency_p90_us'))} | {fmt(m('latency_p99_us'))} "
            f"| {fmt(m('latency_p999_us'))} | {fmt(m('latency_max_us'))} "
            f"| {sum(r['lost'] for r in runs)} | {sum(r['duplicated'] for r in runs)} "
            f"| {sum(r['reordered'] for r in runs)} | {sum(r['seq_gaps'] for r in runs)} |")
    for name, (desc, runs) in all_results.items():
        if name.split()[0] not in IDLE:
            continue
        joins = median(runs, "connections") or 1
        lines += ["", f"{name}: {desc}: every join answered in {fmt(median(runs, 'join_s'), 2)} s "
                      f"(runs: {', '.join(fmt(r.get('join_s'), 2) for r in runs)}), presence "
                      f"{fmt((median(runs, 'presence_bytes') or 0) / joins)} bytes per join, join reply "
                      f"{fmt((median(runs, 'join_reply_bytes') or 0) / joins)} bytes, server RSS growth "
                      f"{fmt(median(runs, 'rss_per_connection_bytes'))} bytes per connection "
                      f"(runs: {', '.join(fmt(r.get('rss_per_connection_bytes')) for r in runs)})."]
    lines += ["", "Commands (PORT and PID are the started server's):", ""]
    for name, (desc, runs) in all_results.items():
        lines += [f"- {name}: `{runs[0]['server_command']}` then `{runs[0]['bench_command']}`"]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def write_plots(out, all_results):
    latency = [(n, runs) for n, (d, runs) in all_results.items() if n.split()[0] not in IDLE]
    with open(os.path.join(out, "latency.dat"), "w") as f:
        f.write("scenario p50 p90 p99 p99.9 max\n")
        for name, runs in latency:
            f.write(name.replace(" ", "-") + " " + " ".join(str(median(runs, k) or 0) for k in
                    ["latency_p50_us", "latency_p90_us", "latency_p99_us", "latency_p999_us", "latency_max_us"]) + "\n")
    with open(os.path.join(out, "throughput.dat"), "w") as f:
        f.write("scenario deliveries_per_s per_server_cpu_s\n")
        for name, runs in latency:
            f.write(f"{name.replace(' ', '-')} {median(runs, 'deliveries_per_s') or 0} {median(runs, 'deliveries_per_server_cpu_s') or 0}\n")
    script = f"""
set terminal pngcairo size 900,480 font "sans,10"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key outside top center horizontal
set grid ytics
set output '{out}/latency.png'
set title 'End-to-end latency percentiles (median of runs), microseconds, log scale'
set logscale y
set yrange [10:*]
plot for [i=2:6] '{out}/latency.dat' using i:xtic(1) title columnheader(i)
set output '{out}/throughput.png'
set title 'Deliveries per second and per server CPU-second (median of runs), log scale'
set yrange [10000:*]
set format y '%.0s%c'
plot '{out}/throughput.dat' using 2:xtic(1) title 'deliveries/s', '' using 3 title 'deliveries per server CPU-s'
"""
    if shutil.which("gnuplot") is None:
        print("gnuplot is not installed: no plots (apt-get install gnuplot-nox)", file=sys.stderr)
        return
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


if __name__ == "__main__":
    main()
