"""Bursts in the core: several publications of one channel in one hub pass reach a
chunk-capable connection as ONE chunk, and every subscriber that needs them one by one
(subscribing or recovering meanwhile, a transport without chunks) still gets each
publication once and in order (docs/performance.md "Bursts")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from service.auth import generate_token
from service.core.client import ClientSession
from service.core.engine import Publication, PublishOptions
from service.core.node import Node
from service.protocol.chunk import LINES, Chunk

from .harness import SECRET, RecordingTransport, make_config, make_node, send

HISTORY = PublishOptions(history_size=100, history_ttl=300)
NS = {
    "name": "chat",
    "history_size": 100,
    "history_ttl": "300s",
    "allow_recovery": True,
    "allow_subscribe_for_client": True,
}
PLAIN = {"name": "plain", "allow_subscribe_for_client": True}
BURST = 16


class ChunkTransport(RecordingTransport):
    """A transport taking chunks of ``\\n``-joined JSON (as the JSON WebSocket does); its
    unsent bytes are everything written (a peer that never reads)."""

    chunk_framing = LINES

    def write(self, messages: list[bytes]) -> None:
        self.pending += sum(len(m) for m in messages)
        super().write(messages)

    def messages(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for f in self.frames for m in f for line in m.split(b"\n")]

    def chunks(self) -> int:
        return sum(type(m) is Chunk for f in self.frames for m in f)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await make_node(make_config(tmp_path, namespaces=[NS, PLAIN]))
    yield n
    await n.close()


async def connected(node: Node, transport: RecordingTransport) -> ClientSession:
    c = ClientSession(node, transport)
    token = generate_token(secret=SECRET, user="u", ttl=3600)
    await send(c, {"id": 1, "connect": {"token": token}})
    return c


async def subscriber(
    node: Node, channel: str, transport: RecordingTransport, **sub: Any
) -> RecordingTransport:
    c = await connected(node, transport)
    await send(c, {"id": 2, "subscribe": {"channel": channel, **sub}})
    await transport.wait_for(lambda m: m.get("id") == 2)
    return transport


def pubs(t: RecordingTransport, channel: str) -> list[dict[str, Any]]:
    return [
        m["push"]["pub"]
        for m in t.messages()
        if m.get("push", {}).get("channel") == channel and "pub" in m["push"]
    ]


async def burst(node: Node, channel: str, start: int, opts: PublishOptions) -> None:
    batch = [Publication(b'{"n":%d}' % i) for i in range(start, start + BURST)]
    await node.publish(channel, batch, opts)


@pytest.mark.parametrize(
    ("channel", "sub", "opts"),
    [
        ("plain:b", {}, PublishOptions()),
        ("chat:b", {"recoverable": True}, HISTORY),  # positioned: offsets checked
    ],
)
async def test_burst_is_one_chunk_per_connection_and_in_order(
    node: Node, channel: str, sub: dict[str, Any], opts: PublishOptions
) -> None:
    chunked = [await subscriber(node, channel, ChunkTransport(), **sub) for _ in range(3)]
    one_by_one = await subscriber(node, channel, RecordingTransport(), **sub)
    await burst(node, channel, 0, opts)
    await burst(node, channel, BURST, opts)
    expected = [{"n": i} for i in range(2 * BURST)]
    for t in [*chunked, one_by_one]:
        await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("data") == {"n": 31})
        got = pubs(t, channel)
        assert [p["data"] for p in got] == expected
        if opts.history_size:
            assert [p["offset"] for p in got] == list(range(1, 2 * BURST + 1))
    for t in chunked:
        assert isinstance(t, ChunkTransport)
        assert t.chunks() == 2  # one chunk per burst
    assert not any(type(m) is Chunk for f in one_by_one.frames for m in f)


async def test_subscriber_recovering_during_a_burst_gets_each_publication_once(
    node: Node,
) -> None:
    channel = "chat:r"
    live = await subscriber(node, channel, ChunkTransport(), recoverable=True)
    await burst(node, channel, 0, HISTORY)  # offsets 1..16
    await live.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == BURST)
    epoch = node.hub.channels[channel][next(iter(node.hub.channels[channel]))].epoch

    # hold the recovering subscriber's history read until a burst has been broadcast: read
    # (offsets up to 16 recovered), the burst comes (17..32, buffered), then the reply
    broker = node.broker
    real_history = broker.history
    gate = asyncio.Event()

    async def held_history(*args: Any, **kwargs: Any) -> Any:
        result = await real_history(*args, **kwargs)
        await gate.wait()
        return result

    broker.history = held_history  # type: ignore[method-assign]
    t = ChunkTransport()
    c = await connected(node, t)
    recover = {"recoverable": True, "recover": True, "offset": 4, "epoch": epoch}
    subscribing = asyncio.create_task(
        send(c, {"id": 2, "subscribe": {"channel": channel, **recover}})
    )
    await asyncio.sleep(0.01)
    await burst(node, channel, BURST, HISTORY)  # offsets 17..32, while recovering
    gate.set()
    await subscribing
    broker.history = real_history  # type: ignore[method-assign]
    await burst(node, channel, 2 * BURST, HISTORY)  # offsets 33..48, live
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 3 * BURST)
    messages = t.messages()
    reply_at = next(i for i, m in enumerate(messages) if m.get("id") == 2)
    reply = messages[reply_at]["subscribe"]
    assert reply["recovered"] is True
    recovered = [p["offset"] for p in reply.get("publications", [])]
    pushed = [p["offset"] for p in pubs(t, channel)]
    # nothing of the channel before the reply; recovered + pushed = 5..48, each once, in order
    assert not [m for m in messages[:reply_at] if m.get("push", {}).get("channel") == channel]
    assert recovered + pushed == list(range(5, 3 * BURST + 1))
    assert [p["data"]["n"] for p in pubs(t, channel)][-BURST:] == list(range(2 * BURST, 3 * BURST))
    assert t.chunks() >= 1  # the live burst after it came as a chunk
    await live.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 3 * BURST)
    assert [p["offset"] for p in pubs(live, channel)] == list(range(1, 3 * BURST + 1))


async def test_slow_client_limit_counts_the_chunk_bytes(tmp_path: Path) -> None:
    """A chunk is as many bytes as its publications: a subscriber that does not read is
    disconnected as slow (3008) by a burst whose single publications fit the limit."""
    cfg = make_config(tmp_path, namespaces=[PLAIN], client_queue_max_size=1000)
    node = await make_node(cfg)
    try:
        t = await subscriber(node, "plain:s", ChunkTransport())
        await node.publish("plain:s", [Publication(b'{"pad":"%s"}' % (b"x" * 80))], HISTORY)
        await t.wait_for(lambda m: "pub" in m.get("push", {}))
        assert not t.is_closed
        t.pending = 0
        batch = [Publication(b'{"pad":"%s"}' % (b"x" * 80)) for _ in range(BURST)]
        await node.publish("plain:s", batch, PublishOptions())
        closed = await t.wait_closed()
        assert closed is not None and closed.code == 3008
        assert t.chunks() == 1
    finally:
        await node.close()


async def test_messages_sent_metric_counts_publications_of_a_chunk(node: Node) -> None:
    sent: list[tuple[str, int]] = []
    node.flush_loop.on_sent = lambda name, n: sent.append((name, n))
    t = await subscriber(node, "plain:m", ChunkTransport())
    sent.clear()
    await burst(node, "plain:m", 0, PublishOptions())
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("data") == {"n": 15})
    assert t.chunks() == 1
    assert sent == [("websocket", BURST)]
