#!/usr/bin/env python3
"""In-process micro-benchmarks of the speed tweaks that bypass an abstraction.

Each case times one hot operation of ``service/`` (best of ``--repeat`` runs, no sockets,
one process) and prints one JSON line per case with microseconds per operation.  Where the
plain alternative is still in the code base (generated protobuf classes, the generic decode
path, an uncached parse) the case times both and prints the gain; for the hub and WebSocket
write paths the alternative is not kept, so the gain comes from running this script against
a checkout without the tweak (``--root``) and comparing the two figures.  The comment next to
each tweak in ``service/`` quotes the figures and names the case
(``bench/micro.py <case>``); docs/performance.md lists them all.

    .venv/bin/python bench/micro.py                 # every case, this checkout
    .venv/bin/python bench/micro.py hub ws          # some cases
    .venv/bin/python bench/micro.py --root /tmp/x   # service/ of another checkout
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
N_SUBS = 1000  # subscribers of one channel (hub, ws): bench/fanout.py's N


def best(fn: Callable[[], None], ops: int, repeat: int) -> float:
    """Best wall time of ``fn`` over ``repeat`` runs, in microseconds per operation."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) / ops * 1e6


def compared(
    case: str, what: str, fast: Callable[[], None], plain: Callable[[], None], ops: int, repeat: int
) -> dict[str, Any]:
    """A case's line for a trick whose plain alternative is still in the code base."""
    return {
        "case": case,
        "what": what,
        "us": best(fast, ops, repeat),
        "plain_us": best(plain, ops, repeat),
    }


async def best_async(fn: Callable[[], Awaitable[Any]], ops: int, repeat: int) -> float:
    """``best`` of a coroutine function."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t0)
    return min(times) / ops * 1e6


class _Sock:
    """The parts of an asyncio transport the WebSocket transport and the writer touch."""

    def write(self, data: bytes) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0


class _Request:
    transport = _Sock()


def case_hub(repeat: int) -> dict[str, Any]:
    """Hub fan-out of one publication to N_SUBS JSON subscribers (writers only, no flush)."""
    import service.core.subscription as subscription
    from service.core.engine import Publication
    from service.core.hooks import SubscriptionOptions
    from service.core.hub import Hub
    from service.core.writer import FlushLoop, Writer
    from service.protocol import JSON
    from service.transports.websocket import WebSocketTransport

    async def run() -> float:
        hub = Hub()
        loop = FlushLoop()
        writers = []
        for i in range(N_SUBS):
            transport = WebSocketTransport(None, _Request(), JSON)  # type: ignore[arg-type]
            writer = Writer(transport, loop, max_queue=0, on_overflow=lambda: None)
            client = _Client(f"c{i}", writer)
            sub = subscription.ChannelSub(client, "bench", SubscriptionOptions(), server_side=False)
            _activate(sub, subscription)
            hub.add_subscriber(sub)
            writers.append(writer)
        pubs = [
            Publication(b'{"ts":%d,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}' % i)
            for i in range(200)
        ]

        def broadcast() -> None:
            for pub in pubs:
                hub.broadcast_publication("bench", pub, None)
                for w in writers:
                    w.pending.clear()
                loop._dirty.clear()

        return best(broadcast, len(pubs), repeat)

    us = asyncio.run(run())
    return {"case": "hub", "what": f"broadcast 1 publication to {N_SUBS} subscribers", "us": us}


class _Client:
    """What the hub reads of a subscriber's session: its id, wire variant and writer."""

    def __init__(self, cid: str, writer: Any) -> None:
        self.id = cid
        self.variant = 0  # JSON_REPLY
        self.writer = writer


def _activate(sub: Any, subscription: Any) -> None:
    """Mark ``sub`` subscribed, whichever shape ChannelSub has in the checkout."""
    if hasattr(sub, "take_buffer"):
        sub.take_buffer()
        return
    sub.buffer = None
    sub.state = subscription.SUBSCRIBED


