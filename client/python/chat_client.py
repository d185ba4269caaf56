#!/usr/bin/env python3
"""A small chat client in Python, using only the stock protobuf helpers.

It shows that any protobuf language can speak the chat protocol: frames are
protobuf's standard varint length-delimited encoding of chat.v1.ClientFrame
(to the server) and chat.v1.ServerFrame (from it).

    python3 chat_client.py --port 7777 --nick py --room '#general' --say 'hello'

It logs in, joins the room, says something, and prints every frame it
receives as one line until --expect text is seen or --timeout runs out.
The generated module chat/v1/chat_pb2.py must be on PYTHONPATH
(protoc -Iproto --python_out=DIR proto/chat/v1/chat.proto).
"""
import argparse
import socket
import sys
import time

from google.protobuf.internal.decoder import _DecodeVarint
from google.protobuf.internal.encoder import _VarintBytes

from chat.v1 import chat_pb2 as pb


class Connection:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        self.next_id = 1

    def send(self, **body):
        frame = pb.ClientFrame(request_id=self.next_id, **body)
        self.next_id += 1
        data = frame.SerializeToString()
        self.sock.sendall(_VarintBytes(len(data)) + data)

    def receive(self):
        """Returns the next ServerFrame, or None when the server closes."""
        while True:
            if self.buffer:
                try:
                    length, start = _DecodeVarint(self.buffer, 0)
                except IndexError:  # the length prefix itself is incomplete
                    length, start = None, 0
                if length is not None and len(self.buffer) >= start + length:
                    frame = pb.ServerFrame()
                    frame.ParseFromString(self.buffer[start:start + length])
                    self.buffer = self.buffer[start + length:]
                    return frame
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk


def describe(frame):
    kind = frame.WhichOneof("body")
    if kind == "message":
        m = frame.message
        return f"message {m.room} #{m.seq} <{m.sender}> {m.text}"
    if kind == "presence":
        p = frame.presence
        return f"presence {p.room} {p.nick} {pb.Presence.Kind.Name(p.kind)}"
    if kind == "error":
        return f"error {pb.Error.Code.Name(frame.error.code)} {frame.error.message}"
    if kind == "welcome":
        return f"welcome {frame.welcome.server} epoch={frame.welcome.epoch}"
    if kind == "hello":
        return f"hello {frame.hello.nick}"
    if kind == "join":
        return f"join {frame.join.room} members={','.join(frame.join.members)}"
    if kind == "direct":
        return f"direct <{frame.direct.sender}> {frame.direct.text}"
    return kind or "empty"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7777)
    parser.add_argument("--nick", required=True)
    parser.add_argument("--room", default="#general")
    parser.add_argument("--say", action="append", default=[], help="text to send (repeatable)")
    parser.add_argument("--expect", help="exit 0 once a message with this text arrives")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()

    deadline = time.monotonic() + args.timeout
    conn = Connection(args.host, args.port, args.timeout)
    conn.send(hello=pb.HelloRequest(nick=args.nick))
    conn.send(join=pb.JoinRequest(room=args.room))
    for i, text in enumerate(args.say, start=1):
        conn.send(say=pb.SayRequest(room=args.room, text=text, client_msg_id=i))

    while time.monotonic() < deadline:
        conn.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            frame = conn.receive()
        except socket.timeout:
            break
        if frame is None:
            print("closed", flush=True)
            return 1
        kind = frame.WhichOneof("body")
        if kind == "ping":  # keep-alive: answer the server's ping
            conn.send(pong=pb.PongReply(nonce=frame.ping.nonce))
            continue
        print(describe(frame), flush=True)
        if args.expect and kind == "message" and frame.message.text == args.expect:
            return 0
    return 0 if not args.expect else 2


if __name__ == "__main__":
    sys.exit(main())
