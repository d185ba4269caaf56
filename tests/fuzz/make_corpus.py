#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus (tests/fuzz/corpus/*) from chat.proto.

Run from the repository root with the generated chat_pb2 on PYTHONPATH:
    PYTHONPATH=build/debug/python /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import os

from google.protobuf.internal.encoder import _VarintBytes

from chat.v1 import chat_pb2 as pb

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(**body):
    data = pb.ClientFrame(request_id=body.pop("request_id", 1), **body).SerializeToString()
    return _VarintBytes(len(data)) + data


def script(*steps):
    """Session script: (client 0 or 1, bytes) -> [bit 7 client | 7-bit length][chunk]..."""
    out = b""
    for client, data in steps:
        for i in range(0, max(len(data), 1), 127):
            chunk = data[i:i + 127]
            out += bytes([(client << 7) | len(chunk)]) + chunk
    return out


def write(folder, name, data):
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


conversation = [
    (0, frame(hello=pb.HelloRequest(nick="alice"))),
    (1, frame(hello=pb.HelloRequest(nick="bob"))),
    (0, frame(request_id=2, join=pb.JoinRequest(room="#r"))),
    (1, frame(request_id=2, join=pb.JoinRequest(room="r"))),
    (0, frame(request_id=3, say=pb.SayRequest(room="#r", text="hi bob", client_msg_id=7))),
    (1, frame(request_id=3, direct=pb.DirectRequest(nick="ALICE", text="psst"))),
    (0, frame(request_id=4, set_topic=pb.SetTopicRequest(room="#r", topic="fuzzing"))),
    (1, frame(request_id=4, history=pb.HistoryRequest(room="#r", after_seq=0, limit=5))),
    (1, frame(request_id=5, history=pb.HistoryRequest(room="#r", before_seq=2))),
    (0, frame(request_id=5, who=pb.WhoRequest(room="#r"))),
    (0, frame(request_id=6, list_rooms=pb.ListRoomsRequest())),
    (1, frame(request_id=6, get_topic=pb.GetTopicRequest(room="#r"))),
    (0, frame(request_id=7, ping=pb.PingRequest(nonce=9))),
    (1, frame(request_id=7, leave=pb.LeaveRequest(room="#r"))),
]
write("session", "conversation", script(*conversation))
write("session", "pipelined", script((0, b"".join(d for c, d in conversation if c == 0))))
write("session", "bad-requests", script(
    (0, frame(join=pb.JoinRequest(room="#early"))),
    (0, frame(hello=pb.HelloRequest(nick="9bad"))),
    (0, frame(hello=pb.HelloRequest(nick="ok"))),
    (0, frame(request_id=2, say=pb.SayRequest(room="#nowhere", text="x"))),
    (0, frame(request_id=3, join=pb.JoinRequest(room="bad room"))),
    (0, frame(request_id=4)),
))
write("session", "renames", script(
    (0, frame(hello=pb.HelloRequest(nick="alice"))),
    (1, frame(hello=pb.HelloRequest(nick="bob"))),
    (0, frame(request_id=2, join=pb.JoinRequest(room="#r"))),
    (1, frame(request_id=2, join=pb.JoinRequest(room="#r"))),
    (0, frame(request_id=3, rename=pb.RenameRequest(nick="Alice"))),
    (0, frame(request_id=4, rename=pb.RenameRequest(nick="BOB"))),
    (1, frame(request_id=3, rename=pb.RenameRequest(nick="carol"))),
    (0, frame(request_id=5, say=pb.SayRequest(room="#r", text="who am i", client_msg_id=1))),
    (1, frame(request_id=4, direct=pb.DirectRequest(nick="alice", text="still you?"))),
    (1, frame(request_id=5, rename=pb.RenameRequest(nick="bob"))),
))
write("session", "oversized", script((0, _VarintBytes(5000) + b"x" * 100)))
write("session", "garbage", script((0, b"\x05\xff\xff\xff\xff\x0f")))

stream = b"".join(d for _, d in conversation)
write("frame_decoder", "conversation-whole", bytes([0]) + stream)
write("frame_decoder", "conversation-chunked", bytes([3, 0, 6, 40]) + stream)
write("frame_decoder", "too-large", bytes([1, 2]) + _VarintBytes(2000))
write("frame_decoder", "bad-varint", bytes([0]) + b"\xff" * 11)
