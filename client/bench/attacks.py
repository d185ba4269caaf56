#!/usr/bin/env python3
"""Measures what each attack of issue 12 does to a bystander's latency:
chat-bench's p99 with the attack running against the same without it.

    /usr/bin/python3 client/bench/attacks.py [--runs 3] [--only pong,ping] [--out bench-results/attacks.md]

For every attack and run it starts a fresh chatd (release build, default
flags, 2 reactors, SQLite store) pinned to core 1, then an attacker process
pinned to core 0 at nice 19, then chat-bench on core 0 at normal priority as
the bystander: 18 connections from 127.0.0.1 in 2 rooms, one publisher a room
at 40 msg/s, connecting and logging in while the attack runs. The attackers
come from other loopback addresses (127.0.0.2 and up), as an attacker's
connections would come from an address of their own. The baseline run is the
same with the attacker doing only its scene (the members, readers or victims
its attack needs, present in both) and no attack. Runs alternate baseline
and attack; the report gives medians.

The attacker is independent of the measuring client: its own process, below
the bystander's priority, so its CPU does not become the bystander's
latency; what is left is what the attack costs chatd and, through chatd,
everyone on it. Sends traffic to 127.0.0.1 only and stops by itself.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYTHON_PROTO = os.path.join(ROOT, "build/release/python")
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [PYTHON_PROTO, os.environ.get("PYTHONPATH")]))
sys.path[:0] = [HERE, PYTHON_PROTO]
from rawconn import Conn, frame, metrics, pb, start_chatd  # noqa: E402
import attackers  # noqa: E402

CHATD = os.path.join(ROOT, "build/release/server/chatd")
BENCH = os.path.join(ROOT, "build/release/client/chat-bench")
SERVER_CORE, BENCH_CORE = "1", "0"
BYSTANDER = ["--rooms", "2", "--subs", "8", "--pubs", "1", "--rate", "40", "--duration", "6", "--warmup", "1",
             "--drain", "3"]
# Counters that name what chatd refused or cut; the report shows their
# growth in the attack run.
EVIDENCE = ("refused", "rate_limited", "slow_consumer", "timeout", "trimmed", "errors_total", "disconnects", "logins",
            "password_hashes")


def fill_template(path):
    """A data dir with 12 rooms of 100 4000-byte messages (#full0..11) and
    1800 rooms with 512-byte topics (#t0..1799), made once by a chatd whose
    limits are off, for the attacks that need big replies."""
    lifted = ["--data-dir", path, "--rate", "0", "--max-connections-per-address", "0", "--connect-rate", "0",
              "--room-create-rate", "1000000", "--room-create-per-address", "10000000",
              "--max-rooms-per-address", "1000000", "--topic-rate", "0"]
    chatd, port, _ = start_chatd([], CHATD, lifted)
    try:
        c = Conn(port, timeout=30)
        c.login("filler")
        for r in range(12):
            c.send(frame(2, join=pb.JoinRequest(room=f"#full{r}")))
            c.wait_for("join")
            c.send(b"".join(frame(10 + i, say=pb.SayRequest(room=f"#full{r}", text="x" * 4000, client_msg_id=i + 1))
                            for i in range(100)))
            for _ in range(100):
                c.wait_for("message")
        for t in range(1800):
            room = f"#t{t}"
            c.send(frame(3, join=pb.JoinRequest(room=room)) +
                   frame(4, set_topic=pb.SetTopicRequest(room=room, topic="t" * 512)) +
                   frame(5, leave=pb.LeaveRequest(room=room)))
            c.wait_for("leave")
        c.close()
    finally:
        chatd.terminate()
        chatd.wait(30)


def run_once(name, attack, mode, template):
    data = tempfile.mkdtemp(prefix="chatd-attack-")
    if attack.get("template"):
        shutil.rmtree(data)
        shutil.copytree(template, data)
    chatd, port, mport = start_chatd(["taskset", "-c", SERVER_CORE], CHATD,
                                     ["--reactors", "2", "--data-dir", data] + attack.get("flags", []))
    attacker = None
    try:
        attacker = subprocess.Popen(
            ["nice", "-n", "19", "taskset", "-c", BENCH_CORE, sys.executable, os.path.join(HERE, "attackers.py"),
             name, mode, str(port)], stdout=subprocess.PIPE, text=True)
        ready = attacker.stdout.readline().strip()
        if ready != "ready":
            return {"failed": f"the attacker did not get ready: {ready!r}", "attacker": {}, "evidence": {}}
        time.sleep(2)  # the attack is under way before the bystander connects
        before = metrics(mport)
        cmd = ["taskset", "-c", BENCH_CORE, BENCH, "--port", str(port), "--server-pid", str(chatd.pid),
               "--json", "--quiet"] + attack.get("bystander", BYSTANDER)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        after = metrics(mport)
        if out.returncode != 0:
            result = {"failed": out.stderr.strip() or f"chat-bench exited {out.returncode}"}
        else:
            result = json.loads(out.stdout)
        attacker.send_signal(signal.SIGTERM)
        result["attacker"] = json.loads(attacker.stdout.readline() or "{}")
        attacker.wait(30)
        result["evidence"] = {k: after[k] - before.get(k, 0) for k in after
                              if any(e in k for e in EVIDENCE) and after[k] - before.get(k, 0) > 0}
        result["server_alive"] = chatd.poll() is None
        return result
    finally:
        if attacker and attacker.poll() is None:
            attacker.kill()
        chatd.terminate()
        try:
            chatd.wait(30)
        except subprocess.TimeoutExpired:
            chatd.kill()
        shutil.rmtree(data, ignore_errors=True)


def median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=",".join(attackers.ATTACKS))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench-results", "attacks.md"))
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    names = args.only.split(",")
    for n in names:
        if n not in attackers.ATTACKS:
            parser.error(f"no attack {n!r}; there are: {', '.join(attackers.ATTACKS)}")
    if not args.no_build:
        subprocess.run(["cmake", "--preset", "release"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", "--preset", "release", "--target", "chatd", "chat-bench",
                        "chat_python_proto"], cwd=ROOT,
                       check=True)

    template = None
    if any(attackers.ATTACKS[n].get("template") for n in names):
        template = tempfile.mkdtemp(prefix="chatd-attack-template-")
        shutil.rmtree(template)
        print("filling the template data dir", file=sys.stderr, flush=True)
        fill_template(template)

    rows, raw = [], []
    try:
        for name in names:
            attack = attackers.ATTACKS[name]
            runs = {"scene": [], "attack": []}
            for i in range(args.runs):
                for mode in ("scene", "attack"):
                    print(f"{name} run {i + 1}/{args.runs}: {mode}", file=sys.stderr, flush=True)
                    r = run_once(name, attack, mode, template)
                    r.update(attack=name, mode=mode)
                    raw.append(r)
                    runs[mode].append(r)
                    if "failed" in r:
                        print(f"  bystander failed: {r['failed']}", file=sys.stderr)
            rows.append((name, attack, runs))
    finally:
        if template:
            shutil.rmtree(template, ignore_errors=True)
    write_report(args.out, rows, raw, args.runs)


def write_report(out, rows, raw, n):
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(os.path.splitext(out)[0] + ".jsonl", "w") as f:
        for r in raw:
            f.write(json.dumps(r) + "\n")
    fmt = lambda v: "n/a" if v is None else f"{v:,.0f}"
    lines = [f"Bystander latency (chat-bench `{' '.join(BYSTANDER)}`), medians of {n} runs; chatd "
             f"(`--reactors 2`, defaults otherwise) on core {SERVER_CORE}, attacker (nice 19) and chat-bench "
             f"on core {BENCH_CORE}.", "",
             "| attack | finding | p99 µs without | p99 µs with | ratio | p50 µs without → with "
             "| chatd CPU without → with | bystander failed, lost, dup, reordered | what chatd counted (attack runs) "
             "| what the attacker saw |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, attack, runs in rows:
        q, a = runs["scene"], runs["attack"]
        p99q, p99a = median(q, "latency_p99_us"), median(a, "latency_p99_us")
        ratio = f"{p99a / p99q:.2f}" if p99q and p99a else "n/a"
        cpu = lambda rs: median([{"c": r["server_cpu_s"] / r["measured_s"]} for r in rs if r.get("measured_s")], "c")
        bad = (sum("failed" in r for r in q + a), sum(r.get("lost", 0) for r in q + a),
               sum(r.get("duplicated", 0) for r in q + a), sum(r.get("reordered", 0) for r in q + a))
        evidence = {}
        for r in a:
            for k, v in r["evidence"].items():
                evidence[k] = evidence.get(k, 0) + v
        seen = {}
        for r in a:
            for k, v in r["attacker"].items():
                seen[k] = seen.get(k, 0) + v
        show = lambda d: "; ".join(f"{k} {v / n:,.0f}" for k, v in sorted(d.items())) or "-"
        lines.append(f"| {name} | {attack['finding']} | {fmt(p99q)} | {fmt(p99a)} | {ratio} "
                     f"| {fmt(median(q, 'latency_p50_us'))} → {fmt(median(a, 'latency_p50_us'))} "
                     f"| {cpu(q) or 0:.2f} → {cpu(a) or 0:.2f} | {', '.join(map(str, bad))} "
                     f"| {show(evidence)} | {show(seen)} |")
    lines += ["", "Counters and attacker figures are per run (mean of the attack runs); the attacker's are "
              "counted over its whole life, the counters over the bystander's run. Attacks and their server "
              "flags:", ""]
    for name, attack, _ in rows:
        flags = " ".join(attack.get("flags", [])) or "none"
        own = f" The bystander: chat-bench `{' '.join(attack['bystander'])}`." if "bystander" in attack else ""
        lines.append(f"- `{name}`: {attack['what']} Server flags beyond the defaults: {flags}.{own}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
