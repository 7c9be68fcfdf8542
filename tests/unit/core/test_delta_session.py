"""Delta compression in the core (docs/beyond_v4.md#delta-compression), JSON and Protobuf,
decoded with the Python decoder (tests/e2e has centrifuge-js's)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from centrifugal.centrifuge.protocol import client_pb2

from service.core.engine import Publication, PublishOptions
from service.core.node import Node
from service.protocol import fossil
from tests.delta_docs import versions
from tests.publishing import publish_one

from .beyond_harness import beyond_node, connected, frame, publish, pushes, wait_pb_pubs
from .harness import RecordingTransport, send


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    async for n in beyond_node(tmp_path):
        yield n


def decode_json_stream(pubs: list[dict[str, Any]], base: bytes = b"") -> list[bytes]:
    """What centrifuge-js does with a delta subscription's JSON publications."""
    out = []
    for p in pubs:
        assert isinstance(p["data"], str), p
        raw = p["data"].encode()
        base = fossil.apply(base, raw) if p.get("delta") else raw
        out.append(base)
    return out


async def subscribe(c: Any, t: RecordingTransport, channel: str, **extra: Any) -> dict[str, Any]:
    await send(c, {"id": 2, "subscribe": {"channel": channel, **extra}})
    reply = await t.wait_for(lambda m: m.get("id") == 2)
    return dict(reply)


async def test_delta_negotiated_and_versions_decode(node: Node) -> None:
    c, t = await connected(node)
    reply = await subscribe(c, t, "doc:1", delta="fossil")
    assert reply["subscribe"]["delta"] is True and reply["subscribe"]["positioned"] is True
    docs = versions(20)
    for doc in docs:
        await publish(node, "doc:1", doc)
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 20)
    pubs = pushes(t)
    assert [p.get("delta", False) for p in pubs] == [False] + [True] * 19
    assert decode_json_stream(pubs) == docs
    sent = sum(len(p["data"].encode()) for p in pubs)
    assert sent < 0.15 * sum(len(d) for d in docs)


async def test_not_allowed_gives_v4_publications(node: Node) -> None:
    c, t = await connected(node)
    reply = await subscribe(c, t, "plain:1", delta="fossil")
    assert "delta" not in reply["subscribe"]
    await publish(node, "plain:1", b'{"a":1}', delta=True)
    await publish(node, "plain:1", b'{"a":2}', delta=True)
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 2)
    assert [p["data"] for p in pushes(t)] == [{"a": 1}, {"a": 2}]  # raw JSON, never strings


@pytest.mark.parametrize("channel", ["doc:1", "nowhere:1", "$private"])
async def test_unknown_delta_type_disconnects_3501_before_channel_checks(
    node: Node, channel: str
) -> None:
    c, t = await connected(node)
    await send(c, {"id": 2, "subscribe": {"channel": channel, "delta": "xdelta"}})
    assert t.closed is not None and t.closed.code == 3501


async def test_unmarked_publications_and_unpositioned_subscriptions_get_full(node: Node) -> None:
    c, t = await connected(node)
    positioned, tp = await connected(node)
    await subscribe(c, t, "opt:1", delta="fossil")  # not positioned: always full
    await subscribe(positioned, tp, "opt:1", delta="fossil", positioned=True)
    docs = versions(4)
    await publish(node, "opt:1", docs[0], delta=True)
    await publish(node, "opt:1", docs[1], delta=True)
    await publish(node, "opt:1", docs[2])  # not marked: full
    await publish(node, "opt:1", docs[3], delta=True)
    for tr in (t, tp):
        await tr.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 4)
    assert [p.get("delta", False) for p in pushes(t)] == [False] * 4
    assert [p.get("delta", False) for p in pushes(tp)] == [False, True, False, True]
    assert decode_json_stream(pushes(t)) == docs
    assert decode_json_stream(pushes(tp)) == docs


async def test_plain_and_delta_subscribers_share_a_channel(node: Node) -> None:
    plain, tplain = await connected(node)
    delta, tdelta = await connected(node)
    await subscribe(plain, tplain, "doc:m")
    await subscribe(delta, tdelta, "doc:m", delta="fossil")
    docs = versions(3)
    for doc in docs:
        await publish(node, "doc:m", doc)
    for tr in (tplain, tdelta):
        await tr.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 3)
    assert [json.dumps(p["data"]) for p in pushes(tplain)] == [
        json.dumps(json.loads(d)) for d in docs
    ]
    assert all("delta" not in p for p in pushes(tplain))
    assert decode_json_stream(pushes(tdelta)) == docs


