"""Bursts: several publications of one channel in one ``POST /api`` body reach every kind of
subscriber, each publication once and in order (docs/performance.md "Bursts").

The hub hands a burst to each chunk-capable connection (JSON and Protobuf WebSocket,
HTTP-streaming, SSE, uni_http_stream) as one pre-framed chunk and to the others (uni_websocket,
uni_sse) one publication at a time; both ways must be what the client sees for consecutive
single publishes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from centrifugal.centrifuge.protocol import client_pb2

from service.protocol.varint import decode_varint
from tests.integration.security.wsclients import PbWS

from .clients import TRANSPORTS, Client
from .harness import API_KEY, TIMEOUT, Harness, running, token
from .test_sockjs import XhrSession, connect_cmd, frame_messages

BURST = 16


async def publish_burst(h: Harness, channel: str, start: int, n: int = BURST) -> None:
    """One ``POST /api`` body of ``n`` publish commands into ``channel``."""
    body = "\n".join(
        json.dumps({"method": "publish", "params": {"channel": channel, "data": {"n": i}}})
        for i in range(start, start + n)
    )
    async with h.http.post(
        f"{h.base}/api", data=body, headers={"Authorization": f"apikey {API_KEY}"}
    ) as r:
        assert r.status == 200
        replies = [json.loads(line) for line in (await r.read()).splitlines()]
    assert len(replies) == n and all("error" not in x for x in replies), replies


async def pubs_of(client: Client, channel: str, n: int) -> list[dict[str, Any]]:
    """The next ``n`` publications of ``channel`` a client of ``clients.py`` receives."""
    out = []
    for _ in range(n):
        push = await client.wait(lambda p: p.get("channel") == channel and "pub" in p)
        out.append(push["pub"])
    return out


class PbSubscriber:
    """A Protobuf WebSocket subscriber; ``pubs`` decodes the publications it receives."""

    def __init__(self, ws: PbWS, channel: str) -> None:
        self.ws = ws
        self.channel = channel
        self.pending: list[client_pb2.Publication] = []

    async def pubs(self, n: int) -> list[dict[str, Any]]:
        while len(self.pending) < n:
            msg = await asyncio.wait_for(self.ws.ws.receive(), TIMEOUT)
            data, pos = bytes(msg.data), 0
            while pos < len(data):
                size, pos = decode_varint(data, pos)
                reply = client_pb2.Reply.FromString(data[pos : pos + size])
                pos += size
                if reply.push.channel == self.channel and reply.push.HasField("pub"):
                    self.pending.append(reply.push.pub)
        got, self.pending = self.pending[:n], self.pending[n:]
        return [{"data": json.loads(p.data), "offset": p.offset} for p in got]


@pytest.mark.parametrize("channel", ["plain:burst", "news:burst"])
async def test_burst_reaches_every_transport_in_order(tmp_path: Path, channel: str) -> None:
    """``news:`` keeps history (positioned, offsets checked per subscriber); ``plain:`` not."""
    async with running(tmp_path) as h:
        clients: list[Client] = []
        for kind in TRANSPORTS.values():
            c = kind(h, channel)
            await c.open()
            await c.subscribe()
            clients.append(c)
        pb = PbWS(
            await h.http.ws_connect(
                h.base.replace("http", "ws") + "/connection/websocket",
                protocols=("centrifuge-protobuf",),
            )
        )
        assert not (await pb.connect(token("pb-user"))).HasField("error")
        assert not (await pb.subscribe(channel)).HasField("error")
        pb_sub = PbSubscriber(pb, channel)
        for burst in range(2):
            await publish_burst(h, channel, burst * BURST)
        expected = [{"n": i} for i in range(2 * BURST)]
        offsets = list(range(1, 2 * BURST + 1)) if channel.startswith("news:") else None
        for c in clients:
            got = await pubs_of(c, channel, 2 * BURST)
            assert [p["data"] for p in got] == expected, type(c).__name__
            if offsets is not None:
                assert [p["offset"] for p in got] == offsets, type(c).__name__
        got = await pb_sub.pubs(2 * BURST)
        assert [p["data"] for p in got] == expected
        assert [p["offset"] for p in got] == (offsets or [0] * (2 * BURST))
        # nothing more than the bursts (no duplicate) reached the WebSocket client
        await h.publish(channel, {"n": "last"})
        [last] = await pubs_of(clients[0], channel, 1)
        assert last["data"] == {"n": "last"}
        for c in clients:
            await c.close()
        await pb.ws.close()


async def test_burst_reaches_sockjs_sessions_in_order(tmp_path: Path) -> None:
    """SockJS (``\\n``-joined messages inside ``a[...]``) takes the same chunk as WebSocket."""
    async with running(tmp_path, sockjs=True) as h:
        sessions = []
        for i in range(2):
            s = XhrSession(h, f"burst{i}")
            await s.open()
            sub = json.dumps({"id": 2, "subscribe": {"channel": "news:sj"}})
            await s.send(connect_cmd(f"sj{i}") + "\n" + sub)
            replies: list[Any] = []
            while not any(r.get("id") == 2 for r in replies):
                replies += frame_messages(await s.frame())
            sessions.append(s)
        await publish_burst(h, "news:sj", 0)
        for s in sessions:
            got: list[Any] = []
            while len(got) < BURST:
                got += [m["push"]["pub"] for m in frame_messages(await s.frame()) if "push" in m]
            assert [p["data"] for p in got] == [{"n": i} for i in range(BURST)]
            assert [p["offset"] for p in got] == list(range(1, BURST + 1))
