#!/usr/bin/env python3
"""Measures what one connection can make chatd hold, for the README's
worst-case memory figure.

    PYTHONPATH=build/release/python /usr/bin/python3 client/bench/memory_bound.py \\
        --chatd build/release/server/chatd --connections 200

It starts chatd (memory store, so only connections and history count), fills
a room with 4000-byte messages, then opens --connections clients that log
in, join that room and ask for history pages until what is queued for them
is just under what the server lets a connection hold, and never read (each
with a small receive buffer). It reports chatd's RSS and the kernel's TCP
buffer memory before and after, per connection, and whether every client was
still connected when measured. The server's limits are its defaults unless
given after `--`, e.g. `-- --outbox-cap-bytes 524288`.

Only for measuring: it sends traffic to 127.0.0.1 only and stops by itself.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawconn import Conn, frame, metric, pb, rss_kib, start_chatd  # noqa: E402


def tcp_mem_kib():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                fields = line.split()
                return int(fields[fields.index("mem") + 1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chatd", required=True)
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--messages", type=int, default=400, help="4000-byte messages in the room")
    ap.add_argument("--fill", type=float, default=0.9,
                    help="fraction of outbox cap + send buffer each client asks for")
    ap.add_argument("--hold", type=float, default=3.0, help="seconds to wait before measuring")
    ap.add_argument("server_args", nargs="*")
    a = ap.parse_args()

    chatd, port, mport = start_chatd([], a.chatd, ["--store", "memory", "--rate", "0"] + a.server_args)
    try:
        filler = Conn(port)
        welcome = filler.wait_for("welcome").welcome
        limits = welcome.limits
        filler.send(frame(1, hello=pb.HelloRequest(nick="filler")))
        filler.wait_for("hello")
        filler.send(frame(2, join=pb.JoinRequest(room="#fill")))
        filler.wait_for("join")
        for i in range(a.messages):
            filler.send(frame(10 + i, say=pb.SayRequest(room="#fill", text="x" * 4000, client_msg_id=i + 1)))
            filler.wait_for("message")
        time.sleep(0.5)
        rss0, tcp0 = rss_kib(chatd.pid), tcp_mem_kib()

        # What a connection may hold: the outbox cap plus the kernel's send
        # buffer (chatd bounds it; the kernel reports twice what was set).
        want = int(a.fill * limits.outbox_cap_bytes)
        page = min(limits.max_history_page, a.messages)
        conns = []
        for c in range(a.connections):
            conn = Conn(port, rcvbuf=4096)
            conn.send(frame(1, hello=pb.HelloRequest(nick=f"n{c}")))
            conn.wait_for("hello")
            conn.send(frame(2, join=pb.JoinRequest(room="#fill")))
            conn.wait_for("join")
            asked, rid = 0, 3
            while asked < want:
                conn.send(frame(rid, history=pb.HistoryRequest(room="#fill", after_seq=0, limit=page)))
                asked += page * 4020
                rid += 1
            conns.append(conn)
        time.sleep(a.hold)
        rss1, tcp1 = rss_kib(chatd.pid), tcp_mem_kib()
        open_now = metric(mport, "chatd_connections_open")
        dropped = metric(mport, "chatd_slow_consumer_disconnects_total")
        n = a.connections
        print(f"connections {n} (open when measured: {int(open_now) - 1}, dropped as slow: {int(dropped)})")
        print(f"outbox cap {limits.outbox_cap_bytes} B; asked per connection ~{want} B")
        print(f"chatd RSS: {rss0} KiB -> {rss1} KiB: {(rss1 - rss0) / n:.0f} KiB per connection")
        print(f"kernel TCP memory: {tcp0} KiB -> {tcp1} KiB: {(tcp1 - tcp0) / n:.0f} KiB per connection")
        for conn in conns:
            conn.sock.close()
    finally:
        chatd.terminate()
        chatd.wait(10)


if __name__ == "__main__":
    main()