def case_ws(repeat: int) -> dict[str, Any]:
    """WebSocket framing of one message to N_SUBS connections (the same bytes object)."""
    from service.protocol import JSON
    from service.transports.websocket import WebSocketTransport

    transports = [WebSocketTransport(None, _Request(), JSON) for _ in range(N_SUBS)]  # type: ignore[arg-type]
    msgs = [b'{"push":{"channel":"bench","pub":{"data":{"ts":%d}}}}' % i for i in range(200)]

    def write() -> None:
        for msg in msgs:
            batch = [msg]
            for t in transports:
                t.write(batch)

    us = best(write, len(msgs), repeat)
    return {"case": "ws", "what": f"frame 1 message for {N_SUBS} WebSocket connections", "us": us}


def case_pb_push(repeat: int) -> dict[str, Any]:
    """Protobuf Push of a publication: pb_fast vs the generated class (struct_to_pb)."""
    from centrifugal.centrifuge.protocol import client_pb2

    from service.core.engine import ClientInfo, Publication
    from service.core.wire import PB_PUSH, encoded_publication
    from service.protocol.pb_convert import make_encoder

    encode = make_encoder(client_pb2.Push)
    pubs = [
        Publication(b'{"ts":%d}' % i, ClientInfo("42", "c-1", b"", b""), i + 1, None)
        for i in range(2000)
    ]

    def fast() -> None:
        for pub in pubs:
            encoded_publication("bench", pub).get(PB_PUSH)

    def generated() -> None:
        for pub in pubs:
            encode(encoded_publication("bench", pub).push)

    a, b = best(fast, len(pubs), repeat), best(generated, len(pubs), repeat)
    return {"case": "pb_push", "what": "protobuf Push of 1 publication", "us": a, "plain_us": b}


def case_grpc_reply(repeat: int) -> dict[str, Any]:
    """One gRPC Batch publish reply: hand-built bytes vs the generated Reply."""
    from centrifugal.centrifugo.api import api_pb2

    from service.api import grpc as g
    from service.api import messages as a
    from service.protocol import pb_fast
    from service.protocol.pb_convert import struct_to_pb

    results = [a.PublishResult(offset=i + 1, epoch="abcd1234") for i in range(2000)]
    if not hasattr(g, "_publish_reply"):  # removed (no measurable gain); see --root
        return {"case": "grpc_reply", "what": "1 Batch publish reply", "skipped": "removed"}

    def fast() -> None:
        for res in results:
            g._publish_reply(0, res)

    def generated() -> None:
        for res in results:
            reply = api_pb2.Reply()
            reply.publish.SetInParent()
            struct_to_pb(res, reply.publish)
            pb_fast.ld(0x0A, reply.SerializeToString())

    x, y = best(fast, len(results), repeat), best(generated, len(results), repeat)
    return {"case": "grpc_reply", "what": "1 Batch publish reply", "us": x, "plain_us": y}


def case_redis_decode(repeat: int) -> dict[str, Any]:
    """The Publication of a data-only history message from PUB/SUB: built straight from the
    bytes after the prefix (``decode_message``'s inlined path) vs the protobuf decode."""
    from service.core.engine import Publication
    from service.engines.redis import codec

    payloads = [b'{"ts":%03d}' % (i % 1000) for i in range(2000)]
    datas = [
        (b"__p1:%d:1687600000__" % (i + 1) + bytes((0x22, len(p))) + p, i + 1)
        for i, p in enumerate(payloads)
    ]
    starts = [(d, d.find(b"__", 5) + 2, o) for d, o in datas]

    def inlined() -> None:
        for d, p, o in starts:
            Publication(d[p + 2 :], None, o, None)

    def generic() -> None:
        for d, p, o in starts:
            codec.publication_at(d, p, o)

    return compared(
        "redis_decode", "Publication of 1 data-only message", inlined, generic, len(starts), repeat
    )


