"""A run of publications in one call (``Node.publish`` / ``Executor.publish`` with several)
behaves exactly like consecutive single publishes (one-item calls): same deliveries,
positions, errors and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from msgspec import Raw

from service.api import messages as a
from service.api.executor import Executor
from service.api.publishing import NO_POSITION
from service.auth import generate_token
from service.core.engine import HistoryQuery, Publication, PublishOptions, StreamPosition
from service.core.node import Node
from tests.publishing import publish_one

from .harness import SECRET, client, make_config, make_node, send

HISTORY = PublishOptions(history_size=10, history_ttl=300)
NS = {
    "name": "chat",
    "history_size": 10,
    "history_ttl": "300s",
    "allow_recovery": True,
    "allow_subscribe_for_client": True,
}
PLAIN = {"name": "plain", "allow_subscribe_for_client": True}


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    cfg = make_config(tmp_path, namespaces=[NS, PLAIN])
    n = await make_node(cfg)
    yield n
    await n.close()


def token(user: str) -> str:
    return generate_token(secret=SECRET, user=user, ttl=3600)


async def subscriber(node: Node, channel: str, **sub: Any) -> tuple[Any, Any]:
    c, t = client(node)
    await send(
        c,
        {"id": 1, "connect": {"token": token("u")}},
        {"id": 2, "subscribe": {"channel": channel, **sub}},
    )
    await t.wait_for(lambda m: m.get("id") == 2)
    return c, t


def received(t: Any, channel: str) -> list[dict[str, Any]]:
    """Pushes after the subscribe reply, with the channel name left out."""
    out = []
    for m in t.messages():
        push = m.get("push")
        if push is not None and push.get("channel") == channel:
            out.append({k: v for k, v in push.items() if k != "channel"})
    return out


@pytest.mark.parametrize("recoverable", [False, True])
async def test_run_delivers_what_single_publishes_deliver(node: Node, recoverable: bool) -> None:
    datas = [b'{"n":%d}' % i for i in range(5)]
    _, ta = await subscriber(node, "chat:run", recoverable=recoverable)
    _, tb = await subscriber(node, "chat:single", recoverable=recoverable)
    run = await node.publish("chat:run", [Publication(d) for d in datas], HISTORY)
    single = [await publish_one(node, "chat:single", d, HISTORY) for d in datas]
    assert [p.offset for p in run if isinstance(p, StreamPosition)] == [1, 2, 3, 4, 5]
    assert [p.offset for p in single if p is not None] == [1, 2, 3, 4, 5]
    await ta.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 5)
    await tb.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 5)
    assert received(ta, "chat:run") == received(tb, "chat:single")
    assert [p["pub"]["data"] for p in received(ta, "chat:run")] == [{"n": i} for i in range(5)]


async def test_position_gap_inside_a_run_unsubscribes_once(node: Node) -> None:
    """A recoverable subscription that lost a publication is unsubscribed (2500) at the
    first publication of the run, and gets none of the rest: as with single publishes."""
    ca, ta = await subscriber(node, "chat:gap-run", recoverable=True)
    cb, tb = await subscriber(node, "chat:gap-single", recoverable=True)
    await publish_one(node, "chat:gap-run", b"{}", HISTORY)
    await publish_one(node, "chat:gap-single", b"{}", HISTORY)
    ca.subs["chat:gap-run"].offset = 0  # as if that delivery had been lost
    cb.subs["chat:gap-single"].offset = 0
    await node.publish("chat:gap-run", [Publication(d) for d in (b"1", b"2", b"3")], HISTORY)
    for d in (b"1", b"2", b"3"):
        await publish_one(node, "chat:gap-single", d, HISTORY)
    await ta.wait_for(lambda m: "unsubscribe" in m.get("push", {}))
    await tb.wait_for(lambda m: "unsubscribe" in m.get("push", {}))
    assert received(ta, "chat:gap-run") == received(tb, "chat:gap-single")
    run = received(ta, "chat:gap-run")
    assert [p for p in run if "unsubscribe" in p] == [
        {"unsubscribe": {"code": 2500, "reason": "insufficient state"}}
    ]
    assert [p["pub"]["offset"] for p in run if "pub" in p] == [1]


def reqs(channel: str, datas: list[bytes], **fields: Any) -> list[a.PublishRequest]:
    return [a.PublishRequest(channel=channel, data=Raw(d), **fields) for d in datas]


async def test_executor_publish_results_errors_and_metrics(node: Node) -> None:
    seen: list[tuple[str, str, float, int]] = []

    def observe(protocol: str, method: str, seconds: float, count: int = 1) -> None:
        seen.append((protocol, method, seconds, count))

    ex = Executor(node, node.hooks, observe=observe)  # type: ignore[arg-type]
    _, t = await subscriber(node, "plain:p")

    out = await ex.publish(reqs("chat:h", [b"1", b"2", b"3"]), "grpc")
    assert [(r.offset, bool(r.epoch)) for r in out if isinstance(r, a.PublishResult)] == [
        (1, True),
        (2, True),
        (3, True),
    ]
    assert await ex.publish(reqs("plain:p", [b'"x"', b'"y"']), "grpc") == [NO_POSITION] * 2
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("data") == "y")

    unknown = await ex.publish(reqs("nowhere:x", [b"1", b"2"]), "grpc")
    assert unknown == [a.Error(code=102, message="unknown channel")] * 2
    assert await ex.publish(reqs("", [b"1"]), "grpc") == [a.Error(code=107, message="bad request")]

    assert [(p, m, n) for p, m, _, n in seen] == [
        ("grpc", "publish", 3),
        ("grpc", "publish", 2),
        ("grpc", "publish", 2),
        ("grpc", "publish", 1),
    ]
    assert all(s >= 0 for _, _, s, _ in seen)


async def test_executor_publish_of_nothing(node: Node) -> None:
    ex = Executor(node, node.hooks)  # type: ignore[arg-type]
    assert await ex.publish([]) == []


async def test_executor_publish_mixed_requests_answer_in_order(node: Node) -> None:
    """Runs break at a channel change or a skip_history change; a bad request in the middle
    gets its error and the others are still published, in order."""
    ex = Executor(node, node.hooks)  # type: ignore[arg-type]
    mixed = [
        *reqs("chat:m", [b"1", b"2"]),
        *reqs("chat:m", [b""]),  # 107, not published
        *reqs("chat:m", [b"3"]),
        *reqs("chat:m", [b"4"], skip_history=True),
        *reqs("chat:other", [b"5"]),
        a.PublishRequest(channel="chat:m", b64data="!!"),  # bad base64: 107
        a.PublishRequest(channel="chat:m", b64data="Ng=="),  # "6"
    ]
    out = await ex.publish(mixed)
    bad = a.Error(code=107, message="bad request")
    offsets = [r.offset if isinstance(r, a.PublishResult) else r for r in out]
    assert offsets == [1, 2, bad, 3, 0, 1, bad, 4]
    hist = await node.broker.history("chat:m", HistoryQuery(limit=-1))
    assert [p.data for p in hist.publications] == [b"1", b"2", b"3", b"6"]


async def test_api_publishes_on_a_stopped_engine_answer_internal_errors(node: Node) -> None:
    """An engine that cannot publish at all (closed) fails every publication of the call
    with 100 (internal), request errors keep their own code, and nothing is raised."""
    ex = Executor(node, node.hooks)  # type: ignore[arg-type]
    await node.broker.close()
    internal = a.Error(code=100, message="internal server error")
    out = await ex.publish(
        [*reqs("chat:s", [b"1", b"2"]), *reqs("", [b"1"]), *reqs("plain:s", [b"3"])]
    )
    assert out == [internal, internal, a.Error(code=107, message="bad request"), internal]
    res = await ex.broadcast(a.BroadcastRequest(channels=["plain:a", "nowhere:x"], data=Raw(b"1")))
    assert [r.error for r in res.responses] == [
        internal,
        a.Error(code=102, message="unknown channel"),
    ]


async def test_a_live_duplicate_is_dropped_not_a_gap(node: Node) -> None:
    """A publication the subscription already has (same epoch, offset not past its position)
    is dropped silently, as for buffered ones; the next one is delivered; no 2500."""
    _, t = await subscriber(node, "chat:dup", recoverable=True)
    first = await publish_one(node, "chat:dup", b'{"n":1}', HISTORY)
    assert first is not None
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 1)
    again = Publication(b'{"n":1}', None, 1, None)
    node.handle_publications("chat:dup", [again], [first])  # e.g. delivered twice
    await publish_one(node, "chat:dup", b'{"n":2}', HISTORY)
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 2)
    assert [p.get("pub", {}).get("offset") for p in received(t, "chat:dup")] == [1, 2]