async def test_delta_computed_once_per_publication(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = fossil.create

    def counting(base: bytes, target: bytes, max_size: int = -1) -> bytes | None:
        calls.append(len(target))
        return real(base, target, max_size)

    monkeypatch.setattr(fossil, "create", counting)
    transports = []
    for proto in (False, True) * 5:
        c, t = await connected(node, protobuf=proto)
        if proto:
            cmd = client_pb2.Command(id=2)
            cmd.subscribe.channel = "doc:once"
            cmd.subscribe.delta = "fossil"
            await c.handle_data(frame(cmd))
        else:
            await subscribe(c, t, "doc:once", delta="fossil")
        transports.append((proto, t))
    docs = versions(6)
    for doc in docs:
        await publish(node, "doc:once", doc)
    assert len(calls) == 5  # the first publication is full for everyone
    for proto, t in transports:
        if proto:
            pubs = await wait_pb_pubs(t, 6)
            base = b""
            got = []
            for p in pubs:
                base = fossil.apply(base, p.data) if p.delta else p.data
                got.append(base)
            assert got == docs and [p.delta for p in pubs] == [False] + [True] * 5
        else:
            await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 6)
            assert decode_json_stream(pushes(t)) == docs


async def test_recovery_of_a_delta_subscription(node: Node) -> None:
    docs = versions(8)
    first = await publish(node, "doc:r", docs[0])
    for doc in docs[1:5]:
        await publish(node, "doc:r", doc)
    c, t = await connected(node)
    reply = await subscribe(
        c, t, "doc:r", delta="fossil", recover=True, offset=1, epoch=first.epoch, recoverable=True
    )
    result = reply["subscribe"]
    assert result["recovered"] is True and result["delta"] is True
    recovered = result["publications"]
    assert [p["offset"] for p in recovered] == [2, 3, 4, 5]
    assert [p.get("delta", False) for p in recovered] == [False, True, True, True]
    for doc in docs[5:]:
        await publish(node, "doc:r", doc)
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 8)
    live = pushes(t)
    assert all(p.get("delta") for p in live)  # the base is the last recovered one
    assert decode_json_stream(recovered + live) == docs[1:]


async def test_gap_free_restart_after_unsubscribe_is_full_first(node: Node) -> None:
    c, t = await connected(node)
    await subscribe(c, t, "doc:u", delta="fossil")
    docs = versions(4)
    await publish(node, "doc:u", docs[0])
    await publish(node, "doc:u", docs[1])
    await send(c, {"id": 3, "unsubscribe": {"channel": "doc:u"}})
    await publish(node, "doc:u", docs[2])
    await send(c, {"id": 4, "subscribe": {"channel": "doc:u", "delta": "fossil"}})
    await t.wait_for(lambda m: m.get("id") == 4)
    await publish(node, "doc:u", docs[3])
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 4)
    after = [p for p in pushes(t) if p["offset"] == 4]
    assert after[0].get("delta") is None and json.loads(after[0]["data"]) == json.loads(docs[3])


async def test_non_json_payload_to_a_json_delta_subscriber_is_3506(node: Node) -> None:
    c, t = await connected(node)
    await subscribe(c, t, "doc:bin", delta="fossil")
    await publish(node, "doc:bin", b"\xff\xfe not json")
    assert (await t.wait_closed()).code == 3506  # type: ignore[union-attr]


async def test_publication_without_history_in_between_makes_the_next_one_full(
    node: Node,
) -> None:
    """A ``skip_history`` publication reaches a delta subscriber full and becomes its SDK's
    base, though it has no offset: the next publication must not be a delta against the one
    before it (centrifuge-js throws on such a delta: a checksum or copy error)."""
    c, t = await connected(node)
    await subscribe(c, t, "doc:skip", delta="fossil")
    docs = versions(4)
    await publish(node, "doc:skip", docs[0])
    await publish(node, "doc:skip", docs[1])
    pub = Publication(docs[2], delta=True)
    await publish_one(node, "doc:skip", pub, PublishOptions())  # skip_history: no offset
    await publish(node, "doc:skip", docs[3])
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 3)
    pubs = pushes(t)
    assert [p.get("delta", False) for p in pubs] == [False, True, False, False]
    assert decode_json_stream(pubs) == docs


async def test_text_that_is_not_json_is_3506_not_a_delta(node: Node) -> None:
    """UTF-8 text that is not JSON (b64data, a Protobuf client) after a JSON document: a JSON
    delta subscriber is closed with 3506 as a plain JSON subscriber is, never sent a delta
    whose result centrifuge-js would fail to ``JSON.parse``."""
    c, t = await connected(node)
    plain, tplain = await connected(node)
    await subscribe(c, t, "doc:text", delta="fossil")
    await subscribe(plain, tplain, "doc:text")
    text = b"hello world " * 20
    await publish(node, "doc:text", b'{"text":"' + text + b'"}')
    await publish(node, "doc:text", text)
    for tr in (t, tplain):
        assert (await tr.wait_closed()).code == 3506  # type: ignore[union-attr]
    assert [p.get("delta", False) for p in pushes(t)] == [False]