def case_redis_position(repeat: int) -> dict[str, Any]:
    """The StreamPosition of a history message: ``tuple.__new__`` vs the NamedTuple call."""
    from service.core.engine import StreamPosition
    from service.engines.redis import codec

    args = [(i + 1, "1687600000") for i in range(5000)]
    new = codec._new_position

    def direct() -> None:
        for a in args:
            new(StreamPosition, a)

    def plain() -> None:
        for o, e in args:
            StreamPosition(o, e)

    x, y = best(direct, len(args), repeat), best(plain, len(args), repeat)
    return {"case": "redis_position", "what": "1 StreamPosition", "us": x, "plain_us": y}


def case_uni_sse(repeat: int) -> dict[str, Any]:
    """uni_sse position tracking of one pushed publication: module cache vs parsing each."""
    from service.transports import uni_sse

    msgs = [
        b'{"channel":"bench","pub":{"data":{"ts":%d},"offset":%d}}' % (i, i + 1) for i in range(200)
    ]
    conns = 100  # every connection of the channel parses the same bytes object

    def cached() -> None:
        uni_sse._cache.clear()
        for msg in msgs:
            for _ in range(conns):
                uni_sse._parse_channel_push(msg)

    decode = uni_sse._channel_push.decode

    def uncached() -> None:
        for msg in msgs:
            for _ in range(conns):
                decode(msg)

    ops = len(msgs) * conns
    x, y = best(cached, ops, repeat), best(uncached, ops, repeat)
    return {"case": "uni_sse", "what": "positions of 1 push per connection", "us": x, "plain_us": y}


def case_sockjs(repeat: int) -> dict[str, Any]:
    """SockJS ``a[...]`` framing of one message for N_SUBS sessions: the one-entry frame
    cache (the same bytes object for every subscriber) vs building the frame each time."""
    from service.protocol import sockjs

    msgs = [b'{"push":{"channel":"bench","pub":{"data":{"ts":%d}}}}' % i for i in range(200)]
    src: list[bytes | None] = [None]
    frame: list[bytes] = [b""]

    def cached() -> None:
        for msg in msgs:
            for _ in range(N_SUBS):
                if msg is src[0]:
                    _ = frame[0]
                else:
                    src[0], frame[0] = msg, sockjs.message_frame([msg])

    def plain() -> None:
        for msg in msgs:
            for _ in range(N_SUBS):
                sockjs.message_frame([msg])

    x, y = best(cached, len(msgs), repeat), best(plain, len(msgs), repeat)
    what = f"frame 1 message for {N_SUBS} SockJS sessions"
    return {"case": "sockjs", "what": what, "us": x, "plain_us": y}


def case_v1(repeat: int) -> dict[str, Any]:
    """Protocol v1 translation of one push for N_SUBS v1 connections: ``V1Transport._one``
    (a one-entry cache) vs translating for each connection."""
    from service.transports.v1 import V1Transport

    class _Inner:
        name = "websocket"

    transports = [V1Transport(_Inner()) for _ in range(N_SUBS)]  # type: ignore[arg-type]
    msgs = [b'{"push":{"channel":"bench","pub":{"data":{"ts":%d}}}}' % i for i in range(200)]

    def cached() -> None:
        for msg in msgs:
            for t in transports:
                t._one(msg)

    def plain() -> None:
        for msg in msgs:
            for t in transports:
                t.translator.translate(msg)

    x, y = best(cached, len(msgs), repeat), best(plain, len(msgs), repeat)
    what = f"translate 1 push for {N_SUBS} v1 connections"
    return {"case": "v1", "what": what, "us": x, "plain_us": y}


async def _api_node() -> tuple[Any, Any, Any]:
    """A started memory-engine node without subscribers, its hooks and an Executor."""
    import json
    import tempfile

    from service.api.executor import Executor
    from service.app import node_config
    from service.config import load_config
    from service.core.node import Node
    from service.engines.memory import MemoryBroker, MemoryPresenceManager
    from service.policy.hooks import CentrifugoHooks

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "config.json"
        path.write_text(json.dumps({"token_hmac_secret_key": "s", "api_key": "k"}))
        cfg, _ = load_config(str(path))
    hooks = CentrifugoHooks(cfg)
    node = Node(
        config=node_config(cfg),
        broker=MemoryBroker(),
        presence=MemoryPresenceManager(),
        hooks=hooks,
    )
    await node.start()
    return node, hooks, Executor(node, hooks)


