"""Raw protocol connections and chatd process helpers for the measuring
scripts in client/bench (memory_bound.py, attacks.py).

Nothing here is a client to chat with: a Conn writes and reads frames as
they are, so a script can send what a well-behaved client never would
(pipelined requests, floods, frames it never finishes) and read, or not
read, what comes back. Sends traffic to 127.0.0.1 only.
"""
import os
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from chat_client import decode_varint, encode_varint, import_protocol  # noqa: E402

pb = import_protocol()


def frame(request_id, **body):
    """One length-prefixed ClientFrame, e.g. frame(1, hello=pb.HelloRequest(nick="n"))."""
    payload = pb.ClientFrame(request_id=request_id, **body).SerializeToString()
    return encode_varint(len(payload)) + payload


class Conn:
    """A blocking TCP connection to chatd, from `source` (any 127.x.y.z:
    Linux routes all of 127/8 to loopback, so each source is an address of
    its own to chatd's per-address limits)."""

    def __init__(self, port, source="127.0.0.1", rcvbuf=None, timeout=10):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        if source != "127.0.0.1":
            self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def feed(self, data):
        """Adds bytes read elsewhere (a selector loop) to the read buffer."""
        self.buf += data

    def next_frame(self):
        """The next whole ServerFrame already buffered, or None."""
        got = decode_varint(self.buf)
        if not got or len(self.buf) < got[1] + got[0]:
            return None
        n, off = got
        f = pb.ServerFrame()
        f.ParseFromString(self.buf[off:off + n])
        self.buf = self.buf[off + n:]
        return f

    def read_frame(self, timeout=10):
        self.sock.settimeout(timeout)
        while True:
            f = self.next_frame()
            if f is not None:
                return f
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("server closed")
            self.buf += chunk

    def wait_for(self, kind, timeout=10):
        """Reads until a frame whose body is `kind`; raises on an error frame."""
        while True:
            f = self.read_frame(timeout)
            body = f.WhichOneof("body")
            if body == kind:
                return f
            if body == "error":
                raise RuntimeError(f"error: {f.error}")
            if body == "ping":
                self.send(frame(0, pong=pb.PongReply(nonce=f.ping.nonce)))

    def login(self, nick):
        """Reads the Welcome, says hello; returns the Welcome."""
        welcome = self.wait_for("welcome").welcome
        self.send(frame(1, hello=pb.HelloRequest(nick=nick)))
        self.wait_for("hello")
        return welcome

    def close(self):
        self.sock.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User plus system CPU time of a process and all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metrics(port):
    """chatd's /metrics page as {series: value}, labels kept in the key."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def metric(port, name):
    return metrics(port).get(name, 0.0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_chatd(cmd_prefix, chatd, args, **popen):
    """Starts chatd on 127.0.0.1 with free ports for chat and metrics, after
    `cmd_prefix` (e.g. ["taskset", "-c", "1"]); returns (process, port,
    metrics port) once it accepts connections."""
    port, mport = free_port(), free_port()
    cmd = cmd_prefix + [chatd, "--bind", "127.0.0.1", "--port", str(port), "--metrics",
                        f"127.0.0.1:{mport}", "--log-level", "warn"] + args
    popen.setdefault("stdout", subprocess.DEVNULL)
    proc = subprocess.Popen(cmd, **popen)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port, mport
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"chatd exited ({proc.returncode}): {' '.join(cmd)}")
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("chatd did not start listening")