def case_grpc_batch(repeat: int) -> dict[str, Any]:
    """gRPC ``Batch`` of 1000 plain publish commands into one channel (memory engine, one
    subscriber-less node): the whole API side of a publication, request to reply bytes."""
    from centrifugal.centrifugo.api import api_pb2

    from service.api.grpc import CentrifugoApiService

    class _Context:
        def invocation_metadata(self) -> tuple[()]:
            return ()

    async def run() -> float:
        node, _, executor = await _api_node()
        svc = CentrifugoApiService(executor, api_key="")
        req = api_pb2.BatchRequest()
        for i in range(1000):
            req.commands.add().publish.CopyFrom(
                api_pb2.PublishRequest(channel="bench", data=b'{"ts":%d}' % i)
            )

        async def batch() -> None:
            out = await svc.Batch(req, _Context())
            if not isinstance(out, bytes):
                out.SerializeToString()  # what grpc does with a response object

        us = await best_async(batch, 1000, repeat)
        await node.close()
        return us

    us = asyncio.run(run())
    return {"case": "grpc_batch", "what": "1 publish command of a 1000-command Batch", "us": us}


def case_broadcast(repeat: int) -> dict[str, Any]:
    """The server API's ``broadcast`` into 100 channels without subscribers (memory engine):
    the API and engine side of one channel, decoded request to result objects."""
    import msgspec

    from service.api import messages as a

    async def run() -> float:
        node, _, executor = await _api_node()
        data = msgspec.Raw(b'{"ts":1,"pad":"' + b"x" * 64 + b'"}')
        req = a.BroadcastRequest(channels=[f"personal-{i}" for i in range(100)], data=data)
        us = await best_async(lambda: executor.broadcast(req), 100, repeat * 20)
        await node.close()
        return us

    us = asyncio.run(run())
    return {"case": "broadcast", "what": "1 channel of a 100-channel broadcast", "us": us}


def case_json_push(repeat: int) -> dict[str, Any]:
    """JSON Reply{push} of a data-only publication (what a bidirectional JSON subscriber
    gets): ``json_codec.data_push`` vs encoding the wire Structs."""
    from service.core.engine import Publication
    from service.core.wire import JSON_REPLY, encoded_publication
    from service.protocol import JSON
    from service.protocol import messages as m

    pubs = [
        Publication(b'{"ts":%d,"pad":"%s"}' % (i, b"x" * 64), json_ok=True) for i in range(2000)
    ]

    def fast() -> None:
        for pub in pubs:
            encoded_publication("bench", pub).get(JSON_REPLY)

    def structs() -> None:
        for pub in pubs:
            JSON.encode_reply(m.Reply(push=encoded_publication("bench", pub).push))

    return compared(
        "json_push", "JSON Reply{push} of 1 publication", fast, structs, len(pubs), repeat
    )


CASES = {
    "hub": case_hub,
    "ws": case_ws,
    "pb_push": case_pb_push,
    "grpc_reply": case_grpc_reply,
    "redis_decode": case_redis_decode,
    "redis_position": case_redis_position,
    "uni_sse": case_uni_sse,
    "grpc_batch": case_grpc_batch,
    "broadcast": case_broadcast,
    "json_push": case_json_push,
    "sockjs": case_sockjs,
    "v1": case_v1,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", default=list(CASES), help=", ".join(CASES))
    ap.add_argument("--root", default=str(REPO), help="checkout whose service/ is measured")
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    root = Path(args.root).resolve()
    sys.path[:0] = [str(root), str(root / "generated")]
    for name in args.cases:
        out = CASES[name](args.repeat)
        if "plain_us" in out and "us" in out:
            out["gain"] = round(out["plain_us"] / out["us"], 2)
        out = {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}
        print(json.dumps({"root": str(root), **out}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
